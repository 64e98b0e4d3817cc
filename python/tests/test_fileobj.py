"""Readers are io.RawIOBase file objects."""

import array
import hashlib
import io
import mmap
import shutil
import zlib

import pytest

import buffdb

MiB = 1 << 20


def pattern(n):
    block = bytes(range(256)) * 4096  # 1 MiB
    return (block * (n // len(block) + 1))[:n]


@pytest.fixture
def doc(small_db):
    data = pattern(100_003)
    small_db.stream_write("/doc", data)
    return small_db, data


def test_reader_basics(doc):
    db, data = doc
    f = db.stream_open("/doc")
    assert isinstance(f, io.RawIOBase) and isinstance(f, io.IOBase)
    assert f.readable() and f.seekable() and not f.writable()
    assert f.size == len(data) and f.name == "/doc"
    assert f.info.size == len(data) and f.info.version == 1
    assert f.tell() == 0
    assert f.read(10) == data[:10]
    assert f.tell() == 10
    assert f.read(0) == b""
    assert f.read(5000) == data[10:5010]  # crosses a chunk boundary
    assert f.read() == data[5010:]
    assert f.read() == b"" and f.read(10) == b""
    assert "buffdb.Reader" in repr(f)
    f.close()
    f.close()
    assert f.closed


def test_seek_tell(doc):
    db, data = doc
    with db.stream_open("/doc") as f:
        assert f.seek(4095) == 4095
        assert f.read(2) == data[4095:4097]
        assert f.seek(-10, io.SEEK_END) == len(data) - 10
        assert f.read() == data[-10:]
        assert f.seek(-20, io.SEEK_CUR) == len(data) - 20
        assert f.read(5) == data[-20:-15]
        assert f.seek(0) == 0
        assert f.read(3) == data[:3]
        assert f.seek(len(data) + 100) == len(data) + 100  # past the end is allowed
        assert f.read(10) == b""
        assert f.readinto(bytearray(10)) == 0
        with pytest.raises(ValueError):
            f.seek(-1)
        with pytest.raises(buffdb.InvalidArgumentError):
            f.seek(-1, io.SEEK_SET)
        with pytest.raises(buffdb.InvalidArgumentError):
            f.seek(0, 7)


def test_readinto_targets(doc):
    db, data = doc
    with db.stream_open("/doc") as f:
        b = bytearray(1000)
        assert f.readinto(b) == 1000 and b == data[:1000]
        m = memoryview(bytearray(5000))
        assert f.readinto(m) == 5000 and m.tobytes() == data[1000:6000]
        # a slice of a larger buffer: only that window is written
        big = bytearray(b"\xee" * 100)
        assert f.readinto(memoryview(big)[10:20]) == 10
        assert big[:10] == b"\xee" * 10 and big[10:20] == data[6000:6010] and big[20:] == b"\xee" * 80
        a = array.array("I", [0] * 4)  # 16 bytes, non-byte item type
        assert f.readinto(a) == 16 and a.tobytes() == data[6010:6026]
        mm = mmap.mmap(-1, 4096)
        assert f.readinto(mm) == 4096 and mm[:] == data[6026:10122]
        mm.close()
        assert f.readinto(bytearray()) == 0
        rest = bytearray(len(data))
        assert f.readinto(rest) == len(data) - 10122
        with pytest.raises(TypeError):
            f.readinto(b"read-only bytes")
        with pytest.raises(TypeError):
            f.readinto(memoryview(bytearray(100))[::2])  # not contiguous
        with pytest.raises(TypeError):
            f.readinto(123)


def test_readinto_leaves_no_buffer_export(doc):
    db, data = doc
    with db.stream_open("/doc") as f:
        b = bytearray(100)
        f.readinto(b)
        b.extend(b"ok")  # no export left behind after the call
        assert len(b) == 102


def test_read_at_and_chunks(doc):
    db, data = doc
    with db.stream_open("/doc") as f:
        assert f.read_at(4090, 20) == data[4090:4110]
        assert f.tell() == 0
        assert f.read_at(len(data) - 3, 100) == data[-3:]
        assert f.read_at(10**9, 5) == b""
        chunks = list(f.chunks())
        assert len(chunks) == f.info.chunk_count == 25
        assert b"".join(chunks) == data
        f.seek(4096 * 24)
        assert list(f.chunks()) == [data[4096 * 24:]]


def test_buffered_reader(doc):
    db, data = doc
    with io.BufferedReader(db.stream_open("/doc"), buffer_size=8192) as f:
        assert f.read(3) == data[:3]
        assert f.peek(1)[:1] == data[3:4]
        f.seek(50_000)
        assert f.read(100) == data[50_000:50_100]
        out = f.read()
        assert out == data[50_100:]
    lines_db = buffdb.open(":memory:")
    lines_db.stream_write("/lines", b"alpha\nbeta\ngamma\n")
    with io.BufferedReader(lines_db.stream_open("/lines")) as f:
        assert f.readlines() == [b"alpha\n", b"beta\n", b"gamma\n"]
    with io.TextIOWrapper(io.BufferedReader(lines_db.stream_open("/lines")), encoding="utf-8") as t:
        assert [line.strip() for line in t] == ["alpha", "beta", "gamma"]
    # RawIOBase gives readline/iteration even without buffering
    with lines_db.stream_open("/lines") as f:
        assert list(f) == [b"alpha\n", b"beta\n", b"gamma\n"]
    lines_db.close()


def test_closed_reader_raises(doc):
    db, _ = doc
    f = db.stream_open("/doc")
    f.close()
    for call in (lambda: f.read(1), lambda: f.readinto(bytearray(1)), lambda: f.seek(0), f.tell, f.readall):
        with pytest.raises(buffdb.ClosedError) as e:
            call()
        assert isinstance(e.value, ValueError)  # like any closed file


def test_reader_keeps_its_version(small_db):
    db = small_db
    db.stream_write("/ver", b"A" * 10000)
    with db.stream_open("/ver") as f:
        first = f.read(10)
        db.stream_write("/ver", b"B" * 10000)
        assert first + f.read() == b"A" * 10000


def test_copyfileobj_100mib(tmp_path):
    size = 100 * MiB
    data = pattern(size)
    with buffdb.open(str(tmp_path / "big.buffdb")) as db:
        info = db.stream_write("/big", data)
        assert info.crc32 == zlib.crc32(data)
        out = tmp_path / "out.bin"
        with db.stream_open("/big") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 4 * MiB)
        assert out.stat().st_size == size
        with open(out, "rb") as f:
            assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
        # and back in from a file object
        with open(out, "rb") as f:
            assert db.stream_write("/big2", f).crc32 == info.crc32
        # default copyfileobj buffer size, into a BytesIO
        sink = io.BytesIO()
        with db.stream_open("/big2") as src:
            shutil.copyfileobj(src, sink)
        assert sink.getbuffer().nbytes == size and zlib.crc32(sink.getbuffer()) == info.crc32
        # readinto in a loop into one reused buffer
        buf = bytearray(8 * MiB)
        crc, total = 0, 0
        with db.stream_open("/big") as src:
            while True:
                n = src.readinto(buf)
                if not n:
                    break
                crc = zlib.crc32(memoryview(buf)[:n], crc)
                total += n
        assert (total, crc) == (size, info.crc32)


def test_readinto_without_ctypes():
    """Interpreters without ctypes still get readinto (through one extra copy)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['ctypes'] = None\n"
        "import array, buffdb\n"
        "db = buffdb.open(':memory:'); db.stream_write('/a', b'hello world')\n"
        "f = db.stream_open('/a'); b = bytearray(5); assert f.readinto(b) == 5 and b == b'hello'\n"
        "a = array.array('I', [0, 0]); f.seek(0); assert f.readinto(a) == 8 and a.tobytes() == b'hello wo'\n"
        "db.put('k', bytearray(100000)); assert db['k'] == bytes(100000)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
