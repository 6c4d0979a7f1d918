#!/usr/bin/env bash
# Cluster tests (zocket-redis, zocket-nats) against real brokers. They use
# the machine's Redis (127.0.0.1:6379) and NATS (127.0.0.1:4222), or start
# redis-server / nats-server on free ports; the restart tests always start
# their own. In CI they must run, never skip: ZOCKET_REQUIRE_BROKERS=1 makes
# a missing broker a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/bin/$1" ] || [ -x "/usr/sbin/$1" ]; }
if ! have redis-server || ! have nats-server; then
    echo "cluster: installing redis-server and nats-server"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server nats-server >/dev/null
fi

export ZOCKET_REQUIRE_BROKERS=1
cargo test -p zocket-cluster-tests "$@"
