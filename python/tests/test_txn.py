import io

import pytest

import buffdb


def test_commit_on_success(db):
    db["balance"] = b"100"
    with db.transaction() as tx:
        assert isinstance(tx, buffdb.Transaction) and tx.active
        assert tx["balance"] == b"100"
        tx["balance"] = b"50"
        assert tx.get("balance") == b"50"  # own writes visible
        tx.put("other", "x")
        tx.put_many([("m1", b"1"), ("m2", b"2")])
        assert tx.contains("m1") and "m2" in tx
        assert tx.count("m") == 2 and len(tx) == 4
        assert list(tx.scan("m")) == [(b"m1", b"1"), (b"m2", b"2")]
        assert list(tx.scan("", start_after="m1", limit=1)) == [(b"m2", b"2")]
        bid = tx.blob_put(b"blob", "meta")
        assert tx.blob_get(bid) == b"blob" and tx.blob_metadata(bid) == "meta"
        tx.blob_update(bid, metadata="meta2")
        info = tx.stream_write("/t/doc", b"doc")
        assert info.version == 1
        assert tx.stream_read("/t/doc") == b"doc"
        assert tx.stream_stat("/t/doc").size == 3
        tx.stream_write("/t/file", io.BytesIO(b"from file"))
        assert tx.delete("other") is True
        del tx["m2"]
        with pytest.raises(KeyError):
            del tx["m2"]
        with pytest.raises(buffdb.NotFoundError):
            tx["m2"]
    assert not tx.active
    assert db["balance"] == b"50"
    assert "other" not in db and db["m1"] == b"1" and "m2" not in db
    assert db.blob_metadata(bid) == "meta2"
    assert db.stream_read("/t/doc") == b"doc" and db.stream_read("/t/file") == b"from file"


def test_rollback_on_exception(db):
    db["k"] = b"before"
    bid = db.blob_put(b"keep")
    with pytest.raises(RuntimeError):
        with db.transaction() as tx:
            tx["k"] = b"after"
            tx.blob_delete(bid)
            tx.blob_put(b"new")
            tx.stream_write("/t/x", b"x")
            tx.stream_delete("/nothing")
            raise RuntimeError("boom")
    assert not tx.active
    assert db["k"] == b"before"
    assert db.blob_get(bid) == b"keep"
    assert not db.stream_exists("/t/x")


def test_explicit_begin_commit_rollback(db):
    tx = db.begin()
    tx["a"] = b"1"
    tx.commit()
    assert db["a"] == b"1"
    tx2 = db.begin()
    tx2["a"] = b"2"
    tx2.rollback()
    assert db["a"] == b"1"
    for call in (tx2.commit, tx2.rollback, lambda: tx2.get("a"), lambda: tx2.put("a", b"x")):
        with pytest.raises(buffdb.ClosedError):
            call()
    assert "finished" in repr(tx2)


def test_commit_inside_with(db):
    with db.transaction() as tx:
        tx["a"] = b"1"
        tx.commit()
    assert db["a"] == b"1"


def test_txn_put_many_is_all_or_nothing(db):
    with pytest.raises(buffdb.InvalidArgumentError):
        with db.transaction() as tx:
            tx["good"] = b"1"
            tx.put_many([("ok", b"1"), ("", b"bad")])
    assert "good" not in db and "ok" not in db


def test_blob_put_file_in_txn(db):
    with db.transaction() as tx:
        bid = tx.blob_put(io.BytesIO(b"file data"))
    assert db.blob_get(bid) == b"file data"


def test_second_writer_gets_busy(dbpath):
    with buffdb.open(dbpath, busy_timeout_ms=50) as db:
        tx = db.begin()
        try:
            with pytest.raises(buffdb.BusyError) as e:
                db.begin()
            assert isinstance(e.value, TimeoutError) and e.value.code == "BUSY"
        finally:
            tx.rollback()
        db.begin().commit()


def test_reads_not_blocked_by_txn(db):
    db["a"] = b"1"
    with db.transaction() as tx:
        tx["a"] = b"2"
        assert db["a"] == b"1"  # other readers see the committed state
    assert db["a"] == b"2"


# -- one operation surface: everything a Db does, a Transaction does -------------

HANDLE_ONLY = {"close", "closed", "path", "options", "checkpoint", "stats", "check", "begin", "transaction"}


def test_every_db_operation_is_the_same_method_on_a_transaction():
    ops = {n for n in dir(buffdb.Db) if not n.startswith("_") and n not in HANDLE_ONLY}
    assert {"get_many", "keys", "blob_open", "stream_writer", "stream_open", "search", "query"} <= ops
    for name in sorted(ops):
        # One definition (inherited from Ops) serves both classes.
        assert getattr(buffdb.Transaction, name) is getattr(buffdb.Db, name), name
        assert getattr(buffdb.Ops, name) is getattr(buffdb.Db, name), name
    assert issubclass(buffdb.Db, buffdb.Ops) and issubclass(buffdb.Transaction, buffdb.Ops)
    with pytest.raises(TypeError):
        buffdb.Ops()


def fill(t, tag):
    """Written once, run on a Db and on a Transaction."""
    t.put_many([(f"k:{i:04}", f"{tag}{i}") for i in range(200)])
    bid = t.blob_put(b"b" * 20_000, tag)
    info = t.stream_write(f"/{tag}/doc", b"d" * 30_000)
    return bid, info


def test_the_same_code_runs_on_a_db_and_in_a_txn(small_db):
    db = small_db
    db_blob, db_info = fill(db, "db")
    with db.begin() as tx:
        assert isinstance(tx, buffdb.Ops) and tx  # truthy even before any write
        tx_blob, tx_info = fill(tx, "tx")
        assert tx_blob == db_blob + 1 and (db_info.version, tx_info.version) == (1, 1)
        # The transaction sees its writes; the database does not, until commit.
        assert tx.get("k:0007") == b"tx7" and db.get("k:0007") == b"db7"
        assert tx.get_many(["k:0001", "k:9999"]) == [b"tx1", None]
        assert tx.eq(["k:0001", "k:0001"]) and tx.not_eq(["k:0001", "k:0002"])
        assert tx.blob_info(tx_blob).size == 20_000 and db.blob_info(tx_blob) is None
        assert tx.blob_ids() == [db_blob, tx_blob] and db.blob_ids() == [db_blob]
        assert tx.blob_eq([db_blob, tx_blob]) and not tx.blob_not_eq([db_blob, tx_blob])
        assert tx.stream_exists("/tx/doc") and not db.stream_exists("/tx/doc")
        assert [i.version for i in tx.stream_versions("/tx/doc")] == [1]
        assert tx.stream_read_range("/tx/doc", 29_990, 100) == b"d" * 10
        assert tx.search_count("/") == 2 and db.search_count("/") == 1
        sql = "SELECT count(*) FROM kv WHERE value_text LIKE 'tx%'"
        assert list(tx.query(sql)) == [(200,)] and list(db.query(sql)) == [(0,)]
        with pytest.raises(buffdb.ReadOnlyError):
            tx.query("DELETE FROM kv")
    assert db.get("k:0007") == b"tx7" and db.blob_metadata(tx_blob) == "tx"
    assert list(db.search("/")) == ["/db/doc", "/tx/doc"]


def test_errors_in_a_transaction_are_the_databases_and_leave_it_usable(db):
    with db.begin() as tx:
        tx["a"] = b"1"
        with pytest.raises(buffdb.NotFoundError):
            tx.stream_read("/missing")
        with pytest.raises(buffdb.NotFoundError):
            tx.stream_open("/missing")
        with pytest.raises(buffdb.NotFoundError):
            tx.blob_open(99)
        with pytest.raises(buffdb.InvalidArgumentError):
            tx.stream_writer("no-slash\0")
        with pytest.raises(buffdb.InvalidArgumentError):
            tx.put("", b"x")
        with pytest.raises(TypeError):
            tx.get(5)
        assert tx.get_many(["a"]) == [b"1"]  # still usable
    assert db["a"] == b"1"


@pytest.mark.parametrize("commit", [True, False])
def test_lazy_iterators_read_the_transaction_and_raise_closed_after_it(small_db, commit):
    db = small_db
    db["k:old"] = b"committed"
    tx = db.begin()
    for i in range(300):
        tx.put(f"k:{i:04}", b"new")
        tx.stream_write(f"/p/{i:04}", b"x")
    tx.delete("k:old")
    scan, keys, paths, it = tx.scan("k:"), iter(tx.keys("k:")), tx.search("/p/"), iter(tx)
    assert next(scan) == (b"k:0000", b"new")
    assert next(keys) == b"k:0000" and next(it) == b"k:0000"
    assert next(paths) == "/p/0000"
    # A whole lazy walk in the transaction: every row it wrote, not the deleted one.
    assert len(list(tx.keys("k:"))) == 300 and len(tx) == 300
    assert len(list(tx.scan("k:", limit=250))) == 250
    (tx.commit if commit else tx.rollback)()
    for iterator in (scan, keys, paths, it):
        # Rows already fetched are not handed out either: CLOSED once, then the end.
        with pytest.raises(buffdb.ClosedError):
            next(iterator)
        assert list(iterator) == []
    for call in (lambda: tx.scan("k:"), lambda: tx.keys(), lambda: tx.search("/"), lambda: len(tx)):
        with pytest.raises(buffdb.ClosedError):
            call()
    assert len(list(db.keys("k:"))) == (300 if commit else 1)
    assert len(list(db.search("/p/"))) == (300 if commit else 0)
    assert ("k:old" in db) is not commit


@pytest.mark.parametrize("commit", [True, False])
def test_readers_read_the_transaction_and_raise_closed_after_it(small_db, commit):
    db = small_db
    old = bytes(range(256)) * 200
    db.stream_write("/s", old)
    tx = db.begin()
    new = bytes(reversed(range(256))) * 400
    tx.stream_write("/s", new)
    bid = tx.blob_put(b"blob data " * 7000)
    with pytest.raises(buffdb.NotFoundError):
        db.blob_open(bid)  # the database does not see it
    r = tx.stream_open("/s")
    assert isinstance(r, buffdb.Reader) and r.info.version == 2 and r.size == len(new)
    assert r.read(10_000) == new[:10_000]
    with tx.stream_open("/s", 1) as old_r:
        assert old_r.read() == old
    b = tx.blob_open(bid)
    assert b.read_at(0, 10) == b"blob data "
    buf = bytearray(5000)
    assert b.readinto(buf) == 5000 and bytes(buf) == (b"blob data " * 500)
    assert tx.blob_get(bid) == b"blob data " * 7000 and tx.stream_read("/s") == new
    with db.stream_open("/s") as outside:
        assert outside.read() == old  # other handles see the committed state
    (tx.commit if commit else tx.rollback)()
    for call in (lambda: r.read(10), lambda: r.read_at(0, 10), lambda: b.readinto(buf), lambda: list(b.chunks())):
        with pytest.raises(buffdb.ClosedError):
            call()
    r.close()
    b.close()
    assert db.stream_read("/s") == (new if commit else old)
    assert (db.blob_get(bid) is not None) is commit


@pytest.mark.parametrize("commit", [True, False])
def test_stream_writer_in_a_transaction(small_db, commit):
    db = small_db
    db.stream_write("/w", b"v1")
    tx = db.begin()
    with tx.stream_writer("/w") as w:
        assert isinstance(w, buffdb.StreamWriter) and w.path == "/w"
        for i in range(50):
            w.write(bytes([i]) * 1000)
    assert w.info.version == 2 and w.info.size == 50_000
    data = b"".join(bytes([i]) * 1000 for i in range(50))
    # Committed writer: visible in the transaction, not outside it yet.
    assert tx.stream_read("/w") == data and db.stream_read("/w") == b"v1"
    aborted = tx.stream_writer("/w")
    aborted.write(b"never")
    aborted.abort()
    assert tx.stream_stat("/w").version == 2
    w2 = tx.stream_writer("/z", compression=True)
    w2.write(b"z" * 10_000)
    (tx.commit if commit else tx.rollback)()
    # A writer still open when the transaction ends cannot go on.
    with pytest.raises(buffdb.ClosedError):
        w2.write(b"more")
    with pytest.raises(buffdb.ClosedError):
        w2.commit()
    assert db.stream_read("/w") == (data if commit else b"v1")
    assert not db.stream_exists("/z")
    with pytest.raises(buffdb.ClosedError):
        tx.stream_writer("/late")


def test_stream_write_from_file_objects_and_compression_in_a_transaction(small_db):
    db = small_db
    payload = b"abc" * 100_000
    with db.begin() as tx:
        tx.stream_write("/f", io.BytesIO(payload))
        tx.stream_write("/fc", io.BytesIO(payload), compression=True)
        tx.stream_write("/bc", payload, compression=True)
        bid = tx.blob_put(io.BytesIO(payload), "from file")
        assert tx.stream_stat("/fc").stored_size < len(payload) // 10
        assert tx.stream_read("/fc") == payload and tx.blob_get(bid) == payload
    for p in ("/f", "/fc", "/bc"):
        assert db.stream_read(p) == payload
    assert db.stream_stat("/bc").stored_size < len(payload) // 10
    assert db.blob_metadata(bid) == "from file"


def test_with_begin_semantics(db):
    # Success: commits; the value of `with` is the transaction; __exit__ never swallows.
    with db.begin() as t:
        assert isinstance(t, buffdb.Transaction) and t.active
        t["a"] = b"1"
    assert not t.active and db["a"] == b"1"
    with pytest.raises(ZeroDivisionError):
        with db.begin() as t:
            t["a"] = b"2"
            1 / 0
    assert not t.active and db["a"] == b"1"
    # Finished inside the block (either way): leaving it does nothing more.
    with db.begin() as t:
        t["b"] = b"1"
        t.rollback()
    assert "b" not in db
    assert t.__exit__(None, None, None) is False
    with pytest.raises(buffdb.ClosedError):
        t.commit()
    # A Db's `with` still closes it.
    with buffdb.open(":memory:") as mem:
        mem["x"] = b"y"
    assert mem.closed


def test_iterators_raise_closed_after_the_database_closes(dbpath):
    db = buffdb.open(dbpath)
    db.put_many([(f"k{i:03}", b"v") for i in range(100)])
    for i in range(100):
        db.stream_write(f"/p/{i:03}", b"x")
    scan, keys, paths = db.scan("k"), iter(db.keys("k")), db.search("/p/")
    assert next(scan) == (b"k000", b"v") and next(keys) == b"k000" and next(paths) == "/p/000"
    db.close()
    for iterator in (scan, keys, paths):
        with pytest.raises(buffdb.ClosedError):
            next(iterator)
        assert list(iterator) == []
