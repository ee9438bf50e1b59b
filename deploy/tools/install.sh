#!/usr/bin/env bash
# Tools the deployment tests use, built from source with `go install` into a cache
# outside the repository (nothing is downloaded as a prebuilt binary).
#
#   deploy/tools/install.sh kustomize   build kustomize (renders k8s/ overlays)
#   deploy/tools/install.sh promtool    build promtool (checks deploy/prometheus/*.yml)
#   deploy/tools/install.sh path NAME   print the binary's path if it is installed (exit 1 if not)
#
# Prints the installed binary's path on stdout; progress goes to stderr.
# Environment: MINWON_CACHE (default $HOME/.cache/minwon); binaries go to $MINWON_CACHE/bin.
# Needs Go >= 1.22. Idempotent: an installed binary of the pinned version is reused.
set -euo pipefail

KUSTOMIZE_VERSION=v5.4.3
PROMETHEUS_MODULE_VERSION=v0.54.1   # the Go module version of Prometheus 2.54.1

CACHE_DIR="${MINWON_CACHE:-$HOME/.cache/minwon}"
BIN_DIR="$CACHE_DIR/bin"

log() { printf '[tools] %s\n' "$*" >&2; }
die() { printf '[tools] ERROR: %s\n' "$*" >&2; exit 1; }

binary() {  # NAME -> path of the pinned build
    case "$1" in
        kustomize) echo "$BIN_DIR/kustomize-$KUSTOMIZE_VERSION" ;;
        promtool) echo "$BIN_DIR/promtool-$PROMETHEUS_MODULE_VERSION" ;;
        *) die "unknown tool: $1 (kustomize, promtool)" ;;
    esac
}

package() {
    case "$1" in
        kustomize) echo "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" ;;
        promtool) echo "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION" ;;
    esac
}

install_tool() {
    local name="$1" target
    target="$(binary "$name")"
    if [[ -x "$target" ]]; then
        echo "$target"
        return 0
    fi
    command -v go >/dev/null 2>&1 || die "Go is required to build $name (go install)."
    mkdir -p "$BIN_DIR"
    local work
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' RETURN
    log "building $(package "$name") (first time only)"
    if [[ "$name" == promtool ]]; then
        build_promtool "$work"
    else
        GOBIN="$work" GOFLAGS="-trimpath" CGO_ENABLED=0 go install "$(package "$name")" >&2
    fi
    mv "$work/$name" "$target"
    echo "$target"
}

# Prometheus's go.mod has exclude/replace directives, which `go install pkg@version` refuses; so promtool is
# built inside a throw-away module that requires Prometheus and repeats those directives.
build_promtool() {
    local work="$1" module="github.com/prometheus/prometheus"
    local gomod
    gomod="$(cd "$work" && go mod download -json "$module@$PROMETHEUS_MODULE_VERSION" \
             | python3 -c 'import json, sys; print(json.load(sys.stdin)["GoMod"])')"
    (
        cd "$work"
        go mod init minwon-tools/promtool >&2
        python3 - "$gomod" >>go.mod <<'PY'
import re, sys
text = open(sys.argv[1]).read()
# every exclude/replace directive, single-line or block, verbatim
for m in re.finditer(r"^(exclude|replace)\s*(\([^)]*\)|[^\n]*)", text, re.M):
    print(m.group(0))
PY
        go mod edit -require="$module@$PROMETHEUS_MODULE_VERSION"
        GOFLAGS=-mod=mod go mod download >&2
        GOFLAGS="-mod=mod -trimpath" CGO_ENABLED=0 go build -o "$work/promtool" "$module/cmd/promtool" >&2
    )
}

case "${1:-}" in
    kustomize|promtool) install_tool "$1" ;;
    path)
        target="$(binary "${2:-}")"
        [[ -x "$target" ]] || exit 1
        echo "$target"
        ;;
    *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
