#!/usr/bin/env bash
# The TypeScript client: build, type tests and unit tests on Node.
set -euo pipefail
cd clients/ts
npm ci --no-audit --no-fund
npm test
