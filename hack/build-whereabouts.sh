#!/usr/bin/env bash
# Builds Whereabouts' IPAM CNI plugin (the `whereabouts` binary) from the pinned Go module in
# hack/whereabouts and caches it outside git, keyed by version, for the side-by-side allocation
# benchmark (test/bench/whereabouts.ts). Later runs return at once. Progress goes to stderr; the
# directory holding the plugin (usable as CNI_PATH) is printed on the last stdout line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mod="$here/whereabouts"
version="$(cd "$mod" && go list -m -f "{{.Version}}" github.com/k8snetworkplumbingwg/whereabouts)"
cache="${VMNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmnet-operator}"
bin="$cache/whereabouts-$version"

if [ -x "$bin/whereabouts" ]; then echo "$bin"; exit 0; fi

mkdir -p "$bin"
log() { echo "[whereabouts] $(date +%H:%M:%S) $*" >&2; }
log "building Whereabouts $version IPAM plugin into $bin (first time only: about 1-2 minutes on 2 cores)"
cd "$mod"
log "downloading Go modules"
go mod download
log "whereabouts: compiling"
start=$SECONDS
# Whereabouts' CNI binary is the main package in cmd/ (cmd/whereabouts.go). A static binary,
# built into a temp name so an interrupted build never leaves a half-written one that looks cached.
if ! CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/whereabouts.partial" \
  github.com/k8snetworkplumbingwg/whereabouts/cmd; then
  log "whereabouts: build FAILED"; exit 1
fi
mv "$bin/whereabouts.partial" "$bin/whereabouts"
log "whereabouts: done in $((SECONDS - start)) s"
echo "$bin"
