#!/usr/bin/env bash
# Hardening: WebSocket conformance (kosoku) against the echo example and a
# fuzz smoke run; see .ci/hardening.sh.
set -euo pipefail
exec bash .ci/hardening.sh
