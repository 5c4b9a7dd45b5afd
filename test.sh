#!/usr/bin/env bash
# Runs every test of Wharf on a fresh Debian machine with Go: installs what the
# tests need (Docker engine, Chromium), starts a single-node Docker swarm,
# builds the test image, then vets and tests every package.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)   # checks deploy/wharf.service
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
command -v minisign >/dev/null 2>&1 || need+=(minisign)   # plugin signatures are checked against the real tool
# Debian's rustc (never a rustup one) builds the Rust example plugin (plugins/examples/rust).
[ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/wasm32-unknown-unknown ] || need+=(rustc libstd-rust-dev-wasm32)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ${need[*]}"
    apt-get update -q >/dev/null || echo "test.sh: WARNING: apt-get update failed" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null ||
      echo "test.sh: WARNING: could not install ${need[*]}" >&2
  else
    echo "test.sh: missing ${need[*]} and not root: tests needing them will fail" >&2
  fi
fi

# Real-engine and browser tests fail instead of skipping when their engine or
# browser is there. If this machine cannot run dockerd (or has no Chromium),
# they are skipped with a loud warning, unless WHARF_REQUIRE_DOCKER=1 (or
# WHARF_REQUIRE_CHROMIUM=1) was set by the caller.
if scripts/docker-engine.sh; then
  export WHARF_REQUIRE_DOCKER=1
else
  echo "test.sh: WARNING: no Docker engine could be started: the real-engine tests will be SKIPPED" >&2
fi
export WHARF_TEST_IMAGE=wharf-ticker:test
if command -v minisign >/dev/null 2>&1; then
  export WHARF_REQUIRE_MINISIGN=1
else
  echo "test.sh: WARNING: no minisign: the signature interop test will be SKIPPED" >&2
fi
if command -v chromium >/dev/null 2>&1; then
  export WHARF_REQUIRE_CHROMIUM=1
else
  echo "test.sh: WARNING: no chromium: the browser tests will be SKIPPED" >&2
fi

scripts/check-no-binaries.sh
unformatted=$(gofmt -l $(git ls-files '*.go' | grep -v '_templ.go$') || true)
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt would change:" >&2; echo "$unformatted" >&2; exit 1
fi
scripts/oidc-provider/install.sh   # the real OpenID provider of the SSO tests
export WHARF_REQUIRE_OIDC=1
# Debian's postgresql: the store suites run on it too (a throwaway cluster per test binary).
if scripts/postgres/install.sh >/dev/null; then
  export WHARF_REQUIRE_POSTGRES=1
else
  echo "test.sh: WARNING: no PostgreSQL binaries: the PostgreSQL store tests will be SKIPPED" >&2
fi
# axe-core from the npm registry checks every portal page in the browser
# tests, cached, never in git. Keep the version in step with axeVersion in
# web/axe_test.go (a test checks).
axe_dir="${XDG_CACHE_HOME:-$HOME/.cache}/wharf-axe-4.14.1"
if [ -f "$axe_dir/node_modules/axe-core/axe.min.js" ] ||
  npm install --no-save --no-audit --no-fund --prefix "$axe_dir" axe-core@4.14.1 >/dev/null 2>&1; then
  export WHARF_AXE_JS="$axe_dir/node_modules/axe-core/axe.min.js" WHARF_REQUIRE_AXE=1
else
  echo "test.sh: WARNING: npm could not install axe-core: the accessibility checks will be SKIPPED" >&2
fi
if [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/wasm32-unknown-unknown ]; then
  export WHARF_REQUIRE_RUST=1
else
  echo "test.sh: WARNING: no rustc for wasm32: the Rust example plugin's tests will be SKIPPED" >&2
fi
go vet ./...
go tool staticcheck ./...
go test -count=1 -timeout 30m "$@" ./...
scripts/fuzz.sh   # every fuzz target, WHARF_FUZZTIME (3s) each
