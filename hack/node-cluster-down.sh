#!/usr/bin/env bash
# Tears down what hack/node-cluster.ts set up for one run directory: the simulator, kube-proxy,
# kubelet, every container of the node's containerd (and its shims), containerd, the mounts
# under the run directory, the node's network namespace and veth (its host routes go with the
# veth), and the run directory itself. Idempotent, and safe to run twice at once (flock).
#
#   node-cluster-down.sh RUN_DIR                 tear down now
#   node-cluster-down.sh RUN_DIR --after PID     wait until PID dies (or RUN_DIR goes), then tear
#                                                down: the watchdog that cleans up when the process
#                                                that started the cluster is killed
set -uo pipefail
run="${1:?run directory}"
if [ "${2:-}" = "--after" ]; then
  owner="${3:?pid}"
  while kill -0 "$owner" 2>/dev/null && [ -d "$run" ]; do sleep 1; done
  [ -d "$run" ] || exit 0
fi
[ -d "$run" ] || exit 0
exec 9>"$run.lock"
flock 9
[ -d "$run" ] || exit 0

log() { echo "[node-cluster] $*" >&2; }
netns="$(cat "$run/netns" 2>/dev/null || true)"
veth="$(cat "$run/veth" 2>/dev/null || true)"
sock="$run/containerd/containerd.sock"

# Pids are recorded as "name pid"; every process leads its own group.
kill_group() { # name signal
  awk -v n="$1" '$1 == n { print $2 }' "$run/pids" 2>/dev/null | while read -r pid; do kill "-$2" -- "-$pid" 2>/dev/null; done
}
wait_gone() { # name seconds
  local pids; pids="$(awk -v n="$1" '$1 == n { print $2 }' "$run/pids" 2>/dev/null)"
  for _ in $(seq $((${2} * 10))); do
    local alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}
stop_proc() { # name
  kill_group "$1" TERM
  wait_gone "$1" 10 || { kill_group "$1" KILL; wait_gone "$1" 5; }
}

# First what creates pods and containers, so nothing comes back while we remove it.
stop_proc kubevirt-sim
stop_proc kubelet
stop_proc kube-proxy

# Containers: ask containerd while it runs, then kill whatever a shim of ours still holds (found by
# our socket path on the shim's command line: no other containerd's shims match it).
if [ -S "$sock" ] && command -v ctr >/dev/null; then
  ctr_() { timeout 20 ctr --address "$sock" -n k8s.io "$@"; }
  for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1; done
  for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$t" >/dev/null 2>&1; done
fi
stop_proc containerd
for proc in /proc/[0-9]*; do
  tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -qF -- "-address $sock " || continue
  shim="${proc#/proc/}"
  for child in $(awk -v p="$shim" '$1 == "PPid:" && $2 == p { print FILENAME }' /proc/[0-9]*/status 2>/dev/null); do
    c="${child#/proc/}"; kill -KILL "${c%/status}" 2>/dev/null
  done
  kill -KILL "$shim" 2>/dev/null
done

# Mounts under the run directory (container root filesystems, sandbox shm, pod netns, volumes),
# deepest first.
awk -v r="$run/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
  umount -l "$m" 2>/dev/null || log "could not unmount $m"
done

if [ -n "$netns" ] && ip netns list | grep -qw "$netns"; then ip netns delete "$netns" || log "could not delete netns $netns"; fi
if [ -n "$veth" ] && ip link show "$veth" >/dev/null 2>&1; then ip link delete "$veth" || log "could not delete $veth"; fi
# libcni's result cache lives outside the run directory; ours carry the network's name.
[ -n "$netns" ] && rm -f /var/lib/cni/results/"$netns"-* 2>/dev/null
# Last, the control plane (hack/control-plane.ts records its processes the same way, one pid a line).
cp="$(cat "$run/control-plane" 2>/dev/null || true)"
if [ -n "$cp" ] && [ -f "$cp/pids" ]; then
  while read -r pid; do kill -TERM -- "-$pid" 2>/dev/null; done <"$cp/pids"
  sleep 2
  while read -r pid; do kill -KILL -- "-$pid" 2>/dev/null; done <"$cp/pids"
  rm -rf "$cp"
fi
rm -rf "$run"
rm -f "$run.lock"
