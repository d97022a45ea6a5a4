#!/usr/bin/env bash
# Builds Helm's CLI from the pinned Go module in hack/helm (helm.sh/helm/v3) and caches it outside
# git, keyed by version. Later runs return at once. Prints the path of the helm binary on its last
# line. The chart tests (test/integration/chart.test.ts) and `helm install` use it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
mod="$here/helm"
version="$(cd "$mod" && go list -m -f "{{.Version}}" helm.sh/helm/v3)"
cache="${VMNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmnet-operator}"
bin="$cache/helm-$version-$(go env GOOS)-$(go env GOARCH)"
if [ -x "$bin/helm" ]; then echo "$bin/helm"; exit 0; fi

mkdir -p "$bin"
log() { echo "[helm] $(date +%H:%M:%S) $*" >&2; }
log "building helm $version into $bin (first time only: a few minutes)"
cd "$mod"
log "downloading Go modules"
go mod download
log "compiling (progress: one dot per 15 s)"
start=$SECONDS
( while sleep 15; do printf . >&2; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
# The version stamp `helm version` prints (Helm's Makefile sets the same variables).
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
# Build into a temp name so an interrupted build never leaves a half-written binary that looks cached.
if ! CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/helm.partial" helm.sh/helm/v3/cmd/helm; then
  echo >&2; log "build FAILED"; exit 1
fi
mv "$bin/helm.partial" "$bin/helm"
echo >&2
log "done in $((SECONDS - start)) s"
echo "$bin/helm"
