#!/usr/bin/env bash
# Builds the CNI plugins the data-plane tests run (ovs-cni's `ovs` plugin and the reference
# `static` IPAM plugin) and the node's pod network (`npm run cluster`: the reference `bridge`,
# `host-local`, `loopback` and `portmap` plugins, and Multus's thin plugin `multus` from hack/multus,
# the node's CNI) from the pinned Go modules in hack/cni and hack/multus and caches them outside git,
# keyed by version. Later runs return at once. Prints the directory holding the plugins (the
# CNI_PATH) on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mod="$here/cni"
ovs_version="$(cd "$mod" && go list -m -f "{{.Version}}" github.com/k8snetworkplumbingwg/ovs-cni)"
plugins_version="$(cd "$mod" && go list -m -f "{{.Version}}" github.com/containernetworking/plugins)"
cache="${VMNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmnet-operator}"
bin="$cache/cni-ovs-$ovs_version-plugins-$plugins_version-$(go env GOOS)-$(go env GOARCH)"
tools=(ovs static bridge host-local loopback portmap)
multus_mod="$here/multus"
multus_version="$(cd "$multus_mod" && go list -m -f "{{.Version}}" gopkg.in/k8snetworkplumbingwg/multus-cni.v4)"
# Multus in a directory of its own version; $bin/multus links to it (the node needs one CNI_PATH).
multus_dir="$cache/multus-$multus_version-$(go env GOOS)-$(go env GOARCH)"

have_all() { for t in "${tools[@]}" multus; do [ -x "$bin/$t" ] || return 1; done; }
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
if [ ! -x "$multus_dir/multus" ]; then
  log "multus $multus_version (thin plugin): downloading Go modules and compiling (first time only: minutes)"
  start=$SECONDS
  mkdir -p "$multus_dir"
  cd "$multus_mod"
  go mod download
  if ! CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$multus_dir/multus.partial" gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/multus; then
    log "multus: build FAILED"; exit 1
  fi
  mv "$multus_dir/multus.partial" "$multus_dir/multus"
  log "multus: done in $((SECONDS - start)) s"
fi
ln -sfn "$multus_dir/multus" "$bin/multus"
echo "$bin"
