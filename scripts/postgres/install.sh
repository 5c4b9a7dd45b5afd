#!/usr/bin/env bash
# Makes sure Debian's PostgreSQL server binaries (initdb, postgres) are
# installed for the PostgreSQL tests (internal/pgtest runs a throwaway
# cluster of its own from them; nothing is started here). Installs the
# postgresql package when they are missing and this runs as root. Prints the
# folder of the binaries. Safe to run again.
set -euo pipefail

find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

if bin=$(find_bin); then
  echo "$bin"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "postgres/install.sh: PostgreSQL is not installed and this is not root: apt-get install postgresql" >&2
  exit 1
fi
echo "postgres/install.sh: installing postgresql" >&2
apt-get update -q >/dev/null || echo "postgres/install.sh: WARNING: apt-get update failed" >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
if ! bin=$(find_bin); then
  echo "postgres/install.sh: postgresql installed, but no initdb and postgres under /usr/lib/postgresql/*/bin" >&2
  exit 1
fi
echo "$bin"
