#!/usr/bin/env bash
# Game assets through PhysFS, in one run: a BuffDB database (buffdb_physfs.h) against
# PhysFS's own zip archiver (stored and deflated) and loose files (PhysFS's directory
# archiver). COUNT assets of 1 KiB-4 MiB (log-uniform, half incompressible "png", half
# structured text "json"): mount time, every file whole in a shuffled order (MB/s) and
# random 64 KiB ranges (open, seek, read, close: reads/s), warm (median of 3) and cold
# (page cache dropped first, when /proc/sys/vm/drop_caches is writable); pack time and
# size against `zip -r`; mount time of a MANY-file database against a MANY-file zip.
# Two databases: `buffdb pack` as it is (compression auto: snappy where it gains) and
# `--compression never` ("buffdb-stored", the like-for-like of a stored zip), each also
# mounted in quick mode ("-quick": verify_checksums = false, no block CRCs). ROUNDS
# (default 3) read runs; the summary gives medians of the figures and of the ratios,
# each ratio taken within one round.
#
#   [ROUNDS=3] [BUFFDB_C_PREFIX=DIR] [BUFFDB_CLI=FILE] scripts/bench-game.sh [COUNT] [MANY]
#                                               defaults: 2000 100000
#
# Needs what scripts/test-c.sh needs plus libphysfs-dev and zip (installed with apt-get
# when missing and possible). Compare the ratios within one run: the machine is noisy.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
COUNT=${1:-2000}
MANY=${2:-100000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/buffdb-bench-game.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if ! { pkg-config --exists physfs 2>/dev/null && command -v zip >/dev/null; }; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || { echo "bench-game: needs libphysfs-dev and zip" >&2; exit 1; }
    apt-get update -qq && apt-get install -y -qq --no-install-recommends libphysfs-dev zip pkg-config >/dev/null
fi
# BUFFDB_C_PREFIX (an installed `build-c.sh install` prefix) and BUFFDB_CLI (a built
# `buffdb`) skip the builds.
PREFIX=${BUFFDB_C_PREFIX:-$WORK/prefix}
[ -n "${BUFFDB_C_PREFIX:-}" ] || "$ROOT/scripts/build-c.sh" install "$PREFIX" >/dev/null 2>&1
[ -n "${BUFFDB_CLI:-}" ] || (cd "$ROOT" && cargo build --release -q -p buffdb-cli)
BUFFDB=${BUFFDB_CLI:-$CARGO_TARGET_DIR/release/buffdb}
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig LD_LIBRARY_PATH=$PREFIX/lib
cc -O2 -std=c99 $(pkg-config --cflags buffdb physfs) "$ROOT/c-examples/bench_game.c" -o "$WORK/bench_game" \
    $(pkg-config --libs buffdb physfs) -lm
B=$WORK/bench_game
COLD=0
if (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then COLD=1; fi

secs() { local s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc; }
size() { du -sb "$1" | cut -f1; }

echo "== $COUNT assets"
"$B" gen "$WORK/assets" "$COUNT" 1
LOOSE=$(size "$WORK/assets")
T_PACK=$(secs "$BUFFDB" -s "$WORK/assets.buffdb" pack "$WORK/assets")
T_REPACK=$(secs "$BUFFDB" -s "$WORK/assets.buffdb" pack "$WORK/assets")
# The like-for-like of a stored zip: nothing compressed (no snappy to decode on read).
T_PACK_RAW=$(secs "$BUFFDB" -s "$WORK/raw.buffdb" pack --compression never "$WORK/assets")
T_ZIP0=$(cd "$WORK/assets" && secs zip -qr -0 ../stored.zip .)
T_ZIP=$(cd "$WORK/assets" && secs zip -qr ../deflated.zip .)
printf '%-22s %10s %10s\n' "pack" "seconds" "MiB"
printf '%-22s %10.2f %10.1f\n' "loose files" 0 "$(echo "$LOOSE / 1048576" | bc -l)"
printf '%-22s %10.2f %10.1f\n' "buffdb pack" "$T_PACK" "$(echo "$(size "$WORK/assets.buffdb") / 1048576" | bc -l)"
printf '%-22s %10.2f %10s\n' "buffdb pack (again)" "$T_REPACK" "-"
printf '%-22s %10.2f %10.1f\n' "buffdb pack, stored" "$T_PACK_RAW" "$(echo "$(size "$WORK/raw.buffdb") / 1048576" | bc -l)"
printf '%-22s %10.2f %10.1f\n' "zip -r -0 (stored)" "$T_ZIP0" "$(echo "$(size "$WORK/stored.zip") / 1048576" | bc -l)"
printf '%-22s %10.2f %10.1f\n' "zip -r (deflated)" "$T_ZIP" "$(echo "$(size "$WORK/deflated.zip") / 1048576" | bc -l)"
echo
[ "$COLD" = 1 ] || echo "(cannot drop the page cache here: cold columns are 0)"
ROUNDS=${ROUNDS:-3}
for r in $(seq "$ROUNDS"); do
    echo "-- read round $r of $ROUNDS"
    "$B" read "$WORK/assets.list" "$COLD" buffdb="$WORK/assets.buffdb" buffdb-stored="$WORK/raw.buffdb" \
        buffdb-quick="$WORK/assets.buffdb" buffdb-stored-quick="$WORK/raw.buffdb" zip-stored="$WORK/stored.zip" zip-deflated="$WORK/deflated.zip" loose="$WORK/assets" | tee "$WORK/read.$r.txt"
done
echo
# Each round's ratios (within the round), then the median of each figure and ratio over the rounds.
awk 'FNR > 1 { for (i = 2; i <= 6; i++) v[FILENAME, $1, i] = $i; f[FILENAME] = 1 }
     function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                    return a[int((n + 1) / 2)] }
     END {
       split("mount-ms whole-MB/s 64K-reads/s cold-MB/s cold-reads/s", h, " ")
       split("buffdb buffdb-stored buffdb-quick buffdb-stored-quick zip-stored zip-deflated loose", names, " ")
       printf "%-30s %12s %12s %12s %12s %12s\n", "median of rounds", h[1] " (lower)", h[2], h[3], h[4], h[5]
       for (k = 1; k <= 7; k++) {
         printf "%-30s", names[k]
         for (i = 2; i <= 6; i++) { n = 0; for (F in f) x[++n] = v[F, names[k], i]; printf " %12.2f", med(x, n) }
         printf "\n"
       }
       split("buffdb/zip-stored buffdb/zip-deflated buffdb/loose buffdb-stored/zip-stored buffdb-stored/loose " \
             "buffdb-quick/zip-stored buffdb-quick/loose buffdb-stored-quick/zip-stored buffdb-stored-quick/loose " \
             "buffdb-quick/buffdb buffdb-stored-quick/buffdb-stored", pairs, " ")
       for (k = 1; k <= 11; k++) {
         split(pairs[k], p, "/")
         printf "%-30s", pairs[k] " (x)"
         for (i = 2; i <= 6; i++) {
           n = 0; for (F in f) if (v[F, p[2], i] > 0) x[++n] = v[F, p[1], i] / v[F, p[2], i]
           printf " %12s", (n ? sprintf("%.2fx", med(x, n)) : "-")
         }
         printf "\n"
       }
     }' "$WORK"/read.*.txt

echo
echo "== mount time with $MANY files"
# The database through the C API (tiny streams, 1,000 per transaction), the zip from loose files.
echo "built: database $(secs "$B" manyfiles "$WORK/many.buffdb" "$MANY") s, files $(secs "$B" manydir "$WORK/many" "$MANY") s," \
    "zip -r -0 $(cd "$WORK/many" && secs zip -qr -0 ../many.zip .) s"
"$B" mount buffdb="$WORK/many.buffdb" zip="$WORK/many.zip"
