#!/usr/bin/env bash
# Makes sure a real Docker engine in swarm mode answers on /var/run/docker.sock
# and that the test image wharf-ticker:test exists. Idempotent: the engine and
# its swarm outlive a process on the same machine.
#   --install   install Debian's docker.io when dockerd is missing (needs root)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "${1:-}" = "--install" ] && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
  else
    echo "docker-engine: dockerd is not installed" >&2
    exit 1
  fi
fi

if ! docker version >/dev/null 2>&1; then
  echo "docker-engine: starting dockerd"
  mkdir -p /var/log
  nohup dockerd --iptables=false --bridge=none >/var/log/wharf-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker version >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker version >/dev/null 2>&1 || { echo "docker-engine: dockerd did not start; see /var/log/wharf-dockerd.log" >&2; tail -20 /var/log/wharf-dockerd.log >&2; exit 1; }
fi

if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
fi

if ! docker image inspect wharf-ticker:test >/dev/null 2>&1; then
  ctx=$(mktemp -d)
  CGO_ENABLED=0 go build -o "$ctx/ticker" ./internal/testimage/ticker
  printf 'FROM scratch\nCOPY ticker /ticker\nENTRYPOINT ["/ticker"]\n' >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t wharf-ticker:test "$ctx" >/dev/null
  rm -rf "$ctx"
fi
echo "docker-engine: swarm active, image wharf-ticker:test ready"
