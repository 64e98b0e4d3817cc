"""Threads: shared handles, readers during writes, and the GIL released during I/O."""

import random
import sys
import threading
import time

import pytest

import buffdb

MiB = 1 << 20


def test_readers_while_one_writes(dbpath):
    db = buffdb.open(dbpath, chunk_size=64 * 1024)
    n_keys, n_versions = 5000, 20
    db.stream_write("/doc", bytes([0]) * (1 * MiB))
    stop = threading.Event()
    errors = []

    def writer():
        try:
            for start in range(0, n_keys, 250):
                db.put_many([(f"key:{i:06d}", f"value:{i}") for i in range(start, start + 250)])
            for v in range(1, n_versions):
                db.stream_write("/doc", bytes([v]) * (1 * MiB))
            with db.stream_writer("/doc") as w:
                for _ in range(16):
                    w.write(bytes([n_versions]) * (64 * 1024))
        except Exception as e:  # pragma: no cover
            errors.append(e)
        finally:
            stop.set()

    def kv_reader():
        rnd = random.Random()
        try:
            while not stop.is_set():
                i = rnd.randrange(n_keys)
                v = db.get(f"key:{i:06d}")
                assert v is None or v == f"value:{i}".encode()
                keys = list(db.keys("key:", limit=100))
                assert keys == sorted(keys)
        except Exception as e:
            errors.append(e)

    def stream_reader():
        try:
            while not stop.is_set():
                with db.stream_open("/doc") as f:
                    data = f.read()
                assert len(set(data)) == 1, "a reader mixed two versions"
                data = db.stream_read("/doc")
                assert len(set(data)) == 1
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=writer)]
    threads += [threading.Thread(target=kv_reader) for _ in range(2)]
    threads += [threading.Thread(target=stream_reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert db.count("key:") == n_keys
    assert db.stream_read("/doc") == bytes([n_versions]) * MiB
    db.close()


def test_shared_reader_between_threads(small_db):
    data = bytes(range(256)) * 4096
    small_db.stream_write("/shared", data)
    f = small_db.stream_open("/shared")
    results = []

    def worker(offset):
        for _ in range(50):
            results.append(f.read_at(offset, 1000) == data[offset:offset + 1000])

    ts = [threading.Thread(target=worker, args=(o,)) for o in (0, 5000, 100_000, 500_000)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(results) and len(results) == 200
    f.close()


def test_waiting_writer_does_not_hold_the_gil(dbpath):
    db = buffdb.open(dbpath, busy_timeout_ms=10_000)
    tx = db.begin()
    tx["a"] = b"from tx"
    done = threading.Event()

    def second_writer():
        db.put("b", b"after")  # waits for the transaction, with the GIL released
        done.set()

    t = threading.Thread(target=second_writer)
    t.start()
    # this thread keeps running Python code and can still read
    ticks = 0
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline:
        ticks += 1
        assert db.get("a") is None
    assert ticks > 100
    assert not done.is_set()
    tx.commit()
    t.join(10)
    assert done.is_set()
    assert db["a"] == b"from tx" and db["b"] == b"after"
    db.close()


class Counter(threading.Thread):
    """Counts in pure Python, so it only advances while it holds the GIL; records a
    timestamp every 64 iterations."""

    def __init__(self):
        super().__init__(daemon=True)
        self.n = 0
        self.stamps = []
        self.stop = False

    def run(self):
        clock = time.perf_counter
        while not self.stop:
            self.n += 1
            if self.n % 64 == 0:
                self.stamps.append(clock())


def progress_during(call):
    """How often another thread ran Python code in the middle of `call()`.

    Around the call's edges the GIL may change hands anyway (at most one switch
    interval, shortened to 1 ms here), so only the middle of the call counts: a call
    that holds the GIL throughout scores 0.
    """
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        c = Counter()
        c.start()
        while c.n == 0:
            time.sleep(0.001)
        t0 = time.perf_counter()
        call()
        t1 = time.perf_counter()
        c.stop = True
        c.join()
    finally:
        sys.setswitchinterval(old)
    edge = max(0.2 * (t1 - t0), 0.004)
    lo, hi = t0 + edge, t1 - edge
    return sum(1 for s in c.stamps if lo < s < hi), t1 - t0


def test_progress_probe_detects_a_held_gil():
    data = b"\x5a" * (64 * MiB)
    during, elapsed = progress_during(lambda: data.replace(b"\x5a", b"\x5b"))  # holds the GIL
    assert elapsed > 0.012 and during == 0


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("gil") / "big.buffdb")
    db = buffdb.open(path)
    data = b"\x5a" * (256 * MiB)
    db.stream_write("/big", data)
    db.checkpoint()
    yield db, data
    db.close()


@pytest.mark.parametrize("what", ["readinto", "read", "stream_read", "stream_write", "blob_put"])
def test_gil_released_during_large_io(big, what):
    db, data = big
    buf = bytearray(len(data))
    calls = {
        "readinto": lambda: db.stream_open("/big").readinto(buf),
        "read": lambda: db.stream_open("/big").read(),
        "stream_read": lambda: db.stream_read("/big"),
        "stream_write": lambda: db.stream_write("/big-copy", data),
        "blob_put": lambda: db.blob_put(data),
    }
    during, elapsed = progress_during(calls[what])
    # With the GIL held for the whole call the counter could not move in its middle.
    if elapsed < 0.012:
        pytest.skip(f"{what} took only {elapsed * 1000:.1f} ms: too short to tell")
    assert during > 0, f"{what}: no progress in another thread during {elapsed * 1000:.0f} ms"
