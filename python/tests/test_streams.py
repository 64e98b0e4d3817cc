import io
import zlib

import pytest

import buffdb


def test_write_read_stat(small_db):
    db = small_db
    data = bytes(range(256)) * 64  # 16 KiB = 4 chunks
    info = db.stream_write("/docs/a.bin", data)
    assert isinstance(info, buffdb.StreamInfo)
    assert (info.path, info.version, info.size, info.chunk_count) == ("/docs/a.bin", 1, len(data), 4)
    assert info.crc32 == zlib.crc32(data)
    assert info.chunk_size == 4096
    assert info.created_ms > 0
    assert db.stream_read("/docs/a.bin") == data
    assert db.stream_stat("/docs/a.bin") == info
    assert db.stream_exists("/docs/a.bin") and not db.stream_exists("/nope")
    assert db.stream_read_range("/docs/a.bin", 4090, 10) == data[4090:4100]
    assert db.stream_read_range("/docs/a.bin", len(data) - 2, 100) == data[-2:]
    assert db.stream_read_range("/docs/a.bin", 10**9, 10) == b""
    d = info.to_dict()
    assert d["crc32"] == info.crc32 and d["path"] == "/docs/a.bin"
    assert "StreamInfo(" in repr(info)


def test_versions(small_db):
    db = small_db
    db.stream_write("/v", b"one")
    db.stream_write("/v", b"two")
    db.stream_write("/v", b"three")
    vs = db.stream_versions("/v")
    assert [v.version for v in vs] == [2, 3]
    with db.stream_open("/v", 2) as f:
        assert f.read() == b"two"
        assert f.info.version == 2
    with pytest.raises(buffdb.NotFoundError):
        db.stream_open("/v", 1)
    assert db.stream_versions("/none") == []
    assert db.stream_delete("/v") is True
    assert db.stream_delete("/v") is False
    with pytest.raises(buffdb.NotFoundError):
        db.stream_read("/v")


def test_write_from_file_objects(small_db, tmp_path):
    db = small_db
    data = bytes(range(256)) * 1000
    assert db.stream_write("/f/bytesio", io.BytesIO(data)).size == len(data)
    assert db.stream_read("/f/bytesio") == data
    p = tmp_path / "src.bin"
    p.write_bytes(data)
    with open(p, "rb") as f:
        assert db.stream_write("/f/file", f).crc32 == zlib.crc32(data)
    with open(p, "rb", buffering=0) as f:  # raw FileIO
        db.stream_write("/f/raw", f)
    assert db.stream_read("/f/raw") == data

    class ReadOnly:  # only read(), no readinto()
        def __init__(self, b):
            self.b = io.BytesIO(b)

        def read(self, n=-1):
            return self.b.read(min(n, 1000))

    db.stream_write("/f/readonly", ReadOnly(data))
    assert db.stream_read("/f/readonly") == data
    with pytest.raises(TypeError, match="binary mode"):  # a text file's str is not its bytes
        db.stream_write("/f/text", io.StringIO("héllo"))
    assert not db.stream_exists("/f/text")


def test_write_from_failing_file_keeps_old_version(small_db):
    db = small_db
    db.stream_write("/f", b"old")

    class Boom(io.RawIOBase):
        def __init__(self):
            self.n = 0

        def readable(self):
            return True

        def readinto(self, b):
            self.n += 1
            if self.n > 3:
                raise RuntimeError("disk on fire")
            b[:100] = b"x" * 100
            return 100

    with pytest.raises(RuntimeError, match="disk on fire"):
        db.stream_write("/f", Boom())
    assert db.stream_read("/f") == b"old"
    assert [v.version for v in db.stream_versions("/f")] == [1]


def test_compression_override(db):
    text = b"all work and no play " * 50000
    info = db.stream_write("/c/on", text, compression=True)
    assert info.stored_size < info.size
    assert db.stream_read("/c/on") == text
    off = db.stream_write("/c/off", text, compression=False)
    assert off.stored_size >= off.size
    info2 = db.stream_write("/c/file", io.BytesIO(text), compression=True)
    assert info2.stored_size < info2.size and db.stream_read("/c/file") == text
    with db.stream_writer("/c/w", compression=True) as w:
        w.write(text)
    assert w.info.stored_size < w.info.size


def test_stream_writer_commit(small_db):
    db = small_db
    with db.stream_writer("/w/a") as w:
        assert isinstance(w, buffdb.StreamWriter) and isinstance(w, io.RawIOBase)
        assert w.writable() and not w.readable() and not w.seekable()
        assert w.path == "/w/a"
        for i in range(10):
            assert w.write(bytes([i]) * 1000) == 1000
        assert w.write(memoryview(b"tail")) == 4
        assert w.written == 10004 and w.tell() == 10004
        assert not db.stream_exists("/w/a")  # nothing visible before commit
    assert w.closed
    assert w.info.size == 10004 and w.info.version == 1
    assert db.stream_read("/w/a")[-4:] == b"tail"
    w2 = db.stream_writer("/w/a")
    w2.write(b"v2")
    info = w2.commit()
    assert info.version == 2 and w2.closed
    with pytest.raises(buffdb.ClosedError):
        w2.write(b"more")
    with pytest.raises(buffdb.ClosedError):
        w2.commit()


def test_stream_writer_aborts_on_exception(db):
    db.stream_write("/w/b", b"previous")
    with pytest.raises(RuntimeError):
        with db.stream_writer("/w/b") as w:
            w.write(b"partial")
            raise RuntimeError("boom")
    assert w.closed and w.info is None
    assert db.stream_read("/w/b") == b"previous"
    w = db.stream_writer("/w/b")
    w.write(b"x")
    w.abort()
    w.abort()  # idempotent
    assert db.stream_read("/w/b") == b"previous"


def test_stream_writer_close_commits_gc_aborts(db):
    w = db.stream_writer("/w/c")
    w.write(b"closed")
    w.close()
    assert db.stream_read("/w/c") == b"closed"
    w = db.stream_writer("/w/d")
    w.write(b"dropped")
    del w
    import gc

    gc.collect()
    assert not db.stream_exists("/w/d")


def test_copyfileobj_into_writer(db):
    import shutil

    src = io.BytesIO(b"q" * 3_000_000)
    with db.stream_writer("/w/copy") as w:
        shutil.copyfileobj(src, w)
    assert db.stream_stat("/w/copy").size == 3_000_000


def test_empty_stream(db):
    info = db.stream_write("/empty", b"")
    assert (info.size, info.chunk_count, info.crc32) == (0, 0, 0)
    assert db.stream_read("/empty") == b""
    with db.stream_open("/empty") as f:
        assert f.read() == b"" and f.readinto(bytearray(10)) == 0


def test_search(db):
    for p in ["/textures/a.png", "/textures/b.png", "/tex", "/a/tex", "/textures/sub/c.png", "/z"]:
        db.stream_write(p, b"x")
    it = db.search("/tex")
    assert isinstance(it, buffdb.PathIterator) and iter(it) is it
    assert list(it) == ["/tex", "/textures/a.png", "/textures/b.png", "/textures/sub/c.png"]
    assert list(db.search("/textures/", start_after="/textures/a.png", limit=1)) == ["/textures/b.png"]
    assert list(db.search("/textures/", limit=2)) == ["/textures/a.png", "/textures/b.png"]
    assert db.search_count("/textures/") == 3
    assert db.search_count() == 6
    assert len(list(db.search())) == 6
    assert list(db.search("/nothing")) == []


def test_search_is_lazy(small_db):
    for i in range(2000):
        small_db.stream_write(f"/many/{i:05d}", b"")
    it = small_db.search("/many/")
    assert next(it) == "/many/00000"
    assert sum(1 for _ in it) == 1999


def test_large_buffer_inputs_are_read_in_place(db):
    import array

    ba = bytearray(b"\x01" * 300_000)
    db.put("big-bytearray", ba)
    ba.extend(b"!")  # no export left behind
    assert db["big-bytearray"] == b"\x01" * 300_000
    db.stream_write("/in/mv", memoryview(bytearray(b"\x02" * 200_000))[1000:])
    assert db.stream_read("/in/mv") == b"\x02" * 199_000
    a = array.array("d", [1.5] * 50_000)
    db.stream_write("/in/array", a)
    assert db.stream_read("/in/array") == a.tobytes()
    db.stream_write("/in/ro", memoryview(b"\x03" * 200_000))  # read-only: copied
    assert db.stream_read("/in/ro") == b"\x03" * 200_000
    strided = memoryview(bytearray(range(256)) * 1000)[::2]  # not contiguous: copied in order
    db.stream_write("/in/strided", strided)
    assert db.stream_read("/in/strided") == strided.tobytes()
    with db.stream_writer("/in/w") as w:
        assert w.write(bytearray(100_000)) == 100_000
        assert w.write(memoryview(bytearray(70_000))) == 70_000
    assert db.stream_stat("/in/w").size == 170_000


@pytest.mark.parametrize("in_txn", [False, True])
def test_stream_metadata_every_way_of_writing(small_db, in_txn):
    db = small_db
    big = bytes(range(256)) * 64  # 4 chunks
    tx = db.begin() if in_txn else None
    t = tx or db
    assert t.stream_write("/m/bytes", b"abc", metadata='{"kind": "doc"}').metadata == '{"kind": "doc"}'
    assert t.stream_write("/m/file", io.BytesIO(big), metadata="from a file").metadata == "from a file"
    assert t.stream_write("/m/comp", big, compression=True, metadata="zipped").metadata == "zipped"
    assert t.stream_write("/m/comp-file", io.BytesIO(big), compression=False, metadata="z2").metadata == "z2"
    with t.stream_writer("/m/writer", metadata="first") as w:
        w.write(big)
        w.set_metadata("last wins")
    assert w.info.metadata == "last wins"
    with t.stream_writer("/m/none") as w:
        w.write(b"x")
    assert w.info.metadata is None and t.stream_write("/m/plain", b"p").metadata is None
    if tx:
        tx.commit()
    for path, meta in [("/m/bytes", '{"kind": "doc"}'), ("/m/file", "from a file"), ("/m/comp", "zipped"),
                       ("/m/comp-file", "z2"), ("/m/writer", "last wins"), ("/m/none", None)]:
        info = db.stream_stat(path)
        assert info.metadata == meta and info.to_dict()["metadata"] == meta, path
    assert db.stream_read("/m/file") == big and db.stream_read("/m/comp") == big
    assert repr(db.stream_stat("/m/comp")).endswith(', metadata="zipped")')
    assert repr(db.stream_stat("/m/none")).endswith(", metadata=None)")


def test_stream_set_metadata_keeps_bytes_and_versions(small_db):
    db = small_db
    db.stream_write("/s", b"one", metadata="v1")
    db.stream_write("/s", b"two")
    info = db.stream_set_metadata("/s", "v2")
    assert (info.version, info.metadata) == (2, "v2")
    assert [v.metadata for v in db.stream_versions("/s")] == ["v1", "v2"]
    assert db.stream_read("/s") == b"two" and db.stream_stat("/s").crc32 == zlib.crc32(b"two")
    assert db.stream_set_metadata("/s", None).metadata is None
    with pytest.raises(buffdb.NotFoundError):
        db.stream_set_metadata("/missing", "m")
    tx = db.begin()
    tx.stream_set_metadata("/s", "rolled back")
    assert tx.stream_stat("/s").metadata == "rolled back"
    tx.rollback()
    assert db.stream_stat("/s").metadata is None


def test_stream_metadata_bad_input_changes_nothing(small_db):
    db = small_db
    db.stream_write("/s", b"one", metadata="keep")
    too_big = "x" * (buffdb.MAX_METADATA_SIZE + 1)
    calls = [
        (buffdb.TooLargeError, lambda: db.stream_write("/s", b"two", metadata=too_big)),
        (buffdb.TooLargeError, lambda: db.stream_write("/s", io.BytesIO(b"two"), metadata=too_big)),
        (buffdb.TooLargeError, lambda: db.stream_set_metadata("/s", too_big)),
        (buffdb.InvalidArgumentError, lambda: db.stream_set_metadata("/s", "nul\0")),
        (buffdb.InvalidArgumentError, lambda: db.stream_write("/s", b"two", metadata="\udcff")),
        (buffdb.InvalidArgumentError, lambda: db.stream_writer("/s", metadata="nul\0")),
        (TypeError, lambda: db.stream_write("/s", b"two", metadata=b"bytes")),
        (TypeError, lambda: db.stream_set_metadata("/s", 5)),
    ]
    for exc, call in calls:
        with pytest.raises(exc):
            call()
    with db.stream_writer("/s") as w:
        with pytest.raises(buffdb.TooLargeError):
            w.set_metadata(too_big)
        w.abort()
    with pytest.raises(buffdb.ClosedError):
        w.set_metadata("late")
    info = db.stream_stat("/s")
    assert (info.version, info.metadata) == (1, "keep") and db.stream_read("/s") == b"one"
