#!/usr/bin/env bash
# Installs the pinned kustomize the manifest tests render with (tests/kubernetes), into var/tools/bin.
# Idempotent: does nothing when that version is already there. Needs Go (the Go module proxy); no other download.
# Usage: bash servers/kustomize.sh        prints the binary's path
set -euo pipefail

KUSTOMIZE_VERSION=v5.5.0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN_DIR="$ROOT/var/tools/bin"
BIN="$BIN_DIR/kustomize"
STAMP="$BIN_DIR/.kustomize-$KUSTOMIZE_VERSION"

if [[ -x "$BIN" && -e "$STAMP" ]]; then
    echo "$BIN"
    exit 0
fi
if ! command -v go >/dev/null; then
    echo "servers/kustomize.sh: Go is needed to install kustomize $KUSTOMIZE_VERSION (apt-get install golang-go," \
         "or set SIXDEG_KUSTOMIZE to a kustomize binary)" >&2
    exit 1
fi
mkdir -p "$BIN_DIR"
GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
rm -f "$BIN_DIR"/.kustomize-*
touch "$STAMP"
echo "$BIN"
