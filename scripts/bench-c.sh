#!/usr/bin/env bash
# The C benchmark: builds and installs libbuffdb into target/capi-prefix, builds
# c-examples/bench.c through pkg-config and runs it.
#   scripts/bench-c.sh [STREAM-MiB (256)] [GETS (100000)]
# Prints one table: stream read via buffdb_reader_read into a caller buffer and random
# buffdb_get into a caller buffer, each next to memcpy of the same bytes in the same run;
# stream write, batch put, a prefix scan through the KV cursor, gets in a transaction.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
PREFIX=$CARGO_TARGET_DIR/capi-prefix
"$ROOT/scripts/build-c.sh" install "$PREFIX" >&2
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
make -s -C "$ROOT/c-examples" O="$CARGO_TARGET_DIR/capi-bench" CFLAGS="-O2" "$CARGO_TARGET_DIR/capi-bench/bench" >&2
DIR=$(mktemp -d "${TMPDIR:-/tmp}/buffdb-c-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
LD_LIBRARY_PATH=$PREFIX/lib "$CARGO_TARGET_DIR/capi-bench/bench" "$DIR" "${1:-256}" "${2:-100000}"
