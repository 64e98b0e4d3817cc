#!/usr/bin/env bash
# Node benchmark (workloads K and S; buffdb vs lmdb-js vs better-sqlite3 in one
# run). Builds the release addon and installs the bench-only npm packages
# (lmdb, better-sqlite3) into node/bench/ — they are not runtime dependencies.
#
# better-sqlite3 is compiled by node-gyp, which needs Node's C headers: it uses
# the local ones (nodedir: /usr/include/node, or Debian's libnode-dev) instead of
# downloading them. If it still cannot be built, the bench falls back to
# node:sqlite when this Node has it, and says so in its output.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/node"

BUFFDB_SKIP_BUILD=1 npm install --no-audit --no-fund --loglevel=error
npx napi build --platform --release --js index.js --dts index.d.ts

# Node headers for node-gyp, without a download.
if [ -z "${npm_config_nodedir:-}" ]; then
  for d in /usr /usr/local "$(dirname "$(dirname "$(command -v node)")")"; do
    if [ -f "$d/include/node/node_api.h" ] && [ -f "$d/include/node/common.gypi" ]; then
      export npm_config_nodedir="$d"; break
    fi
  done
fi
if [ -z "${npm_config_nodedir:-}" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get install -y libnode-dev >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y libnode-dev >/dev/null 2>&1)) || true
  [ -f /usr/include/node/node_api.h ] && export npm_config_nodedir=/usr
fi
echo "node headers: ${npm_config_nodedir:-none found (node-gyp may try to download them)}"

cd bench
npm install --no-audit --no-fund --loglevel=error || echo "bench-node.sh: some bench dependencies failed to install; continuing with what loads"
node bench.mjs "$@"
