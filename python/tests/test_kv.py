import array

import pytest

import buffdb


def test_open_close_context_manager(dbpath):
    with buffdb.open(dbpath) as db:
        assert isinstance(db, buffdb.Db)
        assert not db.closed
        assert db.path == dbpath
        db.put(b"k", b"v")
    assert db.closed
    db.close()  # idempotent
    with buffdb.Db(dbpath) as db2:
        assert db2[b"k"] == b"v"


def test_memory_db():
    with buffdb.open(":memory:") as db:
        db["a"] = "1"
        assert db["a"] == b"1"


def test_pathlike(tmp_path):
    with buffdb.open(tmp_path / "p.db") as db:
        db["x"] = b"y"
    with buffdb.open(tmp_path / "p.db", create=False) as db:
        assert db["x"] == b"y"


def test_options(dbpath):
    with buffdb.open(
        dbpath, durability="full", compression=True, verify_checksums=False, chunk_size=8192,
        versions_to_keep=3, cache_size=1 << 20, max_document_size=1 << 30, busy_timeout_ms=100,
        page_size=65536,
    ) as db:
        o = db.options
        assert o["durability"] == "full"
        assert o["compression"] is True
        assert o["verify_checksums"] is False
        assert o["chunk_size"] == 8192
        assert o["versions_to_keep"] == 3
        assert o["busy_timeout_ms"] == 100
        assert o["page_size"] == 65536
        assert db.stats().page_size == 65536
        assert o["read_only"] is False
    with pytest.raises(TypeError):
        buffdb.open(dbpath, no_such_option=1)
    with pytest.raises(buffdb.InvalidArgumentError):
        buffdb.open(dbpath + "-2", page_size=5000)


def test_get_put_delete_contains(db):
    assert db.get(b"missing") is None
    assert db.get(b"missing", b"dflt") == b"dflt"
    assert db.get("missing", 7) == 7
    db.put(b"a", b"1")
    db.put("b", "2")  # str key and value are UTF-8
    assert db.get("a") == b"1"
    assert db.get(b"b") == b"2"
    assert db.contains("a") and not db.contains("zz")
    assert db.delete("a") is True
    assert db.delete("a") is False
    assert db.get("a") is None


def test_mapping_protocol(db):
    db["k1"] = b"v1"
    db[b"k2"] = bytearray(b"v2")
    db["k3"] = memoryview(b"v3")
    db["k4"] = array.array("B", [65, 66])
    assert db["k1"] == b"v1" and db["k2"] == b"v2" and db["k3"] == b"v3" and db["k4"] == b"AB"
    assert "k1" in db and b"k1" in db and "nope" not in db
    assert len(db) == 4
    assert list(db) == [b"k1", b"k2", b"k3", b"k4"]
    del db["k1"]
    assert "k1" not in db
    with pytest.raises(KeyError):
        db["k1"]
    with pytest.raises(buffdb.NotFoundError) as e:
        del db["k1"]
    assert e.value.code == "NOT_FOUND"
    assert bool(db) is True


def test_unicode_and_binary_keys(db):
    db["ключ"] = "значение"
    assert db["ключ".encode()] == "значение".encode()
    db[b"\x00\xff"] = b"\x00"
    assert db[b"\x00\xff"] == b"\x00"
    assert db.get(bytearray(b"\x00\xff")) == b"\x00"


def test_empty_value(db):
    db["e"] = b""
    assert db["e"] == b""
    assert db.get("e", None) == b""


def test_get_many_put_many(db):
    db.put_many([("a", b"1"), (b"b", "2"), ["c", b"3"]])
    db.put_many({"d": b"4", b"e": b"5"})
    assert db.get_many(["a", b"b", "c", "d", "e", "zz"]) == [b"1", b"2", b"3", b"4", b"5", None]
    assert db.get_many(k for k in ["a"]) == [b"1"]
    assert db.get_many([]) == []
    db.put_many([])


def test_put_many_atomic(db):
    with pytest.raises(buffdb.InvalidArgumentError):
        db.put_many([("ok", b"1"), ("", b"2")])
    assert "ok" not in db


def test_eq_not_eq(db):
    db.put_many([("a", b"x"), ("b", b"x"), ("c", b"y")])
    assert db.eq(["a", "b"]) is True
    assert db.eq(["a", "c"]) is False
    assert db.not_eq(["a", "c"]) is True
    assert db.not_eq(["a", "b", "c"]) is False
    with pytest.raises(buffdb.NotFoundError):
        db.eq(["a", "missing"])
    with pytest.raises(buffdb.NotFoundError):
        db.not_eq(["a", "missing"])


def test_scan_keys_count(db):
    for i in range(300):
        db.put(f"user:{i:04d}", f"v{i}")
    db.put("other", b"x")
    it = db.scan("user:")
    assert isinstance(it, buffdb.KvIterator)
    assert iter(it) is it
    rows = list(it)
    assert len(rows) == 300
    assert rows[0] == (b"user:0000", b"v0")
    assert rows[-1] == (b"user:0299", b"v299")
    assert [k for k, _ in rows] == sorted(k for k, _ in rows)
    assert list(db.scan("user:", start_after="user:0297")) == [(b"user:0298", b"v298"), (b"user:0299", b"v299")]
    assert len(list(db.scan("user:", limit=5))) == 5
    assert list(db.scan(b"user:", b"user:0100", 2)) == [(b"user:0101", b"v101"), (b"user:0102", b"v102")]
    assert list(db.scan("nothing")) == []
    keys = iter(db.keys("user:00", limit=3))
    assert isinstance(keys, buffdb.KeyIterator)
    assert list(keys) == [b"user:0000", b"user:0001", b"user:0002"]
    assert db.count("user:") == 300
    assert db.count() == 301
    assert db.count(b"") == 301
    assert len(list(db.keys())) == 301
    assert len(list(db.scan())) == 301


def test_scan_is_lazy(db):
    db.put_many([(f"k{i:06d}", b"v") for i in range(20000)])
    it = db.scan("k")
    assert next(it) == (b"k000000", b"v")
    # Writes while an iterator is open are fine (no long read transaction).
    db.put("k999999", b"late")
    n = 1 + sum(1 for _ in it)
    assert n in (20000, 20001)


def test_scan_limit_zero(db):
    db.put("a", b"1")
    assert list(db.scan("", limit=0)) == []


def test_stats_check_checkpoint(db):
    db.put("a", b"1")
    db.blob_put(b"blob")
    db.stream_write("/s", b"data")
    s = db.stats()
    assert isinstance(s, buffdb.Stats)
    assert (s.kv_count, s.blob_count, s.stream_count, s.version_count) == (1, 1, 1, 1)
    assert s.page_size > 0 and s.format_version >= 1
    db.checkpoint()
    r = db.check()
    assert isinstance(r, buffdb.CheckReport)
    assert r.ok and bool(r) and r.damaged_streams == [] and r.damaged_blobs == []
    assert r.chunks_checked >= 2
    assert "Stats(" in repr(s) and "CheckReport(" in repr(r)


def test_repr(db):
    assert "buffdb.Db" in repr(db)
    db.close()
    assert "closed" in repr(db)


def test_persistence(dbpath):
    with buffdb.open(dbpath) as db:
        db.put_many([(f"k{i}", f"v{i}") for i in range(100)])
    with buffdb.open(dbpath) as db:
        assert db.count() == 100
        assert db["k42"] == b"v42"


def test_read_only(dbpath):
    with buffdb.open(dbpath) as db:
        db["a"] = b"1"
    with buffdb.open(dbpath, read_only=True) as db:
        assert db["a"] == b"1"
        assert db.options["read_only"] is True
        with pytest.raises(buffdb.ReadOnlyError) as e:
            db["b"] = b"2"
        assert e.value.code == "READ_ONLY"
        with pytest.raises(buffdb.ReadOnlyError):
            db.delete("a")
        with pytest.raises(buffdb.ReadOnlyError):
            db.blob_put(b"x")
        with pytest.raises(buffdb.ReadOnlyError):
            db.stream_write("/x", b"x")
        with pytest.raises(buffdb.ReadOnlyError):
            with db.stream_writer("/x") as w:
                w.write(b"x")
        assert db["a"] == b"1"
