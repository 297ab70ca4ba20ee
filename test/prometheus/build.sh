#!/usr/bin/env bash
# Builds Prometheus (cmd/prometheus of the Go module github.com/prometheus/prometheus)
# from the Go module proxy into a cache folder keyed by version, outside the repo (like
# test/conformance/build.sh). The module has no web UI (its React assets are not in the
# module), so the binary serves the HTTP API only, which is all the tests and `weft
# stat/top/edges` read. `--version` is empty unless set with -ldflags, so it is.
# A `.complete` stamp marks a finished build; with it present this does nothing.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$HERE/versions.env"
CACHE_ROOT="${WEFT_CACHE_DIR:-$HOME/.cache/weft}"
DIR="$CACHE_ROOT/prometheus/$PROMETHEUS_VERSION"
START=$(date +%s)
say() { echo "[prometheus-build] +$(( $(date +%s) - START ))s $*"; }

[[ -f "$DIR/.complete" ]] && { say "already built in $DIR"; exit 0; }
command -v go >/dev/null || { echo "[prometheus-build] go is not installed" >&2; exit 1; }
export GOFLAGS="${GOFLAGS:-} -buildvcs=false -trimpath"
export CGO_ENABLED=0

say "building Prometheus $PROMETHEUS_VERSION ($PROMETHEUS_RELEASE) into $DIR/bin"
mkdir -p "$DIR/bin" "$DIR/src"
cd "$DIR/src"
[[ -f go.mod ]] || go mod init weft.test/prometheus-build >/dev/null 2>&1
printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/prometheus/prometheus/cmd/prometheus"\n' > tools.go
say "resolving modules"
go get "github.com/prometheus/prometheus@${PROMETHEUS_VERSION}"
go mod tidy
say "compiling"
V=github.com/prometheus/common/version
go build -tags netgo -ldflags "-s -w -X $V.Version=${PROMETHEUS_RELEASE} -X $V.Revision=${PROMETHEUS_VERSION} -X $V.Branch=module -X $V.BuildUser=weft" \
  -o "$DIR/bin/prometheus.tmp" github.com/prometheus/prometheus/cmd/prometheus
mv "$DIR/bin/prometheus.tmp" "$DIR/bin/prometheus"
"$DIR/bin/prometheus" --version
touch "$DIR/.complete"
say "done"
