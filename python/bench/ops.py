#!/usr/bin/env python3
"""Per-call cost of each BuffDB operation from Python, on a Db and in a Transaction:
what the binding adds shows here (argument conversion, dispatch, result objects),
where the workloads of bench.py are dominated by the engine.

    python bench/ops.py [--repeats 5] [--json FILE]

Prints microseconds per call (the median of the repeats; CPU time of the process,
which counts the engine's work with the GIL released and is steadier than wall-clock
time on a busy machine; --clock wall for wall-clock time) for every operation the
installed buffdb has, so the same script compares two builds (run it in each venv,
interleaved). Operations a build lacks (a Transaction before it had every
operation) are left out.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import tempfile
import time

import buffdb

KEYS = 10_000
SMALL = bytes(range(256)) * 4  # 1 KiB


def setup(db):
    db.put_many([(b"key:%08d" % i, b"v" * 100) for i in range(KEYS)])
    for i in range(100):
        db.stream_write(f"/docs/{i:03}", SMALL)
    return db.blob_put(SMALL)


def cases(t, blob, tag):
    """(name, calls per round, function doing those calls) for target `t`."""
    keys = [b"key:%08d" % (i * 7919 % KEYS) for i in range(1000)]
    many = keys[:100]
    counter = iter(range(10**9))

    def loop(fn):
        def run():
            for k in keys:
                fn(k)

        return run

    def stream_open_read():
        for _ in range(200):
            with t.stream_open("/docs/007") as f:
                f.read()

    def stream_writer():
        for _ in range(50):
            with t.stream_writer(f"/{tag}/w") as w:
                w.write(SMALL)

    out = [
        ("get", 1000, loop(t.get)),
        ("get missing", 1000, loop(lambda k: t.get(k + b"x"))),
        ("t[key]", 1000, loop(t.__getitem__)),
        ("contains", 1000, loop(t.contains)),
        ("put", 1000, loop(lambda k: t.put(k, b"w" * 100))),
        ("get_many 100", 10, lambda: [t.get_many(many) for _ in range(10)]),
        ("scan 1000 rows", 10, lambda: [sum(1 for _ in t.scan(b"key:0000")) for _ in range(10)]),
        ("keys 1000", 10, lambda: [sum(1 for _ in t.keys(b"key:0000")) for _ in range(10)]),
        ("count 1000", 10, lambda: [t.count(b"key:0000") for _ in range(10)]),
        ("blob_get 1 KiB", 200, lambda: [t.blob_get(blob) for _ in range(200)]),
        ("blob_put 1 KiB", 200, lambda: [t.blob_put(SMALL) for _ in range(200)]),
        ("stream_read 1 KiB", 200, lambda: [t.stream_read("/docs/007") for _ in range(200)]),
        ("stream_open+read 1 KiB", 200, stream_open_read),
        ("stream_write 1 KiB", 50, lambda: [t.stream_write(f"/{tag}/{next(counter)}", SMALL) for _ in range(50)]),
        ("stream_writer 1 KiB", 50, stream_writer),
        ("stream_stat", 200, lambda: [t.stream_stat("/docs/007") for _ in range(200)]),
        ("search 100 paths", 10, lambda: [list(t.search("/docs/")) for _ in range(10)]),
        ("query count", 50, lambda: [t.query("SELECT count(*) FROM kv") for _ in range(50)]),
    ]
    return [(name, n, fn) for name, n, fn in out if all_present(t, name)]


def all_present(t, name):
    method = {"t[key]": "__getitem__", "stream_open+read 1 KiB": "stream_open", "get missing": "get"}.get(
        name, name.split(" ")[0]
    )
    return hasattr(t, method)


CLOCK = time.process_time


def measure(fn, n, repeats):
    times = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            t0 = CLOCK()
            fn()
            times.append((CLOCK() - t0) / n)
        finally:
            gc.enable()
    return statistics.median(times) * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    results = {}
    with tempfile.TemporaryDirectory() as d:
        with buffdb.open(os.path.join(d, "ops.buffdb")) as db:
            blob = setup(db)
            for name, n, fn in cases(db, blob, "db"):
                results[f"db {name}"] = measure(fn, n, args.repeats)
            # In a transaction: each operation in one of its own, rolled back after.
            for name, _, _ in cases(db, blob, "tx"):
                tx = db.begin()
                try:
                    found = {c[0]: c for c in cases(tx, blob, "tx")}
                    if name in found:
                        results[f"txn {name}"] = measure(found[name][2], found[name][1], args.repeats)
                finally:
                    tx.rollback()
            def txns():
                for i in range(100):
                    with db.begin() as tx:
                        tx.put(b"txn:%d" % i, b"x")

            results["begin+put+commit"] = measure(txns, 100, args.repeats)
    for name, us in results.items():
        print(f"{name:32} {us:10.2f} us")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f)


if __name__ == "__main__":
    main()
