#!/usr/bin/env bash
# Tears down what hack/node-cluster.ts set up for one run directory: the simulator, kube-proxy,
# kubelet, every container of the node's containerd (and its shims), containerd, the node's
# Open vSwitch (ovs-vswitchd, ovsdb-server), the node's mount namespace, the mounts
# under the run directory, the node's network namespace and veth (its host routes go with the
# veth), and the run directory itself. Idempotent, and safe to run twice at once (flock).
#
#   node-cluster-down.sh RUN_DIR                 tear down now
#   node-cluster-down.sh RUN_DIR --after PID     wait until PID dies (or RUN_DIR goes), then tear
#                                                down: the watchdog that cleans up when the process
#                                                that started the cluster is killed
set -uo pipefail
run="${1:?run directory}"
# A zombie counts as gone: its parent (the node process, blocked on this script) reaps it later.
running() { [ -r "/proc/$1/stat" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
if [ "${2:-}" = "--after" ]; then
  owner="${3:?pid}"
  while running "$owner" && [ -d "$run" ]; do sleep 1; done
  [ -d "$run" ] || exit 0
fi
[ -d "$run" ] || exit 0
exec 9>"$run.lock"
flock 9
[ -d "$run" ] || exit 0

log() { echo "[node-cluster] $*" >&2; }
# Phase timings for a slow stop: VMNET_NODE_DEBUG=1.
phase() { [ -n "${VMNET_NODE_DEBUG:-}" ] && log "teardown at ${SECONDS}s: $*"; return 0; }
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
    for p in $pids; do running "$p" && alive=1; done
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
phase "processes"
stop_proc kubevirt-sim
stop_proc kubelet
stop_proc kube-proxy

# Containers: ask containerd while it runs, then kill whatever a shim of ours still holds (found by
# our socket path on the shim's command line: no other containerd's shims match it) and the shim.
phase "containers"
if [ -S "$sock" ] && command -v ctr >/dev/null; then
  ctr_() { timeout 20 ctr --address "$sock" -n k8s.io "$@"; }
  for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1; done
  for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$t" >/dev/null 2>&1; done
fi
phase "containerd"
stop_proc containerd
phase "shims"
for shim in $(grep -lsF -- "$sock" /proc/[0-9]*/cmdline | cut -d/ -f3); do
  for child in $(pgrep -P "$shim"); do kill -KILL "$child" 2>/dev/null; done
  kill -KILL "$shim" 2>/dev/null
done

# The node's Open vSwitch, once no container is left to detach from it.
phase "ovs"
stop_proc ovs-vswitchd
stop_proc ovsdb-server

# Mounts under the run directory (container root filesystems, sandbox shm, pod netns, volumes,
# and the nsfs file that keeps the node's mount namespace, with the mounts made inside it),
# deepest first.
phase "mounts"
awk -v r="$run/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
  umount -l "$m" 2>/dev/null || log "could not unmount $m"
done

phase "network"
if [ -n "$netns" ] && ip netns list | grep -qw "$netns"; then ip netns delete "$netns" || log "could not delete netns $netns"; fi
# Deleting the netns deletes the veth pair too (a moment later): this is for a netns already gone.
if [ -n "$veth" ] && ip link show "$veth" >/dev/null 2>&1; then ip link delete "$veth" 2>/dev/null; fi
# libcni's result cache lives outside the run directory; ours carry the network's name.
[ -n "$netns" ] && rm -f /var/lib/cni/results/"$netns"-* 2>/dev/null
# Last, the control plane (hack/control-plane.ts records one pid a line, each leading its group).
phase "control plane"
cp="$(cat "$run/control-plane" 2>/dev/null || true)"
if [ -n "$cp" ] && [ -f "$cp/pids" ]; then
  # Its data goes with it, so there is nothing to shut down gracefully (kube-apiserver would drain
  # its requests for seconds).
  while read -r pid; do kill -KILL -- "-$pid" 2>/dev/null; done <"$cp/pids"
  rm -rf "$cp"
fi
rm -rf "$run"
rm -f "$run.lock"
