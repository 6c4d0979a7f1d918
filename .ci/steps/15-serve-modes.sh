#!/usr/bin/env bash
# The integration suite again against the other two ways of serving a
# router (issue 10: one connection path whatever serves the HTTP): mounted
# with `method_router()` under plain `axum::serve`, and hyper over a stream
# that is not a `TcpStream` (the generic transport, as behind TLS).
# `cargo test --workspace` in .ci/run covers zocket's own accept loop.
set -euo pipefail
cd "$(dirname "$0")/../.."
for mode in axum io; do
    echo "--- zocket-tests with ZOCKET_TEST_SERVE=$mode"
    ZOCKET_TEST_SERVE=$mode cargo test -p zocket-tests
done
