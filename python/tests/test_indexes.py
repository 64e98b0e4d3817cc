"""Secondary indexes through the Python API: create/drop/list, find and find_range
(lazy, paged, both ways), on a database and in a transaction, and bad input."""

import json

import pytest

import buffdb


def users(t, n=50):
    t.put_many({f"user:{i:03}": json.dumps({"email": f"u{i}@x", "age": i % 10, "score": i / 4}) for i in range(n)})


def test_create_find_and_list(db):
    users(db)
    db["user:bad"] = b"not json"
    db["other:1"] = json.dumps({"email": "o@x", "age": 3})
    info = db.create_index("by_email", "kv", "$.email", unique=True, key_prefix="user:")
    assert isinstance(info, buffdb.IndexInfo)
    assert (info.name, info.source, info.json_path, info.unique, info.key_prefix, info.entries, info.ready) == (
        "by_email", "kv", "$.email", True, b"user:", 50, True)
    assert info.to_dict()["key_prefix"] == b"user:" and "IndexInfo(name=\"by_email\"" in repr(info)
    db.create_index("by_age", "kv", "$.age")
    it = db.find("by_email", "u7@x")
    assert isinstance(it, buffdb.IndexIterator) and iter(it) is it
    assert list(it) == [b"user:007"]
    assert list(db.find("by_email", "o@x")) == []  # outside the prefix
    assert list(db.find("by_age", 3)) == [b"other:1"] + [f"user:{i:03}".encode() for i in range(3, 50, 10)]
    assert list(db.find("by_age", 3.0)) == list(db.find("by_age", 3))  # numbers compare numerically
    assert [i.name for i in db.list_indexes()] == ["by_age", "by_email"]
    assert [i.entries for i in db.list_indexes()] == [51, 50]


def test_find_range_order_paging_and_types(db):
    users(db, 40)
    db.create_index("by_score", "kv", "$.score")
    rows = list(db.find_range("by_score", 2, 3))
    assert [v for v, _ in rows] == [2, 2.25, 2.5, 2.75, 3]
    assert all(isinstance(k, bytes) for _, k in rows)
    assert isinstance(rows[0][0], int) and isinstance(rows[1][0], float)
    assert list(db.find_range("by_score", 2, 3, reverse=True)) == rows[::-1]
    # Paging: start after the last pair of the page before, in both directions.
    pages, after = [], None
    while True:
        page = list(db.find_range("by_score", limit=7, start_after=after))
        if not page:
            break
        pages.append(page)
        after = page[-1]
    assert [len(p) for p in pages] == [7, 7, 7, 7, 7, 5]
    assert sum(pages, []) == list(db.find_range("by_score"))
    back = list(db.find_range("by_score", reverse=True, start_after=pages[1][0]))
    assert back == sum(pages, [])[:7][::-1]
    # JSON types order: null, false, true, numbers, strings.
    for k, v in [("t:n", None), ("t:f", False), ("t:t", True), ("t:1", 1), ("t:s", "a")]:
        db[k] = json.dumps({"v": v})
    db.create_index("by_v", "kv", "$.v", key_prefix=b"t:")
    assert list(db.find_range("by_v")) == [(None, b"t:n"), (False, b"t:f"), (True, b"t:t"), (1, b"t:1"), ("a", b"t:s")]
    assert list(db.find("by_v", None)) == [b"t:n"] and list(db.find("by_v", False)) == [b"t:f"]


def test_blob_and_stream_records(db):
    a = db.blob_put(b"a", json.dumps({"model": "resnet"}))
    db.blob_put(b"b", json.dumps({"model": "bert"}))
    db.create_index("blob_model", "blob", "$.model")
    assert list(db.find("blob_model", "resnet")) == [a]
    assert list(db.find_range("blob_model")) == [("bert", a + 1), ("resnet", a)]
    assert list(db.find_range("blob_model", start_after=("bert", a + 1))) == [("resnet", a)]
    db.stream_write("/assets/a.png", b"1", metadata=json.dumps({"kind": "texture"}))
    db.create_index("asset_kind", "stream", "$.kind", key_prefix="/assets/")
    assert list(db.find("asset_kind", "texture")) == ["/assets/a.png"]
    db.stream_set_metadata("/assets/a.png", json.dumps({"kind": "sound"}))
    assert list(db.find_range("asset_kind")) == [("sound", "/assets/a.png")]


@pytest.mark.parametrize("commit", [True, False])
def test_in_a_transaction(db, commit):
    users(db, 10)
    db.create_index("by_email", "kv", "$.email", unique=True)
    tx = db.begin()
    tx.create_index("by_age", "kv", "$.age")
    tx["user:100"] = json.dumps({"email": "tx@x", "age": 1})
    assert list(tx.find("by_email", "tx@x")) == [b"user:100"]
    assert list(tx.find("by_age", 1)) == [b"user:001", b"user:100"]
    assert [i.name for i in tx.list_indexes()] == ["by_age", "by_email"]
    with pytest.raises(buffdb.ConflictError):
        tx["user:101"] = json.dumps({"email": "tx@x"})
    assert "user:101" not in tx
    it = tx.find_range("by_email")
    assert next(it) == ("tx@x", b"user:100")  # its first page fetched
    (tx.commit if commit else tx.rollback)()
    with pytest.raises(buffdb.ClosedError):
        next(it)
    assert list(db.find("by_email", "tx@x")) == ([b"user:100"] if commit else [])
    assert [i.name for i in db.list_indexes()] == (["by_age", "by_email"] if commit else ["by_email"])


def test_unique_conflict_changes_nothing(db):
    db["a"] = json.dumps({"e": 1})
    db.create_index("by_e", "kv", "$.e", unique=True)
    with pytest.raises(buffdb.ConflictError) as info:
        db.put_many({"b": json.dumps({"e": 2}), "c": json.dumps({"e": 1})})
    assert info.value.code == "CONFLICT"
    assert "b" not in db and list(db.find_range("by_e")) == [(1, b"a")]
    db["d"] = json.dumps({"e": 1.5})
    with pytest.raises(buffdb.ConflictError):
        db.update(d=json.dumps({"e": 1}))
    assert db["d"] == b'{"e": 1.5}'
    # A unique index over records that already repeat a value is refused whole.
    db["x"] = json.dumps({"f": 1})
    db["y"] = json.dumps({"f": 1})
    with pytest.raises(buffdb.ConflictError):
        db.create_index("by_f", "kv", "$.f", unique=True)
    assert [i.name for i in db.list_indexes()] == ["by_e"]


def test_drop_and_reopen(dbpath):
    with buffdb.open(dbpath) as db:
        db["k"] = json.dumps({"v": "x"})
        db.create_index("by_v", "kv", "$.v")
    with buffdb.open(dbpath) as db:
        assert list(db.find("by_v", "x")) == [b"k"]
        assert db.drop_index("by_v") is True and db.drop_index("by_v") is False
        with pytest.raises(buffdb.NotFoundError):
            db.find("by_v", "x")
        with pytest.raises(buffdb.NotFoundError):
            db.find_range("by_v")
    with buffdb.open(dbpath, read_only=True) as ro:
        assert ro.list_indexes() == []
        with pytest.raises(buffdb.ReadOnlyError):
            ro.create_index("x", "kv", "$.a")


def test_bad_input_is_refused_and_changes_nothing(db):
    db["k"] = json.dumps({"a": 1})
    db.create_index("by_a", "kv", "$.a")
    invalid = [
        lambda: db.create_index("x", "table", "$.a"),
        lambda: db.create_index("x", "kv", "a.b"),
        lambda: db.create_index("x", "kv", "$[*]"),
        lambda: db.create_index("1abc", "kv", "$.a"),
        lambda: db.create_index("a-b", "kv", "$.a"),
        lambda: db.create_index("", "kv", "$.a"),
        lambda: db.create_index("n" * 129, "kv", "$.a"),
        lambda: db.create_index("x", "blob", "$.a", key_prefix="p"),
        lambda: db.find("by_a", [1]),
        lambda: db.find("by_a", {"a": 1}),
        lambda: db.find("by_a", float("nan")),
        lambda: db.find_range("by_a", low=float("inf")),
        lambda: db.find("bad name", 1),
        lambda: db.find_range("by_a", limit=-1),
        lambda: db.find("by_a", "\udcff"),
    ]
    for call in invalid:
        with pytest.raises(buffdb.InvalidArgumentError):
            call()
    with pytest.raises(buffdb.ConflictError):
        db.create_index("by_a", "kv", "$.b")
    with pytest.raises(buffdb.NotFoundError):
        db.find("nope", 1)
    wrong_type = [
        lambda: db.create_index(1, "kv", "$.a"),
        lambda: db.create_index("x", b"kv", "$.a"),
        lambda: db.create_index("x", "kv", "$.a", key_prefix=3),
        lambda: db.find("by_a", object()),
        lambda: db.find("by_a", b"bytes"),
        lambda: db.find_range("by_a", start_after=(1,)),
        lambda: db.find_range("by_a", start_after=(1, 2.5)),
        lambda: db.find_range("by_a", start_after="k"),
        lambda: db.drop_index(None),
    ]
    for call in wrong_type:
        with pytest.raises(TypeError):
            call()
    (info,) = db.list_indexes()
    assert (info.name, info.json_path, info.entries) == ("by_a", "$.a", 1)


def test_closed(db):
    db.create_index("by_a", "kv", "$.a")
    db.close()
    for call in (lambda: db.find("by_a", 1), lambda: db.list_indexes(), lambda: db.create_index("b", "kv", "$.b")):
        with pytest.raises(buffdb.ClosedError):
            call()
