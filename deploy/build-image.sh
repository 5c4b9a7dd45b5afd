#!/usr/bin/env bash
# Builds the Wharf container image (deploy/Dockerfile) without pulling
# anything: the static wharf binary and the plugins are built here, on the
# host, into a temporary build context with the host's CA certificates, and
# the image is FROM scratch.
#   deploy/build-image.sh [TAG]      (default wharf:latest)
# Needs Go, gcc with the static C library (Debian's libc6-dev) for
# go-sqlite3, and a Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-wharf:latest}
certs=/etc/ssl/certs/ca-certificates.crt
[ -f "$certs" ] || { echo "build-image: $certs is missing (Debian: apt-get install ca-certificates)" >&2; exit 1; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

# Static and cgo (go-sqlite3): the external linker with -static; netgo and
# osusergo keep glibc's NSS (which cannot be linked statically) out of DNS
# and user lookups; sqlite_omit_load_extension drops dlopen, which a static
# binary cannot use. -s -w: no symbol table or DWARF, a third smaller.
CGO_ENABLED=1 go build -trimpath -tags 'osusergo,netgo,sqlite_omit_load_extension' \
  -ldflags '-s -w -linkmode external -extldflags "-static"' -o "$ctx/wharf" ./cmd/host
scripts/build-plugins.sh "$ctx/plugins" >/dev/null
cp "$certs" "$ctx/ca-certificates.crt"
mkdir -m 0755 "$ctx/data"
mkdir -p "$ctx/rootfs/tmp" && chmod 1777 "$ctx/rootfs/tmp"
cp deploy/Dockerfile "$ctx/Dockerfile"

# The legacy builder, as scripts/docker-engine.sh: Debian's engine may have
# no BuildKit front end, and FROM scratch needs none.
DOCKER_BUILDKIT=0 docker build -q -t "$tag" \
  --label "org.opencontainers.image.revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)" "$ctx" >/dev/null
echo "build-image: $tag"
