#!/usr/bin/env bash
# Builds Jaeger v2 (all-in-one binary) from the Go module proxy into a cache
# directory, once per version. Tests start this binary as a real tracing backend.
# Idempotent: a stamp file marks a complete build, so reruns cost nothing.
set -euo pipefail

VERSION="${JAEGER_VERSION:-v1.76.0}"
CACHE_ROOT="${WEFT_CACHE_DIR:-$HOME/.cache/weft}"
DEST="$CACHE_ROOT/jaeger/$VERSION"
BIN="$DEST/bin/jaeger"
STAMP="$DEST/.built"

if [[ -x "$BIN" && -f "$STAMP" ]]; then
  echo "[jaeger] $VERSION already built: $BIN"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  for candidate in /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [[ -x "$candidate" ]] && PATH="$(dirname "$candidate"):$PATH" && break
  done
fi
command -v go >/dev/null 2>&1 || { echo "[jaeger] go toolchain not found" >&2; exit 1; }

mkdir -p "$DEST/bin"
start=$(date +%s)
echo "[jaeger] building github.com/jaegertracing/jaeger/cmd/jaeger@$VERSION with $(go version)"
echo "[jaeger] (cold build downloads the module graph and compiles it: several minutes on 2 cores)"

# Build into a temp dir first so an interrupted build never leaves a half binary
# behind the stamp check.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# `go install pkg@version` refuses modules whose go.mod has replace directives
# (Jaeger's pins sarama), so build through a throwaway wrapper module instead:
# the module graph is then resolved with Jaeger as a dependency.
cd "$tmp"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0 GOTOOLCHAIN=local
go mod init weft.local/jaeger-build >/dev/null 2>&1
echo "[jaeger] resolving module graph"
go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$VERSION"
echo "[jaeger] compiling"
go build -trimpath -ldflags="-s -w" -o "$tmp/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger
cd - >/dev/null

mv "$tmp/jaeger" "$BIN"
elapsed=$(( $(date +%s) - start ))
printf 'version=%s\nbuilt_at=%s\nbuild_seconds=%s\n' "$VERSION" "$(date -u +%FT%TZ)" "$elapsed" > "$STAMP"
echo "[jaeger] built $BIN in ${elapsed}s"
