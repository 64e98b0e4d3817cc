"""Smoke test of an installed buffdb wheel (scripts/test-dist.sh): open, put/get,
an 8 MiB stream written in pieces and read back, prefix search, a transaction that
commits and one that rolls back. Exits non-zero on any failure."""
import hashlib
import os
import sys
import tempfile

import buffdb

assert "site-packages" in buffdb.__file__, f"imported {buffdb.__file__}, not the installed wheel"
print("buffdb", buffdb.__version__, "from", os.path.dirname(buffdb.__file__))

STREAM = 8 << 20
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "smoke.bdb")
    with buffdb.open(path) as db:
        db.put(b"user:1", b"ada")
        db["user:2"] = b"grace"
        assert db.get(b"user:1") == b"ada"
        assert db.get(b"user:9") is None

        data = os.urandom(STREAM)
        w = db.stream_writer("/models/resnet/weights.bin")
        for off in range(0, STREAM, 3 << 18):  # pieces that straddle chunk borders
            w.write(data[off:off + (3 << 18)])
        info = w.commit()
        assert info.size == STREAM and info.version == 1, info
        db.stream_write("/models/resnet/config.json", b"{}")
        db.stream_write("/textures/a.png", b"png")

    # reopen: the data is in the file, not in a cache
    with buffdb.open(path) as db:
        buf = bytearray(STREAM)
        with db.stream_open("/models/resnet/weights.bin") as f:
            n = 0
            while n < STREAM:
                got = f.readinto(memoryview(buf)[n:])
                assert got > 0, "short read"
                n += got
        assert hashlib.sha256(buf).digest() == hashlib.sha256(data).digest(), "stream differs"

        assert list(db.search("/models/")) == ["/models/resnet/config.json", "/models/resnet/weights.bin"]
        assert db.search_count("/textures/") == 1

        with db.transaction() as tx:
            tx["balance:a"] = b"50"
            tx["balance:b"] = b"150"
        assert db["balance:a"] == b"50" and db["balance:b"] == b"150"
        try:
            with db.transaction() as tx:
                tx["balance:a"] = b"0"
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        assert db["balance:a"] == b"50", "a raising transaction was not rolled back"
        assert db.check().ok

print("python smoke: ok")
