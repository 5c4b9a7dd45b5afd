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
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ${need[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
  else
    echo "test.sh: missing ${need[*]} and not root: tests needing them will fail" >&2
  fi
fi

scripts/docker-engine.sh
export WHARF_REQUIRE_DOCKER=1          # real-engine tests fail instead of skipping
export WHARF_TEST_IMAGE=wharf-ticker:test
export WHARF_REQUIRE_CHROMIUM=1        # browser tests fail instead of skipping

unformatted=$(gofmt -l $(git ls-files '*.go' | grep -v '_templ.go$') || true)
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt would change:" >&2; echo "$unformatted" >&2; exit 1
fi
go vet ./...
go test -count=1 -timeout 30m "$@" ./...
