#!/usr/bin/env bash
# Refreshes the chart's vendored Gateway API CRDs from the sigs.k8s.io/gateway-api Go
# module at the version in charts/weft/files/gateway-api/VERSION (the one place it is
# pinned; test/conformance/build.sh builds the conformance suite of the same release).
# Copies the standard channel as the release's config/crd/kustomization.yaml lists it
# (GRPCRoute is in it), so the chart installs exactly what the release's
# standard-install.yaml does.
#   scripts/update-gateway-api-crds.sh            # refresh at the pinned version
#   scripts/update-gateway-api-crds.sh v1.6.4     # pin another version, then refresh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/charts/weft/files/gateway-api"
if [[ $# -gt 0 ]]; then printf '%s\n' "$1" > "$DEST/VERSION"; fi
VERSION="$(tr -d '[:space:]' < "$DEST/VERSION")"

moddir="$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@${VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -d "$moddir/config/crd" ]] || { echo "no config/crd in sigs.k8s.io/gateway-api@${VERSION}" >&2; exit 1; }

files=$(sed -n 's#^[[:space:]]*-[[:space:]]*\(standard/[^[:space:]]*\.yaml\)$#\1#p' "$moddir/config/crd/kustomization.yaml")
[[ -n "$files" ]] || { echo "config/crd/kustomization.yaml lists no standard files" >&2; exit 1; }
rm -rf "$DEST/standard"
mkdir -p "$DEST/standard"
for f in $files; do
  install -m 644 "$moddir/config/crd/$f" "$DEST/$f"
  grep -q "gateway.networking.k8s.io/bundle-version: ${VERSION}" "$DEST/$f" || { echo "$f does not say bundle-version ${VERSION}" >&2; exit 1; }
done
echo "vendored $(wc -w <<< "$files") standard-channel files of Gateway API ${VERSION} into ${DEST#"$ROOT"/}/standard"
