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
