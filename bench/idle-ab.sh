#!/usr/bin/env bash
# Idle memory per connection of the chat server with two sets of flags,
# alternating: bench/idle-ab.sh ROUNDS CLIENTS "FLAGS A" "FLAGS B".
# Each run starts a fresh release chat on core 0 (pinned), opens CLIENTS
# connections with `loadgen --mode idle` on core 1 (each joins one of 10
# rooms) and prints the server's RSS growth per connection as loadgen
# reads it. Loopback only; each run ends when loadgen does.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
CLIENTS=${2:-5000}
A=${3:-}
B=${4:-}
cargo build -q --release -p zocket-examples --bin chat -p zocket-bench --bin loadgen
run() {
  local log pid port
  log=$(mktemp)
  # shellcheck disable=SC2086 # the flags are words
  taskset -c 0 target/release/chat --addr 127.0.0.1:0 --max-connections-per-ip 1000000 \
    --rate-limit 0 --no-metrics $1 >"$log" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 1 100); do
    port=$(awk '/^LISTENING /{print $2; exit}' "$log")
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  [[ -n "$port" ]] || { echo "chat did not start" >&2; cat "$log" >&2; kill "$pid"; exit 1; }
  taskset -c 1 target/release/loadgen --addr "127.0.0.1:$port" --mode idle \
    --clients "$CLIENTS" --rooms 10 --server-pid "$pid" --quiet 2>/dev/null | tail -n 1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
}
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round a ($A): $(run "$A")"
  echo "round $round b ($B): $(run "$B")"
done
