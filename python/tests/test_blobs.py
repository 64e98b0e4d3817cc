import io

import pytest

import buffdb


def test_blob_roundtrip(small_db):
    db = small_db
    a = db.blob_put(b"hello", "greeting")
    b = db.blob_put(bytearray(b"x" * 10000))
    c = db.blob_put("text")  # str is UTF-8
    assert (a, b, c) == (1, 2, 3)
    assert db.blob_get(a) == b"hello"
    assert db.blob_get(b) == b"x" * 10000
    assert db.blob_get(c) == b"text"
    assert db.blob_get(999) is None
    assert db.blob_metadata(a) == "greeting"
    assert db.blob_metadata(b) is None
    with pytest.raises(buffdb.NotFoundError):
        db.blob_metadata(999)
    info = db.blob_info(b)
    assert isinstance(info, buffdb.BlobInfo)
    assert (info.id, info.size, info.metadata, info.chunk_count) == (b, 10000, None, 3)
    assert info.to_dict()["size"] == 10000
    assert db.blob_info(999) is None
    assert db.blob_ids() == [1, 2, 3]
    assert db.blob_ids(start_after=1, limit=1) == [2]


def test_blob_update(db):
    a = db.blob_put(b"one", "m1")
    db.blob_update(a, b"two")
    assert db.blob_get(a) == b"two" and db.blob_metadata(a) == "m1"
    db.blob_update(a, metadata="m2")
    assert db.blob_get(a) == b"two" and db.blob_metadata(a) == "m2"
    db.blob_update(a, metadata=None)
    assert db.blob_metadata(a) is None
    db.blob_update(a, b"three", "m3")
    assert db.blob_get(a) == b"three" and db.blob_metadata(a) == "m3"
    with pytest.raises(buffdb.NotFoundError):
        db.blob_update(999, b"x")


def test_blob_delete_ids_never_reused(db):
    a = db.blob_put(b"a")
    assert db.blob_delete(a) is True
    assert db.blob_delete(a) is False
    b = db.blob_put(b"b")
    assert b > a


def test_blob_eq(db):
    a, b, c = db.blob_put(b"same"), db.blob_put(b"same"), db.blob_put(b"other")
    assert db.blob_eq([a, b]) and not db.blob_eq([a, c])
    assert db.blob_not_eq([a, c]) and not db.blob_not_eq([a, b, c])
    with pytest.raises(buffdb.NotFoundError):
        db.blob_eq([a, 999])


def test_blob_put_from_file_object(small_db):
    data = bytes(range(256)) * 100
    a = small_db.blob_put(io.BytesIO(data), "from file")
    assert small_db.blob_get(a) == data
    assert small_db.blob_metadata(a) == "from file"


def test_blob_open_reader(small_db):
    data = b"0123456789" * 1000
    a = small_db.blob_put(data)
    with small_db.blob_open(a) as f:
        assert isinstance(f, buffdb.Reader) and isinstance(f, io.RawIOBase)
        assert f.size == len(data)
        assert f.info is None and f.name is None
        assert f.read(5) == b"01234"
        f.seek(-3, io.SEEK_END)
        assert f.read() == b"789"
    assert f.closed
    with pytest.raises(buffdb.NotFoundError):
        small_db.blob_open(999)


def test_large_blob(db):
    data = b"\xab" * (8 << 20)
    a = db.blob_put(data)
    assert db.blob_get(a) == data
