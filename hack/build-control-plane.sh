#!/usr/bin/env bash
# Builds the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler), the
# node (kubelet, kube-proxy) and kubectl from the pinned Go modules in hack/controlplane and caches
# them outside git, keyed by version. Later runs return at once. Each Kubernetes binary carries
# the release's version stamp (as the upstream release build sets it), so `kubectl version` and
# anything that checks a server's version (a Helm chart's kubeVersion) work.
# Prints the directory holding the binaries on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mod="$here/controlplane"
version="$(cd "$mod" && go list -m -f "{{.Version}}" k8s.io/kubernetes)"
cache="${VMNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmnet-operator}"
# "stamped": the cache key changes with what is built and how (older caches lack the stamps).
bin="$cache/control-plane-$version-stamped-$(go env GOOS)-$(go env GOARCH)"
tools=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)

have_all() { for t in "${tools[@]}"; do [ -x "$bin/$t" ] || return 1; done; }
if have_all; then echo "$bin"; exit 0; fi

mkdir -p "$bin"
# One build at a time: a second caller (another test run) waits for the first, then finds the
# binaries cached, instead of compiling the same files into the same .partial paths.
exec 9>"$bin.lock"
if ! flock -n 9; then
  echo "[control-plane] another build of $bin is running; waiting for it" >&2
  flock 9
fi
if have_all; then echo "$bin"; exit 0; fi
log() { echo "[control-plane] $(date +%H:%M:%S) $*" >&2; }
log "building Kubernetes $version control plane into $bin (first time only: 15-40 minutes on 2 cores)"
cd "$mod"
log "downloading Go modules"
go mod download
declare -A pkg=(
  [etcd]=./etcd
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [kubelet]=k8s.io/kubernetes/cmd/kubelet
  [kube-proxy]=k8s.io/kubernetes/cmd/kube-proxy
)
# The version stamp of an upstream release build (hack/lib/version.sh upstream): component-base
# for the servers and kubectl, client-go for the clients inside them. A fixed build date keeps two
# builds of one release identical.
minor="${version#v1.}"; minor="${minor%%.*}"
stamp=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  stamp+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  stamp+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
for t in "${tools[@]}"; do
  [ -x "$bin/$t" ] && { log "$t: cached"; continue; }
  log "$t: compiling (progress: one dot per 15 s)"
  ( while sleep 15; do printf . >&2; done ) & ticker=$!
  start=$SECONDS
  # -trimpath and no DWARF keep the binaries small; build into a temp name so an interrupted
  # build never leaves a half-written binary that looks cached.
  if ! CGO_ENABLED=0 go build -trimpath -ldflags "-s -w$stamp" -o "$bin/$t.partial" "${pkg[$t]}"; then
    kill "$ticker" 2>/dev/null; echo >&2; log "$t: build FAILED"; exit 1
  fi
  kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null || true; echo >&2
  mv "$bin/$t.partial" "$bin/$t"
  log "$t: done in $((SECONDS - start)) s"
done
echo "$bin"
