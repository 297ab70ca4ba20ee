#!/usr/bin/env bash
# Builds one outside component of the Gateway API conformance run from the Go module
# proxy into a cache folder keyed by version, outside the repo (like test/cluster/build.sh):
#   build.sh suite    the conformance suite as a compiled Go test binary (TestMesh)
#   build.sh echo     Istio's echo server and client, the suite's echo-advanced image
#   build.sh coredns  CoreDNS, the test node's cluster DNS
# Several may be named (`build.sh suite echo coredns`): they are built one after another.
# A `.complete` stamp marks a finished build; with it present this does nothing.
# Binaries are built to a temporary name and renamed, so an interrupted build resumes.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=versions.env
source "$HERE/versions.env"
GATEWAY_API_VERSION="$(tr -d '[:space:]' < "$ROOT/charts/weft/files/gateway-api/VERSION")"
CACHE_ROOT="${WEFT_CACHE_DIR:-$HOME/.cache/weft}"

component=""
START=$(date +%s)
say() { echo "[conformance-build:$component] +$(( $(date +%s) - START ))s $*"; }
command -v go >/dev/null || { echo "[conformance-build] go is not installed" >&2; exit 1; }
export GOFLAGS="${GOFLAGS:-} -buildvcs=false -trimpath"
export CGO_ENABLED=0

# A wrapper module in $1/src whose tools.go blank-imports the packages in $2...
# (main packages too: the build tag keeps the compiler away from them).
wrapper_module() {
  local src="$1"; shift
  mkdir -p "$src"
  cd "$src"
  [[ -f go.mod ]] || go mod init "weft.test/$component-build" >/dev/null 2>&1
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for p in "$@"; do printf '\t_ "%s"\n' "$p"; done
    printf ')\n'
  } > tools.go
}

build_one() {
case "$component" in
suite)
  DIR="$CACHE_ROOT/gateway-api/$GATEWAY_API_VERSION"
  wrapper_hash="$(sha256sum "$HERE/suite/mesh_test.go" | cut -c1-16)"
  [[ "$(cat "$DIR/.complete" 2>/dev/null)" == "$wrapper_hash" ]] && { say "already built in $DIR"; exit 0; }
  rm -f "$DIR/.complete" "$DIR/bin/conformance.test"
  say "building the Gateway API $GATEWAY_API_VERSION conformance suite into $DIR/bin"
  mkdir -p "$DIR/bin" "$DIR/src"
  cd "$DIR/src"
  [[ -f go.mod ]] || go mod init weft.test/mesh-conformance >/dev/null 2>&1
  # The conformance module requires sigs.k8s.io/gateway-api at a zero pseudo-version and
  # replaces it with ../ in its own go.mod, which a dependency's replace cannot do here.
  go mod edit -replace "sigs.k8s.io/gateway-api=sigs.k8s.io/gateway-api@${GATEWAY_API_VERSION}"
  # The wrapper's test (TestMesh) is test/conformance/suite/mesh_test.go; the stamp holds
  # its hash, so a change to it rebuilds the binary.
  install -m 644 "$HERE/suite/mesh_test.go" mesh_test.go
  say "resolving modules"
  go get "sigs.k8s.io/gateway-api/conformance@${GATEWAY_API_VERSION}" "sigs.k8s.io/gateway-api@${GATEWAY_API_VERSION}"
  go mod tidy
  say "compiling the test binary"
  go test -c -ldflags "-s -w" -o "$DIR/bin/conformance.test.tmp" .
  mv "$DIR/bin/conformance.test.tmp" "$DIR/bin/conformance.test"
  # What the suite applies, kept beside the binary for tests and for the cluster's set-up.
  moddir="$(go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api/conformance)"
  cp "$moddir/mesh/manifests.yaml" "$DIR/mesh-manifests.yaml"
  chmod 644 "$DIR/mesh-manifests.yaml"
  "$DIR/bin/conformance.test" -test.list . >/dev/null
  echo "$wrapper_hash" > "$DIR/.complete"
  ;;
echo)
  DIR="$CACHE_ROOT/istio-echo/$ISTIO_VERSION"
  [[ -f "$DIR/.complete" ]] && { say "already built in $DIR"; exit 0; }
  say "building Istio's echo server and client ($ISTIO_VERSION) into $DIR/bin"
  mkdir -p "$DIR/bin"
  wrapper_module "$DIR/src" istio.io/istio/pkg/test/echo/cmd/server istio.io/istio/pkg/test/echo/cmd/client
  say "resolving modules"
  go get "istio.io/istio@${ISTIO_VERSION}"
  go mod tidy
  for c in server client; do
    [[ -x "$DIR/bin/$c" ]] && continue
    say "compiling $c"
    go build -ldflags "-s -w" -o "$DIR/bin/$c.tmp" "istio.io/istio/pkg/test/echo/cmd/$c"
    mv "$DIR/bin/$c.tmp" "$DIR/bin/$c"
  done
  # The certificate and key Istio's app image carries as /cert.crt and /cert.key
  # (pkg/test/echo/docker/Dockerfile.app), which the suite's manifests name.
  moddir="$(go list -m -f '{{.Dir}}' istio.io/istio)"
  install -m 644 "$moddir/tests/testdata/certs/dns/cert-chain.pem" "$DIR/cert.crt"
  install -m 644 "$moddir/tests/testdata/certs/dns/key.pem" "$DIR/cert.key"
  touch "$DIR/.complete"
  ;;
coredns)
  DIR="$CACHE_ROOT/coredns/$COREDNS_VERSION"
  [[ -f "$DIR/.complete" ]] && { say "already built in $DIR"; exit 0; }
  say "building CoreDNS $COREDNS_VERSION into $DIR/bin"
  mkdir -p "$DIR/bin"
  wrapper_module "$DIR/src" github.com/coredns/coredns
  say "resolving modules"
  go get "github.com/coredns/coredns@${COREDNS_VERSION}"
  go mod tidy
  say "compiling"
  go build -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=${COREDNS_VERSION}" -o "$DIR/bin/coredns.tmp" github.com/coredns/coredns
  mv "$DIR/bin/coredns.tmp" "$DIR/bin/coredns"
  "$DIR/bin/coredns" -version
  touch "$DIR/.complete"
  ;;
*)
  echo "usage: $0 suite|echo|coredns ..." >&2
  exit 2
  ;;
esac
say "done"
}

[[ $# -gt 0 ]] || set -- ""
for component in "$@"; do
  START=$(date +%s)
  ( build_one )
done
