#!/usr/bin/env bash
# Installs Bun from the npm registry (the binary ships inside the package
# @oven/bun-linux-x64) into bench/bun/.bun and prints the binary's path.
# Set BUN_VERSION to pin another version.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix="$here/.bun"
version="${BUN_VERSION:-1.4.5}"
pkg="@oven/bun-linux-x64"
if ! grep -qw avx2 /proc/cpuinfo; then
  pkg="@oven/bun-linux-x64-baseline"
fi
bin="$prefix/node_modules/$pkg/bin/bun"
if [[ ! -x "$bin" ]] || [[ "$("$bin" --version 2>/dev/null || true)" != "$version" ]]; then
  mkdir -p "$prefix"
  npm install --silent --no-audit --no-fund --no-save --prefix "$prefix" "$pkg@$version" >&2
fi
if [[ ! -x "$bin" ]]; then
  echo "install.sh: $bin not found after npm install" >&2
  exit 1
fi
echo "$bin"
