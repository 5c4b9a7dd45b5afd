#!/usr/bin/env bash
# Fails when git tracks a compiled file: an ELF, Mach-O or PE executable, a
# wasm module, or an executable file that is not a script (no "#!" line).
# Build outputs belong in dist/ or the Go cache, never in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

bad=()
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
  case "$magic" in
    7f454c46|0061736d|cffaedfe|cefaedfe|feedface|feedfacf|4d5a*) bad+=("$f"); continue ;;
  esac
  if [ -x "$f" ] && [ "$(head -c 2 "$f")" != '#!' ]; then
    bad+=("$f")
  fi
done < <(git ls-files -z)

if [ ${#bad[@]} -gt 0 ]; then
  echo "check-no-binaries: git tracks compiled files; remove them (git rm --cached) and ignore them:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
