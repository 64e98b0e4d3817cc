"""Db and Transaction are collections.abc.MutableMapping (a read-only Db a Mapping),
with lazy keys/values/items views, and the mixin methods the interface promises."""

import collections.abc as abc
import shelve

import pytest

import buffdb


@pytest.fixture(params=["db", "txn"])
def m(request, db):
    """The mapping under test: the database, or a transaction on it (committed after)."""
    if request.param == "db":
        yield db
    else:
        with db.transaction() as tx:
            yield tx


def test_registered_as_abcs(db, dbpath):
    assert isinstance(db, abc.MutableMapping) and issubclass(buffdb.Db, abc.MutableMapping)
    with db.transaction() as tx:
        assert isinstance(tx, abc.MutableMapping)
    assert issubclass(buffdb.Transaction, abc.MutableMapping)
    ro = buffdb.open(dbpath, read_only=True)
    try:
        assert type(ro) is buffdb.ReadOnlyDb
        assert isinstance(ro, buffdb.Db) and isinstance(ro, abc.Mapping)
        assert not isinstance(ro, abc.MutableMapping)
        with pytest.raises(buffdb.ReadOnlyError):
            ro["k"] = b"v"
    finally:
        ro.close()
    mem = buffdb.Db(":memory:")
    assert type(mem) is buffdb.Db
    mem.close()


def test_views_are_abc_views_and_lazy(m):
    m.put_many([(f"k{i:05}", f"v{i}") for i in range(3000)])
    m["other"] = b"o"
    keys, values, items = m.keys(), m.values(), m.items()
    assert isinstance(keys, abc.KeysView) and isinstance(values, abc.ValuesView) and isinstance(items, abc.ItemsView)
    assert len(keys) == len(values) == len(items) == 3001
    assert "k00007" in keys and b"k00007" in keys and "nope" not in keys and 7 not in keys
    assert b"v7" in values and b"zzz" not in values
    assert ("k00007", b"v7") in items and (b"k00007", b"v8") not in items and ("k00007",) not in items
    # Iteration runs through the engine's paged iterators, not a list.
    it = iter(items)
    assert isinstance(it, buffdb.KvIterator) and next(it) == (b"k00000", b"v0")
    assert isinstance(iter(keys), buffdb.KeyIterator)
    assert list(values)[:2] == [b"v0", b"v1"]
    # A view shows the mapping as it is when asked.
    m["k99999"] = b"late"
    del m["other"]
    assert len(keys) == 3001 and "k99999" in keys and "other" not in keys
    assert list(keys)[-1] == b"k99999"
    # Set operations of KeysView/ItemsView.
    assert m.keys(prefix="k0000") & {b"k00001", b"x"} == {b"k00001"}
    assert {(b"k00002", b"v2")} <= m.items(prefix="k0000")


def test_narrowed_views(m):
    m.put_many([(f"a{i}", b"x") for i in range(10)] + [("b1", b"y")])
    k = m.keys("a", start_after="a3", limit=4)
    assert list(k) == [b"a4", b"a5", b"a6", b"a7"] and len(k) == 4
    assert "a4" in k and "a7" in k and "a8" not in k and "a3" not in k and "b1" not in k
    assert len(m.keys("a", limit=20)) == 10 and len(m.keys("a", limit=3)) == 3
    assert len(m.values("b")) == 1 and list(m.values("b")) == [b"y"]
    items = m.items(b"a", None, 2)
    assert list(items) == [(b"a0", b"x"), (b"a1", b"x")] and ("a2", b"x") not in items and ("a1", b"x") in items
    assert "KeysView(" in repr(k) and "start_after=b'a3'" in repr(k)
    with pytest.raises(TypeError):
        m.keys(limit="3")
    with pytest.raises(buffdb.InvalidArgumentError):
        m.items(limit=-1)


def test_mixin_methods(m):
    m.update({"a": b"1"}, b=b"2")
    m.update([("c", "3")])
    assert dict(m.items()) == {b"a": b"1", b"b": b"2", b"c": b"3"}
    assert m.pop("a") == b"1" and "a" not in m
    assert m.pop("a", None) is None and m.pop("a", b"d") == b"d"
    with pytest.raises(KeyError):
        m.pop("a")
    with pytest.raises(TypeError):
        m.pop("a", 1, 2)
    assert m.setdefault("b", b"zz") == b"2" and m["b"] == b"2"
    assert m.setdefault("n", b"new") == b"new" and m["n"] == b"new"
    assert m.setdefault("b") == b"2"
    with pytest.raises(TypeError):
        m.setdefault("missing")  # None cannot be stored
    assert "missing" not in m
    assert m.popitem() == (b"b", b"2")
    m.clear()
    assert len(m) == 0 and list(m.items()) == []
    with pytest.raises(KeyError):
        m.popitem()
    # Mapping.get and the view-based equality of a dict built from it.
    m["x"] = b"1"
    assert m.get("x") == b"1" and m.get("y") is None
    assert dict(m) == {b"x": b"1"}


def test_clear_leaves_blobs_and_streams_and_pages(db):
    db.put_many([(f"k{i:05}", b"v") for i in range(2500)])
    bid = db.blob_put(b"blob")
    db.stream_write("/s", b"stream")
    db.clear()
    assert len(db) == 0 and db.blob_get(bid) == b"blob" and db.stream_read("/s") == b"stream"


def test_mixins_roll_back_with_the_transaction(db):
    db.put_many({"a": b"1", "b": b"2"})
    tx = db.begin()
    tx.clear()
    tx.update(c=b"3")
    assert tx.pop("c") == b"3" and len(tx) == 0
    tx.rollback()
    assert dict(db.items()) == {b"a": b"1", b"b": b"2"}


def test_views_raise_closed_after_the_transaction(db):
    db["k"] = b"v"
    tx = db.begin()
    keys = tx.keys()
    tx.commit()
    for call in (lambda: len(keys), lambda: list(keys), lambda: tx.items(), lambda: tx.pop("k", None)):
        with pytest.raises(buffdb.ClosedError):
            call()
    db.close()
    with pytest.raises(buffdb.ClosedError):
        db.values()


def test_shelve_over_db_and_txn(db):
    with shelve.Shelf(db) as sh:
        sh["cfg"] = {"lr": 0.1, "layers": [1, 2]}
        assert "cfg" in sh and len(sh) == 1 and list(sh) == ["cfg"]
        assert sh["cfg"] == {"lr": 0.1, "layers": [1, 2]}
        del sh["cfg"]
        assert "cfg" not in sh
        sh["again"] = 1
    assert db.closed  # Shelf.close closes the mapping it was given
    with buffdb.open(db.path) as db2, db2.transaction() as tx:
        sh = shelve.Shelf(tx)
        assert sh["again"] == 1
        sh["t"] = (1, 2)
        sh.close()
    with buffdb.open(db.path) as db3:
        assert shelve.Shelf(db3)["t"] == (1, 2)
