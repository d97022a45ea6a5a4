#!/usr/bin/env bash
# Builds the CNI plugins the data-plane tests run (ovs-cni's `ovs` plugin and the reference
# `static` IPAM plugin) and the node's pod network (`npm run cluster`: the reference `bridge`,
# `host-local`, `loopback` and `portmap` plugins) from the pinned Go modules in hack/cni and caches them outside git, keyed
# by version. Later runs return at once. Prints the directory holding the plugins (the CNI_PATH) on
# its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mod="$here/cni"
ovs_version="$(cd "$mod" && go list -m -f "{{.Version}}" github.com/k8snetworkplumbingwg/ovs-cni)"
plugins_version="$(cd "$mod" && go list -m -f "{{.Version}}" github.com/containernetworking/plugins)"
cache="${VMNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmnet-operator}"
bin="$cache/cni-ovs-$ovs_version-plugins-$plugins_version-$(go env GOOS)-$(go env GOARCH)"
tools=(ovs static bridge host-local loopback portmap)

have_all() { for t in "${tools[@]}"; do [ -x "$bin/$t" ] || return 1; done; }
if have_all; then echo "$bin"; exit 0; fi

mkdir -p "$bin"
log() { echo "[cni] $(date +%H:%M:%S) $*" >&2; }
log "building ovs-cni $ovs_version and CNI plugins $plugins_version into $bin (first time only: about a minute)"
cd "$mod"
log "downloading Go modules"
go mod download
declare -A pkg=(
  [ovs]=github.com/k8snetworkplumbingwg/ovs-cni/cmd/plugin
  [static]=github.com/containernetworking/plugins/plugins/ipam/static
  [bridge]=github.com/containernetworking/plugins/plugins/main/bridge
  [host-local]=github.com/containernetworking/plugins/plugins/ipam/host-local
  [loopback]=github.com/containernetworking/plugins/plugins/main/loopback
  [portmap]=github.com/containernetworking/plugins/plugins/meta/portmap
)
for t in "${tools[@]}"; do
  [ -x "$bin/$t" ] && { log "$t: cached"; continue; }
  log "$t: compiling"
  start=$SECONDS
  # Static binaries (the plugins exec each other by name from CNI_PATH); build into a temp name
  # so an interrupted build never leaves a half-written binary that looks cached.
  if ! CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/$t.partial" "${pkg[$t]}"; then
    log "$t: build FAILED"; exit 1
  fi
  mv "$bin/$t.partial" "$bin/$t"
  log "$t: done in $((SECONDS - start)) s"
done
echo "$bin"
