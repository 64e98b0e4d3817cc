#!/usr/bin/env bash
# Every benchmark of the project in one run, and one Markdown report of them:
#   scripts/bench-all.sh [--scale] [--only rust,c,python,node,server]
#   scripts/bench-all.sh --report    only writes bench.md again from the outputs there
#
# Runs the Rust bench (bench/, BuffDB beside heed, redb and rusqlite; memory of a 1 GiB
# stream), scripts/bench-c.sh, scripts/bench-python.sh (py-lmdb, sqlite3, rocksdict),
# scripts/bench-node.sh (lmdb-js, better-sqlite3) and the server bench (cargo bench
# -p buffdb-server --bench grpc), each as its own command does, and writes
# $BENCH_OUT/bench.md (default target/bench-all): the machine, ONE table of every
# BuffDB / anchor ratio the benches printed, then each bench's own tables.
# `--scale` adds workload K at 1M and 10M keys beside heed and a 4 GiB stream (about
# 10 minutes more, ~3 GiB of disk in $BENCH_DIR).
# A bench that fails is reported in the file and the others still run.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=${BENCH_OUT:-$CARGO_TARGET_DIR/bench-all}
mkdir -p "$OUT"
SCALE=0
ONLY=rust,c,python,node,server
while [ $# -gt 0 ]; do
    case $1 in
        --scale) SCALE=1 ;;
        --only) ONLY=$2; shift ;;
        --report) ONLY=report ;;
        *) echo "usage: $0 [--scale] [--only rust,c,python,node,server]" >&2; exit 2 ;;
    esac
    shift
done
wants() { [[ ",$ONLY," == *",$1,"* ]]; }
log() { echo "bench-all: $*" >&2; }

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); Linux $(uname -r); $(rustc --version 2>/dev/null | cut -d' ' -f1-2); Python $(python3 -c 'import platform; print(platform.python_version())' 2>/dev/null); Node $(node --version 2>/dev/null)"
[ "$ONLY" = report ] || echo "$(date -u '+%Y-%m-%d %H:%M UTC'), load at start $(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/started"

# run NAME COMMAND...: output to $OUT/NAME.txt, status to $OUT/NAME.status
run() {
    local name=$1; shift
    log "$name: $*"
    local t0=$SECONDS
    if "$@" > "$OUT/$name.txt" 2> "$OUT/$name.err"; then
        echo "ok in $((SECONDS - t0)) s" > "$OUT/$name.status"
    else
        echo "FAILED (exit $?) after $((SECONDS - t0)) s; last lines of its errors: $(tail -3 "$OUT/$name.err" | tr '\n' ' ')" > "$OUT/$name.status"
    fi
    log "$name: $(cat "$OUT/$name.status")"
}

[ "$ONLY" = report ] || rm -f "$OUT"/*.txt "$OUT"/*.status "$OUT"/*.err
if wants rust; then
    (cd "$ROOT" && cargo build --release -p buffdb-bench >&2) &&
        run rust "$CARGO_TARGET_DIR/release/buffdb-bench" --runs 3
fi
wants c && run c "$ROOT/scripts/bench-c.sh"
wants python && run python "$ROOT/scripts/bench-python.sh" --rounds 3
wants node && run node "$ROOT/scripts/bench-node.sh"
if wants server; then
    # Built through cargo, run directly (cargo would hold the target dir's lock).
    exe=$(cd "$ROOT" && cargo bench -p buffdb-server --bench grpc --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
    if [ -n "$exe" ]; then
        run server "$exe" --bench
    else
        echo "FAILED: the server bench did not build" > "$OUT/server.status"
    fi
fi

# Last: the longest, and the others' figures do not wait for it.
if wants rust && [ "$SCALE" = 1 ]; then
    run rust-scale "$CARGO_TARGET_DIR/release/buffdb-bench" --scale
fi

python3 - "$OUT" "$machine" <<'EOF'
import os, re, sys
out, machine = sys.argv[1], sys.argv[2]
parts = [("rust", "Rust (bench/)"), ("rust-scale", "Rust, scale (--scale)"), ("c", "C (scripts/bench-c.sh)"),
         ("python", "Python (scripts/bench-python.sh)"), ("node", "Node (scripts/bench-node.sh)"),
         ("server", "gRPC server (cargo bench -p buffdb-server --bench grpc)")]
ratio = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*[x×]\s*$")
rows = []
for name, title in parts:
    path = os.path.join(out, name + ".txt")
    if not os.path.exists(path):
        continue
    header = None
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        if not (line.startswith("|") and line.endswith("|")):
            header = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if all(re.fullmatch(r":?-+:?", c) for c in cells if c):
            continue
        if header is None:
            header = cells
            continue
        for i, c in enumerate(cells):
            m = ratio.match(c)
            if m and i > 0 and i < len(header):
                rows.append((title.split(" (")[0], cells[0], header[i], m.group(1)))
started = open(os.path.join(out, "started")).read().strip()
md = [f"Machine: {machine}. Run of {started}; machines here are shared and noisy, so compare ratios within this run, not absolute figures with other runs.", ""]
md += ["All ratios (BuffDB / anchor, same run; above 1 means BuffDB is faster, except rows in ms or MiB where lower is better and the ratio is printed as the bench gives it):", ""]
md += ["| part | workload | ratio | value |", "|---|---|---|---:|"]
md += [f"| {p} | {w} | {h} | {v}x |" for p, w, h, v in rows]
md.append("")
for name, title in parts:
    status = os.path.join(out, name + ".status")
    if not os.path.exists(status):
        continue
    md += [f"**{title}** — {open(status).read().strip()}", ""]
    text = open(os.path.join(out, name + ".txt"), encoding="utf-8", errors="replace").read().strip()
    md += [text, ""]
open(os.path.join(out, "bench.md"), "w").write("\n".join(md))
print(os.path.join(out, "bench.md"))
EOF
