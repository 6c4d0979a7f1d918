#!/usr/bin/env bash
# A tiny run of the benchmark kit (a few hundred deliveries against the
# chat example) proving the kit works; the real runs are in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash bench/run.sh smoke
