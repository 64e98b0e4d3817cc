import pytest

import buffdb


def test_query_views_and_params(db):
    db.put_many({"cfg:a": b'{"level": 3}', "cfg:b": b'{"level": 7}', "x": b"\x00\x01"})
    bid = db.blob_put(b"12345", "five")
    db.stream_write("/q/doc", b"abc")
    r = db.query(
        "SELECT key_text, json_extract(value_text, '$.level') FROM kv WHERE key_text LIKE ? ORDER BY key",
        ["cfg:%"],
    )
    assert isinstance(r, buffdb.QueryResult)
    assert len(r) == 2 and r.rows == [("cfg:a", 3), ("cfg:b", 7)]
    assert list(r) == r.rows and r[0] == ("cfg:a", 3) and r[-1] == ("cfg:b", 7)
    assert len(r.columns) == 2
    assert "QueryResult(" in repr(r)
    assert db.query("SELECT id, metadata, size FROM blobs").rows == [(bid, "five", 5)]
    assert db.query("SELECT path, version, size FROM streams").rows == [("/q/doc", 1, 3)]
    assert db.query("SELECT value FROM kv WHERE key = ?", [b"x"]).rows == [(b"\x00\x01",)]
    assert db.query("SELECT value FROM kv WHERE key = ?", (bytearray(b"x"),)).rows == [(b"\x00\x01",)]


def test_query_value_types(db):
    r = db.query("SELECT ?, ?, ?, ?, ?, ?, ?", [None, 42, -2**63, 1.5, "text", b"\xff", True])
    assert r.rows == [(None, 42, -2**63, 1.5, "text", b"\xff", 1)]
    assert db.query("SELECT 1").rows == [(1,)]
    assert db.query("SELECT 1", None).rows == [(1,)]
    assert db.query("SELECT count(*) FROM kv").columns == ["count(*)"]


def test_query_many_rows(db):
    db.put_many([(f"k{i:05d}", b"v") for i in range(1000)])
    r = db.query("SELECT key FROM kv ORDER BY key")
    assert len(r) == 1000 and r[999] == (b"k00999",)


def test_query_unknown_table_is_invalid_argument(db):
    with pytest.raises(buffdb.InvalidArgumentError):
        db.query("SELECT * FROM no_such_table")


def test_query_errors(db):
    with pytest.raises(buffdb.Error):
        db.query("SELECT * FROM no_such_table")
    with pytest.raises(buffdb.InvalidArgumentError):
        db.query("SELECT ?", [])  # missing parameter
    with pytest.raises(buffdb.ReadOnlyError):
        db.query("UPDATE bdb_kv SET value = x'00'")
