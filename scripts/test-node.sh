#!/usr/bin/env bash
# Node.js package tests (issue 5): install the package's npm dependencies, build
# the napi-rs addon from source, check the committed napi-generated
# index.js/index.d.ts did not drift, then run `node --test`.
# Exits non-zero on any failure. Needs Node >= 20.17, npm and Rust (cargo).
#
#   BUFFDB_NODE_PROFILE=release   build the addon in release mode (default: debug,
#                                 which compiles faster; the tests pass either way)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/node"

for tool in node npm cargo; do
  command -v "$tool" >/dev/null || { echo "test-node.sh: $tool not found" >&2; exit 1; }
done
echo "node $(node --version), npm $(npm --version), $(cargo --version)"

# npm packages: the build tool (@napi-rs/cli) and the type-check deps. The
# build is explicit below.
# `npm ci`: exactly the committed lockfile, and the tree stays as committed.
npm ci --no-audit --no-fund --loglevel=error

profile_flag=()
if [ "${BUFFDB_NODE_PROFILE:-debug}" = "release" ]; then profile_flag=(--release); fi
npx napi build --platform "${profile_flag[@]}" --js index.js --dts index.d.ts

# The generated loader and native typings are committed: they must match the source.
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  if ! git -C "$root" diff --quiet -- node/index.js node/index.d.ts; then
    git -C "$root" --no-pager diff --stat -- node/index.js node/index.d.ts
    echo "test-node.sh: node/index.js or node/index.d.ts is out of date; commit the regenerated files" >&2
    exit 1
  fi
fi

node --test test/
