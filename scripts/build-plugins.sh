#!/usr/bin/env bash
# Builds every provider plugin under plugins/ to dist/plugins/<name>.wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/plugins}
mkdir -p "$out"
for dir in plugins/*/; do
  name=$(basename "$dir")
  [ -f "$dir/main.go" ] || continue
  # -s -w: no symbol table (the wasm name section); Go emits no DWARF for
  # wasm, and a plugin's panic text comes from its own runtime anyway.
  GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags="-s -w" -o "$out/$name.wasm" "./$dir"
done
ls "$out"
