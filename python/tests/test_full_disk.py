"""A full disk is recovered by deletes (the issue's report: a 24 MiB tmpfs filled by
16 KiB puts and a 512 KiB stream every 8th put; stream_delete then failed FullError
for good). Needs root to mount a tmpfs; skipped otherwise."""

import os
import subprocess

import pytest

import buffdb


@pytest.fixture
def tmpfs(tmp_path):
    d = tmp_path / "tmpfs"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(d)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield d
    subprocess.run(["umount", "-l", str(d)], check=True)


def value(i, n):
    return (i.to_bytes(4, "little") * (n // 4 + 1))[:n]


def test_fill_delete_write(tmpfs):
    path = str(tmpfs / "full.buffdb")
    with buffdb.open(path) as db:
        puts, streams = [], []
        with pytest.raises(buffdb.FullError):
            for i in range(100_000):
                if i % 8 == 7:
                    db.stream_write(f"/s/{i}", value(i, 512 << 10))
                    streams.append(i)
                else:
                    db.put(f"k{i}".encode(), value(i, 16 << 10))
                    puts.append(i)
        assert len(puts) > 16 and len(streams) > 2
        # Delete half: the first half of the streams and every even key.
        for i in streams[: len(streams) // 2]:
            assert db.stream_delete(f"/s/{i}")
        with db.transaction() as t:
            for i in puts[::2]:
                assert t.delete(f"k{i}".encode())
        # Write again, in a transaction too.
        with db.transaction() as t:
            for j in range(len(puts) // 6):
                t.put(f"again{j}".encode(), value(j, 16 << 10))
        db.stream_write("/again", value(7, 512 << 10))
        for i in puts[1::2]:
            assert db.get(f"k{i}".encode()) == value(i, 16 << 10)
        for i in streams[len(streams) // 2 :]:
            assert db.stream_read(f"/s/{i}") == value(i, 512 << 10)
        assert db.check().ok
    with buffdb.open(path) as db:
        assert db.stream_read("/again") == value(7, 512 << 10)
        assert db.get(b"again0") == value(0, 16 << 10)
        assert db.get(f"k{puts[0]}".encode()) is None
        assert db.check().ok
