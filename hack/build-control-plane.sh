#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl and etcd from the pinned Go modules in
# hack/controlplane and caches them outside git, keyed by version. Later runs return at once.
# Prints the directory holding the binaries on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mod="$here/controlplane"
version="$(cd "$mod" && go list -m -f "{{.Version}}" k8s.io/kubernetes)"
cache="${VMNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmnet-operator}"
bin="$cache/control-plane-$version-$(go env GOOS)-$(go env GOARCH)"
tools=(etcd kube-apiserver kube-controller-manager kubectl)

have_all() { for t in "${tools[@]}"; do [ -x "$bin/$t" ] || return 1; done; }
if have_all; then echo "$bin"; exit 0; fi

mkdir -p "$bin"
log() { echo "[control-plane] $(date +%H:%M:%S) $*" >&2; }
log "building Kubernetes $version control plane into $bin (first time only: 15-40 minutes on 2 cores)"
cd "$mod"
log "downloading Go modules"
go mod download
declare -A pkg=(
  [etcd]=./etcd
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
)
for t in "${tools[@]}"; do
  [ -x "$bin/$t" ] && { log "$t: cached"; continue; }
  log "$t: compiling (progress: one dot per 15 s)"
  ( while sleep 15; do printf . >&2; done ) & ticker=$!
  start=$SECONDS
  # -trimpath and no DWARF keep the binaries small; build into a temp name so an interrupted
  # build never leaves a half-written binary that looks cached.
  if ! CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/$t.partial" "${pkg[$t]}"; then
    kill "$ticker" 2>/dev/null; echo >&2; log "$t: build FAILED"; exit 1
  fi
  kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null || true; echo >&2
  mv "$bin/$t.partial" "$bin/$t"
  log "$t: done in $((SECONDS - start)) s"
done
echo "$bin"
