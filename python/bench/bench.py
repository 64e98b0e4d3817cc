#!/usr/bin/env python3
"""BuffDB Python benchmark: workloads K and S for buffdb, py-lmdb, sqlite3 and
rocksdict, measured side by side in one run, printed as one table with ratios to
py-lmdb.

Workload K: 100,000 keys of 16 bytes with 100-byte values, in shuffled order; all puts
in one batch; 100,000 gets in random order (right after the puts, and again after
reopening the database, so no in-process cache hides the engine); a prefix scan that
returns 10,000 keys.

Workload S: one 256 MiB document written, then read back into a preallocated buffer
(`readinto` for buffdb, checksums on), next to a plain memcpy of the same bytes.

    python bench/bench.py [--rounds 3] [--keys 100000] [--doc-mib 256] [--dir DIR]

Each figure is the median of the rounds; every round uses fresh database files.
Missing competitors (not installed) are shown as "-".

With a buffdb built with encryption (`buffdb.ENCRYPTION_AVAILABLE`; scripts/bench-python.sh
--encryption builds it so), "buffdb-enc" runs the same workloads on an encrypted
database (a passphrase, SQLCipher 4) in the same rounds, and a second table gives its
time ratio to unencrypted buffdb per row. `--cpu` times the process's CPU time instead
of the wall clock (steadier on a busy machine).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib

import buffdb

try:
    import lmdb
except ImportError:  # pragma: no cover
    lmdb = None

try:
    import rocksdict
except ImportError:  # pragma: no cover
    rocksdict = None

MiB = 1 << 20

CLOCK = time.perf_counter


def now():
    return CLOCK()


# --------------------------------------------------------------------------- data


def make_keys(n, seed=42):
    # 16-byte keys; i < 10,000 share the 12-byte prefix "000000000000", so the prefix
    # scan returns exactly 10,000 keys (for n >= 10,000).
    keys = [b"%016d" % i for i in range(n)]
    rnd = random.Random(seed)
    values = [rnd.randbytes(100) if hasattr(rnd, "randbytes") else os.urandom(100) for _ in range(n)]
    put_order = list(range(n))
    rnd.shuffle(put_order)
    get_order = list(range(n))
    rnd.shuffle(get_order)
    pairs = [(keys[i], values[i]) for i in put_order]
    gets = [keys[i] for i in get_order]
    return pairs, gets, dict(zip(keys, values))


SCAN_PREFIX = b"000000000000"


# --------------------------------------------------------------------------- engines
#
# Each engine implements: open(dir), close(), put_batch(pairs), get_all(keys) -> n
# found, scan(prefix) -> n, doc_write(data), doc_read_into(buf) -> n. Durability is each
# engine's usual "survives a process crash" setting (buffdb: WAL + synchronous=NORMAL,
# sqlite3: the same, lmdb: defaults, rocksdict: defaults, no fsync per write).


class BuffDB:
    name = "buffdb"
    options = {}

    def open(self, d):
        self.path = os.path.join(d, "bench.buffdb")
        self.db = buffdb.open(self.path, **self.options)

    def reopen(self):
        self.db.close()
        self.db = buffdb.open(self.path, **self.options)

    def close(self):
        self.db.close()

    def put_batch(self, pairs):
        self.db.put_many(pairs)

    def get_all(self, keys):
        get = self.db.get
        found = 0
        for k in keys:
            if get(k) is not None:
                found += 1
        return found

    def scan(self, prefix):
        n = 0
        for _k, _v in self.db.scan(prefix):
            n += 1
        return n

    def doc_write(self, data):
        self.db.stream_write("/bench/doc.bin", data)

    def doc_settle(self):
        self.db.checkpoint()

    def doc_read_into(self, buf):
        with self.db.stream_open("/bench/doc.bin") as f:
            return f.readinto(buf)


class EncryptedBuffDB(BuffDB):
    """The same on an encrypted database (the key derived once per open, not timed)."""

    name = "buffdb-enc"
    options = {"encryption_key": "bench passphrase"}


class LMDB:
    name = "py-lmdb"

    def open(self, d):
        self.path = os.path.join(d, "bench.lmdb")
        self._open()

    def _open(self):
        self.env = lmdb.open(self.path, map_size=4 << 30, max_dbs=0)

    def reopen(self):
        self.env.close()
        self._open()

    def close(self):
        self.env.close()

    def put_batch(self, pairs):
        with self.env.begin(write=True) as txn:
            txn.cursor().putmulti(pairs)

    def get_all(self, keys):
        found = 0
        with self.env.begin() as txn:
            get = txn.get
            for k in keys:
                if get(k) is not None:
                    found += 1
        return found

    def scan(self, prefix):
        n = 0
        with self.env.begin() as txn:
            cur = txn.cursor()
            if cur.set_range(prefix):
                for k, _v in cur:
                    if not k.startswith(prefix):
                        break
                    n += 1
        return n

    def doc_write(self, data):
        with self.env.begin(write=True) as txn:
            txn.put(b"/bench/doc.bin", data)

    def doc_settle(self):
        self.env.sync(True)

    def doc_read_into(self, buf):
        with self.env.begin(buffers=True) as txn:
            mv = txn.get(b"/bench/doc.bin")  # a view of the map: copy once into buf
            n = len(mv)
            memoryview(buf)[:n] = mv
            return n


class SQLite:
    name = "sqlite3"

    def open(self, d):
        self.path = os.path.join(d, "bench.sqlite")
        self._open()
        self.con.execute("CREATE TABLE kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID")
        self.con.execute("CREATE TABLE docs(path TEXT PRIMARY KEY, data BLOB)")

    def _open(self):
        self.con = sqlite3.connect(self.path, isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")

    def reopen(self):
        self.con.close()
        self._open()

    def close(self):
        self.con.close()

    def put_batch(self, pairs):
        self.con.execute("BEGIN")
        self.con.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", pairs)
        self.con.execute("COMMIT")

    def get_all(self, keys):
        found = 0
        ex = self.con.execute
        for k in keys:
            if ex("SELECT value FROM kv WHERE key = ?", (k,)).fetchone() is not None:
                found += 1
        return found

    def scan(self, prefix):
        end = prefix[:-1] + bytes([prefix[-1] + 1])
        n = 0
        for _row in self.con.execute("SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key", (prefix, end)):
            n += 1
        return n

    def doc_write(self, data):
        self.con.execute("INSERT OR REPLACE INTO docs VALUES (?, ?)", ("/bench/doc.bin", data))

    def doc_settle(self):
        self.con.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def doc_read_into(self, buf):
        (data,) = self.con.execute("SELECT data FROM docs WHERE path = ?", ("/bench/doc.bin",)).fetchone()
        n = len(data)
        memoryview(buf)[:n] = data
        return n


class RocksDict:
    name = "rocksdict"

    def open(self, d):
        self.path = os.path.join(d, "bench.rocksdict")
        self._open()

    def _open(self):
        self.db = rocksdict.Rdict(self.path, rocksdict.Options(raw_mode=True))

    def reopen(self):
        self.db.close()
        self._open()

    def close(self):
        self.db.close()

    def put_batch(self, pairs):
        wb = rocksdict.WriteBatch(raw_mode=True)
        for k, v in pairs:
            wb.put(k, v)
        self.db.write(wb)

    def get_all(self, keys):
        found = 0
        get = self.db.get
        for k in keys:
            if get(k) is not None:
                found += 1
        return found

    def scan(self, prefix):
        n = 0
        for k, _v in self.db.items(from_key=prefix):
            if not k.startswith(prefix):
                break
            n += 1
        return n

    def doc_write(self, data):
        self.db[b"/bench/doc.bin"] = data

    def doc_settle(self):
        self.db.flush()

    def doc_read_into(self, buf):
        data = self.db[b"/bench/doc.bin"]
        n = len(data)
        memoryview(buf)[:n] = data
        return n


# --------------------------------------------------------------------------- runs


def timed(fn, *args):
    gc.collect()
    gc.disable()
    try:
        t0 = now()
        r = fn(*args)
        return now() - t0, r
    finally:
        gc.enable()


def run_k(engine, d, pairs, gets, expect_scan):
    n = len(pairs)
    engine.open(d)
    try:
        t_put, _ = timed(engine.put_batch, pairs)
        t_get, found = timed(engine.get_all, gets)
        assert found == n, f"{engine.name}: found {found} of {n}"
        t_scan, scanned = timed(engine.scan, SCAN_PREFIX)
        assert scanned == expect_scan, f"{engine.name}: scan gave {scanned}, expected {expect_scan}"
        engine.reopen()
        t_get_cold, found = timed(engine.get_all, gets)
        assert found == n
    finally:
        engine.close()
    return {
        "put": n / t_put,
        "get": n / t_get,
        "get_reopened": n / t_get_cold,
        "scan": scanned / t_scan,
    }


def run_s(engine, d, data, buf):
    engine.open(d)
    try:
        t_write, _ = timed(engine.doc_write, data)
        t_settle, _ = timed(engine.doc_settle)
        memoryview(buf)[:16] = b"\0" * 16
        t_read, n = timed(engine.doc_read_into, buf)
        assert n == len(data), f"{engine.name}: read {n} of {len(data)}"
        assert buf[:16] == data[:16] and buf[-16:] == data[-16:]
    finally:
        engine.close()
    gb = len(data) / 1e9
    return {"doc_write": gb / t_write, "doc_write_settled": gb / (t_write + t_settle), "doc_read": gb / t_read}


def memcpy_gbps(data, buf):
    mv = memoryview(buf)
    t, _ = timed(mv.__setitem__, slice(0, len(data)), data)
    return len(data) / 1e9 / t


def median(xs):
    return statistics.median(xs) if xs else None


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "GB/s":
        return f"{v:.2f} GB/s"
    if v >= 1e6:
        return f"{v / 1e6:.2f} M/s"
    return f"{v / 1e3:.0f} k/s"


def machine():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}; buffdb {buffdb.__version__}"
        + (f", py-lmdb {lmdb.__version__}" if lmdb else "")
        + (f", sqlite {sqlite3.sqlite_version}")
        + (", rocksdict" if rocksdict else "")
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--doc-mib", type=int, default=256)
    ap.add_argument("--dir", default=None, help="where to put the database files (default: a temp dir)")
    ap.add_argument("--only", default=None, help="comma-separated engine names")
    ap.add_argument("--skip-s", action="store_true", help="skip workload S")
    ap.add_argument("--json", default=None, help="also write every round's figures to this file")
    ap.add_argument("--cpu", action="store_true", help="time the process's CPU time, not the wall clock")
    args = ap.parse_args()
    if args.cpu:
        global CLOCK
        CLOCK = time.process_time

    engines = [BuffDB()]
    if getattr(buffdb, "ENCRYPTION_AVAILABLE", False):
        engines.append(EncryptedBuffDB())
    if lmdb:
        engines.append(LMDB())
    engines.append(SQLite())
    if rocksdict:
        engines.append(RocksDict())
    if args.only:
        wanted = set(args.only.split(","))
        engines = [e for e in engines if e.name in wanted]

    pairs, gets, _ = make_keys(args.keys)
    expect_scan = min(args.keys, 10_000)
    results = {e.name: {} for e in engines}
    memcpy = []
    data = buf = None
    if not args.skip_s:
        rnd = random.Random(7)
        block = rnd.randbytes(MiB) if hasattr(rnd, "randbytes") else os.urandom(MiB)
        data = block * args.doc_mib
        buf = bytearray(len(data))
        print(f"document: {args.doc_mib} MiB, crc32 {zlib.crc32(data):#010x}", file=sys.stderr)

    base = args.dir or tempfile.gettempdir()
    for rnd_i in range(args.rounds):
        for e in engines:
            d = tempfile.mkdtemp(prefix=f"bench-{e.name}-", dir=base)
            try:
                for k, v in run_k(e, d, pairs, gets, expect_scan).items():
                    results[e.name].setdefault(k, []).append(v)
            finally:
                shutil.rmtree(d, ignore_errors=True)
            if data is not None:
                d = tempfile.mkdtemp(prefix=f"bench-{e.name}-", dir=base)
                try:
                    for k, v in run_s(e, d, data, buf).items():
                        results[e.name].setdefault(k, []).append(v)
                finally:
                    shutil.rmtree(d, ignore_errors=True)
            print(f"round {rnd_i + 1}/{args.rounds}: {e.name} done", file=sys.stderr)
        if data is not None:
            memcpy.append(memcpy_gbps(data, buf))

    rows = [
        ("K put (one batch)", "put", "ops"),
        ("K get (after puts)", "get", "ops"),
        ("K get (after reopen)", "get_reopened", "ops"),
        ("K prefix scan (keys/s)", "scan", "ops"),
    ]
    if data is not None:
        rows += [
            (f"S write {args.doc_mib} MiB", "doc_write", "GB/s"),
            (f"S write + checkpoint/sync", "doc_write_settled", "GB/s"),
            (f"S read into buffer", "doc_read", "GB/s"),
        ]
    names = [e.name for e in engines]
    header = ["workload"] + names + ["buffdb / py-lmdb"]
    table = []
    for label, key, unit in rows:
        meds = {n: median(results[n].get(key, [])) for n in names}
        ratio = "-"
        if "py-lmdb" in meds and meds.get("py-lmdb") and meds.get("buffdb"):
            ratio = f"{meds['buffdb'] / meds['py-lmdb']:.2f}x"
        table.append([label] + [fmt(meds[n], unit) for n in names] + [ratio])
    if memcpy:
        m = median(memcpy)
        b = median(results["buffdb"].get("doc_read", [])) if "buffdb" in results else None
        table.append(["memcpy (same bytes)"] + [fmt(m, "GB/s") if n == "buffdb" else "" for n in names]
                     + [f"read = {b / m:.2f}x memcpy" if b else "-"])

    if args.json:
        import json

        with open(args.json, "w") as f:
            json.dump({"results": results, "memcpy": memcpy}, f)

    widths = [max(len(str(r[i])) for r in [header] + table) for i in range(len(header))]
    print(f"\nBuffDB Python benchmark ({args.rounds} rounds, medians, {args.keys:,} keys): {machine()}\n")

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in table:
        print(line(r))

    if "buffdb" in names and "buffdb-enc" in names:
        clock = "process CPU time" if args.cpu else "wall clock"
        print(f"\nEncryption cost (same rounds, medians, {clock}): encrypted / unencrypted time\n")
        print("| workload | buffdb | buffdb-enc | time ratio |")
        print("|---|---:|---:|---:|")
        for label, key, unit in rows:
            p = median(results["buffdb"].get(key, []))
            e = median(results["buffdb-enc"].get(key, []))
            if p and e:
                print(f"| {label} | {fmt(p, unit)} | {fmt(e, unit)} | {p / e:.2f}x |")


if __name__ == "__main__":
    main()
