#!/usr/bin/env bash
# Runs Wharf on a fresh Debian machine with Go: builds the plugins and the
# host, starts emulated platforms with demo services, and serves the portal
# and REST API on http://127.0.0.1:8080 (WHARF_LISTEN to change). When a Docker
# engine answers on /var/run/docker.sock, a "local-swarm" connection to it is
# added too.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v gcc >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc libc6-dev >/dev/null
fi
scripts/build-plugins.sh dist/plugins >/dev/null
go build -o dist/wharf ./cmd/host
exec dist/wharf serve --demo --listen "${WHARF_LISTEN:-127.0.0.1:8080}" --data "${WHARF_DATA:-data}" --plugins dist/plugins "$@"
