import io
import pickle

import pytest

import buffdb
from buffdb._errors import _BY_NUMBER

ALL = [
    (buffdb.NotFoundError, "NOT_FOUND", 1, KeyError),
    (buffdb.InvalidArgumentError, "INVALID_ARGUMENT", 2, ValueError),
    (buffdb.TooLargeError, "TOO_LARGE", 3, ValueError),
    (buffdb.CorruptError, "CORRUPT", 4, None),
    (buffdb.NotADatabaseError, "NOT_A_DATABASE", 5, None),
    (buffdb.ReadOnlyError, "READ_ONLY", 6, None),
    (buffdb.BusyError, "BUSY", 7, TimeoutError),
    (buffdb.IoError, "IO", 8, OSError),
    (buffdb.FullError, "FULL", 9, OSError),
    (buffdb.ClosedError, "CLOSED", 10, ValueError),
    (buffdb.ConflictError, "CONFLICT", 11, None),
    (buffdb.InternalError, "INTERNAL", 12, None),
    (buffdb.BufferTooSmallError, "BUFFER_TOO_SMALL", 13, ValueError),
    (buffdb.QueryInterruptedError, "INTERRUPTED", 14, None),
]


@pytest.mark.parametrize("cls,code,number,builtin", ALL, ids=[a[1] for a in ALL])
def test_hierarchy(cls, code, number, builtin):
    assert issubclass(cls, buffdb.Error) and issubclass(cls, Exception)
    e = cls("something happened")
    assert e.code == code and cls.code == code
    assert e.number == number
    assert e.message == "something happened" and str(e) == "something happened"
    if builtin is not None:
        assert isinstance(e, builtin)
    assert _BY_NUMBER[number] is cls
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is cls and again.message == e.message


def test_every_engine_code_has_a_class():
    from buffdb._buffdb import ERROR_CODES

    assert len(ERROR_CODES) == len(ALL)


def test_missing_things(db):
    with pytest.raises(buffdb.NotFoundError) as e:
        db["missing"]
    assert isinstance(e.value, KeyError) and e.value.code == "NOT_FOUND" and "missing" in str(e.value)
    with pytest.raises(KeyError):
        del db["missing"]
    with pytest.raises(buffdb.NotFoundError):
        db.stream_read("/missing")
    with pytest.raises(buffdb.NotFoundError):
        db.stream_open("/missing")
    with pytest.raises(buffdb.NotFoundError):
        db.stream_stat("/missing")
    with pytest.raises(buffdb.NotFoundError):
        db.stream_read_range("/missing", 0, 1)
    with pytest.raises(buffdb.NotFoundError):
        db.blob_open(42)
    with pytest.raises(buffdb.NotFoundError):
        db.blob_update(42, b"x")
    with pytest.raises(buffdb.NotFoundError):
        db.blob_metadata(42)
    db.stream_write("/exists", b"x")
    with pytest.raises(buffdb.NotFoundError):
        db.stream_open("/exists", version=7)


def test_wrong_types(db):
    for bad_key in (1, 1.5, None, object(), ["a"]):
        with pytest.raises(TypeError):
            db.get(bad_key)
        with pytest.raises(TypeError):
            db.put(bad_key, b"v")
        with pytest.raises(TypeError):
            db[bad_key]
    for bad_value in (1, None, 2.0, object(), ["x"]):
        with pytest.raises(TypeError):
            db.put("k", bad_value)
    with pytest.raises(TypeError):
        db.get_many("abc")  # a single str is not a list of keys
    with pytest.raises(TypeError):
        db.get_many(5)
    with pytest.raises(TypeError):
        db.put_many([("a",)])
    with pytest.raises(TypeError):
        db.put_many([1, 2])
    with pytest.raises(TypeError):
        db.stream_write(b"/bytes-path", b"x")
    with pytest.raises(TypeError):
        db.stream_write(123, b"x")
    with pytest.raises(TypeError):
        db.stream_write("/p", 123)
    with pytest.raises(TypeError):
        db.stream_write("/p", None)
    with pytest.raises(TypeError):
        db.blob_put(object())
    with pytest.raises(TypeError):
        db.blob_put(b"x", metadata=5)
    with pytest.raises(TypeError):
        db.blob_get("1")
    with pytest.raises(TypeError):
        db.blob_get(1.0)
    with pytest.raises(TypeError):
        db.blob_eq("12")
    with pytest.raises(TypeError):
        db.search(b"/bytes")
    with pytest.raises(TypeError):
        db.scan(limit="5")
    with pytest.raises(TypeError):
        db.query(b"SELECT 1")
    with pytest.raises(TypeError):
        db.query("SELECT ?", [object()])
    with pytest.raises(TypeError):
        db.query("SELECT ?", "x")
    with pytest.raises(TypeError):
        buffdb.open(123)


def test_invalid_arguments(db):
    with pytest.raises(buffdb.InvalidArgumentError) as e:
        db.put("", b"v")
    assert isinstance(e.value, ValueError)
    with pytest.raises(buffdb.InvalidArgumentError):
        db.get(b"")
    with pytest.raises(buffdb.InvalidArgumentError):
        db.stream_write("", b"x")
    with pytest.raises(buffdb.InvalidArgumentError):
        db.stream_write("/nul\x00inside", b"x")
    with pytest.raises(buffdb.InvalidArgumentError):
        db.stream_write("/surrogate\udcff", b"x")
    with pytest.raises(buffdb.InvalidArgumentError):
        db.blob_get(-1)
    with pytest.raises(buffdb.InvalidArgumentError):
        db.blob_get(2**64)
    with pytest.raises(buffdb.InvalidArgumentError):
        db.blob_eq([1, -5])
    db.stream_write("/s", b"abc")
    with pytest.raises(buffdb.InvalidArgumentError):
        db.stream_read_range("/s", -1, 2)
    with pytest.raises(buffdb.InvalidArgumentError):
        db.stream_read_range("/s", 0, -2)
    with pytest.raises(buffdb.InvalidArgumentError):
        db.stream_open("/s", version=-1)
    with pytest.raises(buffdb.InvalidArgumentError):
        db.scan(limit=-1)
    with pytest.raises(buffdb.InvalidArgumentError):
        db.query("SELEKT nonsense")
    with pytest.raises(buffdb.InvalidArgumentError):
        db.query("SELECT ?", [2**70])
    with db.stream_open("/s") as f:
        with pytest.raises(buffdb.InvalidArgumentError):
            f.read_at(-1, 1)
        with pytest.raises(buffdb.InvalidArgumentError):
            f.seek(-5)


def test_invalid_options(dbpath):
    with pytest.raises(buffdb.InvalidArgumentError):
        buffdb.open(dbpath, durability="sometimes")
    with pytest.raises(buffdb.InvalidArgumentError):
        buffdb.open(dbpath, chunk_size=10)
    with pytest.raises(buffdb.InvalidArgumentError):
        buffdb.open(dbpath, chunk_size=1 << 40)
    with pytest.raises(buffdb.InvalidArgumentError):
        buffdb.open(dbpath, versions_to_keep=0)
    with pytest.raises(buffdb.InvalidArgumentError):
        buffdb.open(dbpath, chunk_size=-1)
    with pytest.raises(TypeError):
        buffdb.open(dbpath, durability=1)


def test_too_large(dbpath):
    with buffdb.open(dbpath, max_document_size=1000) as db:
        with pytest.raises(buffdb.TooLargeError) as e:
            db.put(b"k" * (buffdb.MAX_KEY_SIZE + 1), b"v")
        assert isinstance(e.value, ValueError)
        db.put(b"k" * buffdb.MAX_KEY_SIZE, b"v")
        with pytest.raises(buffdb.TooLargeError):
            db.put("k", b"\0" * (buffdb.MAX_VALUE_SIZE + 1))
        with pytest.raises(buffdb.TooLargeError):
            db.stream_write("/" + "p" * buffdb.MAX_PATH_SIZE, b"x")
        with pytest.raises(buffdb.TooLargeError):
            db.blob_put(b"x", "m" * (buffdb.MAX_METADATA_SIZE + 1))
        with pytest.raises(buffdb.TooLargeError):
            db.stream_write("/big", b"x" * 1001)
        with pytest.raises(buffdb.TooLargeError):
            db.stream_write("/big", io.BytesIO(b"x" * 5000))
        with pytest.raises(buffdb.TooLargeError):
            db.blob_put(b"x" * 1001)
        assert not db.stream_exists("/big")


def test_closed_db(dbpath):
    db = buffdb.open(dbpath)
    db["a"] = b"1"
    db.stream_write("/s", b"x")
    reader = db.stream_open("/s")
    it = db.scan("")
    db.close()
    assert db.closed
    calls = [
        lambda: db["a"], lambda: db.get("a"), lambda: db.put("a", b"1"), lambda: db.delete("a"),
        lambda: "a" in db, lambda: len(db), lambda: list(db), lambda: db.get_many(["a"]),
        lambda: db.put_many([]), lambda: db.count(), lambda: list(db.scan()),
        lambda: db.blob_put(b"x"), lambda: db.blob_get(1), lambda: db.blob_open(1),
        lambda: db.stream_write("/s", b"x"), lambda: db.stream_read("/s"),
        lambda: db.stream_open("/s"), lambda: db.stream_writer("/s"), lambda: db.stream_stat("/s"),
        lambda: list(db.search("/")), lambda: db.search_count("/"), lambda: db.begin(),
        lambda: db.transaction(), lambda: db.query("SELECT 1"), lambda: db.stats(), lambda: db.check(),
        lambda: db.checkpoint(),
    ]
    for call in calls:
        with pytest.raises(buffdb.ClosedError) as e:
            call()
        assert e.value.code == "CLOSED"
    db.close()
    # readers and iterators opened before close fail cleanly too (or finish), never crash
    for call in (lambda: reader.read(), lambda: list(it)):
        try:
            call()
        except buffdb.ClosedError:
            pass


def test_not_a_database(tmp_path):
    p = tmp_path / "notes.txt"
    content = b"just some text, definitely not SQLite\n" * 100
    p.write_bytes(content)
    with pytest.raises(buffdb.NotADatabaseError) as e:
        buffdb.open(str(p))
    assert e.value.code == "NOT_A_DATABASE"
    assert p.read_bytes() == content  # untouched
    import sqlite3

    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    with pytest.raises(buffdb.NotADatabaseError):
        buffdb.open(str(other))


def test_create_false(tmp_path):
    with pytest.raises(buffdb.Error) as e:
        buffdb.open(str(tmp_path / "nope.db"), create=False)
    assert e.value.code in ("NOT_FOUND", "IO")


def test_corrupt_chunk(tmp_path):
    import sqlite3

    path = str(tmp_path / "c.buffdb")
    payload = b"precious bytes " * 1000
    with buffdb.open(path, chunk_size=4096) as db:
        db.stream_write("/victim", payload)
        db.checkpoint()
    con = sqlite3.connect(path)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    flipped = False
    for t in tables:
        cols = [r[1] for r in con.execute(f"PRAGMA table_info({t})")]
        if "data" in cols and "chunk" in t:
            row = con.execute(f"SELECT rowid, data FROM {t} LIMIT 1").fetchone()
            data = bytearray(row[1])
            data[10] ^= 0xFF
            con.execute(f"UPDATE {t} SET data=? WHERE rowid=?", (bytes(data), row[0]))
            flipped = True
            break
    con.commit()
    con.close()
    if not flipped:
        pytest.skip(f"no chunk table found in {tables}")
    with buffdb.open(path) as db:
        with pytest.raises(buffdb.CorruptError):
            db.stream_read("/victim")
        with pytest.raises(buffdb.CorruptError):
            with db.stream_open("/victim") as f:
                f.read()
        report = db.check()
        assert not report.ok
        assert any(s.startswith("/victim") for s in report.damaged_streams), report
    with buffdb.open(path, verify_checksums=False) as db:
        assert len(db.stream_read("/victim")) == len(payload)


def test_read_only_sql(db):
    db["a"] = b"1"
    for sql in ("DELETE FROM bdb_kv", "INSERT INTO bdb_kv VALUES (x'01', x'02')", "DROP TABLE bdb_kv"):
        with pytest.raises(buffdb.ReadOnlyError):
            db.query(sql)
    assert db["a"] == b"1" and db.count() == 1


def test_read_only_sql_on_views(db):
    db["a"] = b"1"
    with pytest.raises(buffdb.ReadOnlyError):
        db.query("DELETE FROM kv")
    assert db["a"] == b"1"


def test_engine_message_format(db):
    with pytest.raises(buffdb.NotFoundError) as e:
        db.stream_read("/nope")
    assert "NOT_FOUND" not in str(e.value)  # the code is in .code, not in the message
    assert "/nope" in str(e.value)
    assert repr(e.value).startswith("NotFoundError(")
