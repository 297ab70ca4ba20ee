#!/usr/bin/env bash
# Builds the Kubernetes test binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kubectl, helm) from the Go module proxy into a cache folder
# keyed by version, outside the repo so fresh CI clones reuse it. A stamp file marks a
# complete build; with it present this script does nothing. Each binary is built to a
# temporary name and renamed, so an interrupted build resumes where it stopped.
set -euo pipefail

KUBE_VERSION="${WEFT_KUBE_VERSION:-v1.34.4}"
ETCD_VERSION="${WEFT_ETCD_VERSION:-v3.6.4}"
HELM_VERSION="${WEFT_HELM_VERSION:-v4.3.1}"
CACHE="${WEFT_CACHE_DIR:-$HOME/.cache/weft}/kubernetes/${KUBE_VERSION}"
BIN="$CACHE/bin"
STAMP="$BIN/.complete-${KUBE_VERSION}-etcd-${ETCD_VERSION}-helm-${HELM_VERSION}-kube-proxy"

if [[ -f "$STAMP" ]]; then
  echo "[k8s-build] binaries for ${KUBE_VERSION} already built in $BIN"
  exit 0
fi

START=$(date +%s)
say() { echo "[k8s-build] +$(( $(date +%s) - START ))s $*"; }
command -v go >/dev/null || { echo "[k8s-build] go is not installed" >&2; exit 1; }
mkdir -p "$BIN" "$CACHE/src"
say "building Kubernetes ${KUBE_VERSION}, etcd ${ETCD_VERSION}, helm ${HELM_VERSION} into $BIN (cold: tens of minutes on 2 cores)"

export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export CGO_ENABLED=0

# --- etcd: a wrapper module that blank-imports the server's main package.
ETCD_SRC="$CACHE/src/etcd"
if [[ ! -x "$BIN/etcd" ]]; then
  say "etcd: resolving modules"
  mkdir -p "$ETCD_SRC"
  cd "$ETCD_SRC"
  [[ -f go.mod ]] || go mod init weft.test/etcd-build >/dev/null 2>&1
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
  go mod tidy
  say "etcd: compiling"
  go build -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$BIN/etcd.tmp" "$BIN/etcd"
  say "etcd: done"
fi

# --- Kubernetes: k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces
# them with ./staging, so `go install` fails; a wrapper module replaces each of them with
# its published v0.<minor>.<patch> tag instead.
K8S_SRC="$CACHE/src/kubernetes"
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl kube-proxy)
need_k8s=false
for c in "${K8S_CMDS[@]}"; do [[ -x "$BIN/$c" ]] || need_k8s=true; done
if $need_k8s; then
  mkdir -p "$K8S_SRC"
  cd "$K8S_SRC"
  if [[ ! -f .resolved ]]; then
    say "kubernetes: resolving modules (downloads a few hundred MB when the module cache is cold)"
    rm -f go.mod go.sum
    go mod init weft.test/kubernetes-build >/dev/null 2>&1
    {
      printf '//go:build tools\n\npackage tools\n\nimport (\n'
      for c in "${K8S_CMDS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
      printf ')\n'
    } > tools.go
    upstream_gomod=$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
    [[ -f "$upstream_gomod" ]] || { echo "[k8s-build] cannot find go.mod of k8s.io/kubernetes@${KUBE_VERSION}" >&2; exit 1; }
    staging_version="v0.${KUBE_VERSION#v1.}"
    # Only the exact v0.0.0 requirements are staging modules (k8s.io/utils and
    # kube-openapi carry pseudo-versions that merely start with v0.0.0).
    grep -E '^[[:space:]]*k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$upstream_gomod" | awk '{print $1}' | sort -u | while read -r mod; do
      go mod edit -replace "${mod}=${mod}@${staging_version}"
    done
    go mod edit -require "k8s.io/kubernetes@${KUBE_VERSION}"
    go mod tidy
    touch .resolved
  fi
  # A cache resolved before a command joined K8S_CMDS lacks its import: add it and let
  # tidy pull in only that command's extra dependencies.
  for c in "${K8S_CMDS[@]}"; do
    if ! grep -q "k8s.io/kubernetes/cmd/$c\"" tools.go; then
      say "kubernetes: adding $c to the resolved modules"
      sed -i "s#^)\$#\t_ \"k8s.io/kubernetes/cmd/$c\"\n)#" tools.go
      go mod tidy
    fi
  done
  minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  LD=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LD+=" -X ${p}.gitVersion=${KUBE_VERSION} -X ${p}.gitMajor=1 -X ${p}.gitMinor=${minor} -X ${p}.gitTreeState=clean"
  done
  for c in "${K8S_CMDS[@]}"; do
    [[ -x "$BIN/$c" ]] && continue
    say "kubernetes: compiling $c"
    go build -ldflags "$LD" -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c"
    mv "$BIN/$c.tmp" "$BIN/$c"
    say "kubernetes: $c done"
  done
fi

# --- helm: an ordinary `go install` works for it.
if [[ ! -x "$BIN/helm" ]]; then
  say "helm: compiling ${HELM_VERSION}"
  major="${HELM_VERSION%%.*}"
  helm_mod="helm.sh/helm/${major}"
  [[ "$major" == "v2" ]] && helm_mod="helm.sh/helm"
  GOBIN="$BIN" go install -ldflags "-X helm.sh/helm/${major}/internal/version.version=${HELM_VERSION}" "${helm_mod}/cmd/helm@${HELM_VERSION}"
  say "helm: done"
fi

"$BIN/kube-apiserver" --version
"$BIN/kubectl" version --client 2>/dev/null | head -1 || true # head may close the pipe early
"$BIN/helm" version --short 2>/dev/null || true
"$BIN/etcd" --version | head -1 || true
touch "$STAMP"
say "all binaries built in $BIN"
