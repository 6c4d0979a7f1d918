#!/usr/bin/env bash
# Multi-node fan-out (issue 5): the chat example as one node, then as two
# nodes sharing rooms through Redis and through NATS, measured in one run at
# the same offered rate. Clients alternate between the nodes, so about half
# of every room's members are on the other node from each publisher.
#
#   bash bench/multinode.sh [RATE] [ROOMS]     default 100000 deliveries/s, 10 rooms
#
# Servers are pinned to core 0, the load generator to core 1. Server CPU is
# summed over both nodes (the brokers' CPU is not counted: it is reported
# separately from /proc for redis-server and nats-server). Needs Redis on
# 127.0.0.1:6379 and NATS on 127.0.0.1:4222.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RATE="${1:-100000}"
ROOMS="${2:-10}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build -q --release -p zocket-examples --bin chat -p zocket-bench --bin loadgen
CHAT="$TARGET/release/chat"
LOADGEN="$TARGET/release/loadgen"
OUT="${OUT:-$ROOT/bench/results/multinode-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start_node LOG ARGS... → prints "PID PORT"
start_node() {
  local log="$1"; shift
  taskset -c 0 "$CHAT" --addr 127.0.0.1:0 --max-connections-per-ip 1000000 --rate-limit 0 --no-resume "$@" \
    >"$log.stdout" 2>"$log.stderr" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 200); do
    local port
    port="$(awk '/^LISTENING [0-9]+/{print $2}' "$log.stdout" 2>/dev/null || true)"
    if [[ -n "$port" ]]; then echo "$pid $port"; return 0; fi
    sleep 0.1
  done
  echo "node did not start: $(cat "$log.stderr")" >&2
  return 1
}

broker_cpu() { # seconds of CPU used so far by the named process
  local pid; pid="$(pgrep -x "$1" | head -1 || true)"
  [[ -n "$pid" ]] || { echo 0; return; }
  awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$pid/stat"
}

run() { # LABEL ADDR PID [ALSO_ADDR ALSO_PID]
  local label="$1" addr="$2" pid="$3"; shift 3
  local extra=()
  if [[ $# -ge 2 ]]; then extra=(--also-addr "$1" --also-pid "$2"); fi
  taskset -c 1 "$LOADGEN" --mode fanout --proto zocket --addr "$addr" --server-pid "$pid" "${extra[@]}" \
    --server "$label" --scenario "fanout n=1000 r=$ROOMS 100B @${RATE}" \
    --clients 1000 --rooms "$ROOMS" --rate "$RATE" --duration 5 --drain 3 --quiet \
    | tee -a "$OUT/results.jsonl" || true # a step that is not sustained is a result, not an error
}

PREFIX="bench-$$"
read -r P1 PORT1 < <(start_node "$OUT/single")
run "1 node" "127.0.0.1:$PORT1" "$P1"
kill "$P1"; wait "$P1" 2>/dev/null || true

for bus in redis nats; do
  case "$bus" in
    redis) flag=(--redis redis://127.0.0.1:6379/ --prefix "$PREFIX-r"); proc=redis-server ;;
    nats) flag=(--nats nats://127.0.0.1:4222 --prefix "$PREFIX-n"); proc=nats-server ;;
  esac
  read -r A PA < <(start_node "$OUT/$bus-a" "${flag[@]}")
  read -r B PB < <(start_node "$OUT/$bus-b" "${flag[@]}")
  before="$(broker_cpu "$proc")"
  run "2 nodes ($bus)" "127.0.0.1:$PA" "$A" "127.0.0.1:$PB" "$B"
  after="$(broker_cpu "$proc")"
  echo "{\"kind\":\"broker_cpu\",\"bus\":\"$bus\",\"process\":\"$proc\",\"cpu_s\":$(awk -v a="$after" -v b="$before" 'BEGIN{print a-b}')}" | tee -a "$OUT/results.jsonl"
  kill "$A" "$B"; wait "$A" "$B" 2>/dev/null || true
done
echo "results: $OUT/results.jsonl"
