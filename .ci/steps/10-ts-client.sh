#!/usr/bin/env bash
# The TypeScript client: build, type tests and unit tests on Node, and its
# calls against the real Rust chat server (test/chat-server.test.ts), which
# must run here, not skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q -p zocket-examples --bin chat
export ZOCKET_REQUIRE_CHAT=1
export ZOCKET_CHAT_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/chat"
cd clients/ts
npm ci --no-audit --no-fund
npm test
