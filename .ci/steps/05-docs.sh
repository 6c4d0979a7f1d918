#!/usr/bin/env bash
# API docs build without a warning (broken links, missing docs on the
# facade and the runtime); the doc tests themselves run in `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace
