"""Encrypted databases from Python: `buffdb.open(path, encryption_key=...)` with a str
passphrase or a 32-byte raw key; a wrong, missing or needless key is a clear error and
leaves the file as it was. (The shared cases run encrypted in test_shared_cases.py.)"""

import os

import pytest

import buffdb

pytestmark = pytest.mark.skipif(
    not buffdb.ENCRYPTION_AVAILABLE, reason="this build of buffdb has no encryption (cargo feature)"
)

RAW = bytes(range(32))


def files(path):
    """The bytes of the database file and its WAL (None when missing)."""
    out = []
    for p in (path, path + "-wal"):
        try:
            with open(p, "rb") as f:
                out.append(f.read())
        except FileNotFoundError:
            out.append(None)
    return out


def make(path, **options):
    with buffdb.open(path, **options) as db:
        db["greeting"] = b"hello, encrypted world"
        db.stream_write("/doc", b"stream text " * 1000)
    return files(path)


@pytest.mark.parametrize("key", ["correct horse", RAW, bytearray(RAW), memoryview(RAW)], ids=["str", "bytes", "bytearray", "memoryview"])
def test_a_key_opens_what_it_made(dbpath, key):
    before = make(dbpath, encryption_key=key)
    assert b"hello, encrypted world" not in before[0]
    assert not before[0].startswith(b"SQLite format 3")
    with buffdb.open(dbpath, encryption_key=key) as db:
        assert db["greeting"] == b"hello, encrypted world"
        assert db.stream_read("/doc") == b"stream text " * 1000
        assert db.check().ok
        assert "encryption_key" not in db.options


@pytest.mark.parametrize(
    "wrong",
    [None, "wrong horse", RAW, b"correct horse".ljust(32, b"\0")],
    ids=["missing", "wrong-passphrase", "raw-for-passphrase", "passphrase-bytes-as-raw"],
)
def test_a_wrong_or_missing_key_is_not_a_database_and_changes_nothing(dbpath, wrong):
    before = make(dbpath, encryption_key="correct horse")
    for read_only in (False, True):
        with pytest.raises(buffdb.NotADatabaseError, match="key"):
            buffdb.open(dbpath, encryption_key=wrong, read_only=read_only)
    assert files(dbpath) == before
    with buffdb.open(dbpath, encryption_key="correct horse") as db:
        assert db["greeting"] == b"hello, encrypted world"


def test_a_key_for_a_plaintext_file_is_refused_and_changes_nothing(dbpath):
    before = make(dbpath)
    with pytest.raises(buffdb.InvalidArgumentError, match="not encrypted"):
        buffdb.open(dbpath, encryption_key="correct horse")
    with pytest.raises(buffdb.InvalidArgumentError, match="not encrypted"):
        buffdb.open(dbpath, encryption_key=RAW)
    assert files(dbpath) == before
    with buffdb.open(dbpath) as db:
        assert db["greeting"] == b"hello, encrypted world"


@pytest.mark.parametrize("bad", ["", b"", RAW[:31], RAW + b"x", "a\0b"], ids=["empty-str", "empty-bytes", "31-bytes", "33-bytes", "nul"])
def test_bad_keys_are_invalid_arguments_and_make_no_file(tmp_path, bad):
    path = str(tmp_path / "new.buffdb")
    with pytest.raises(buffdb.InvalidArgumentError):
        buffdb.open(path, encryption_key=bad)
    assert not os.path.exists(path)


@pytest.mark.parametrize("bad", [32, 1.5, ["k"], object()])
def test_a_key_of_the_wrong_type_is_a_type_error(tmp_path, bad):
    path = str(tmp_path / "new.buffdb")
    with pytest.raises(TypeError, match="encryption_key"):
        buffdb.open(path, encryption_key=bad)
    assert not os.path.exists(path)


def test_a_lone_surrogate_passphrase_is_refused(tmp_path):
    with pytest.raises(buffdb.InvalidArgumentError):
        buffdb.open(str(tmp_path / "new.buffdb"), encryption_key="pass\udcff")


def test_transactions_and_read_only_handles_on_an_encrypted_database(dbpath):
    with buffdb.open(dbpath, encryption_key=RAW) as db:
        with db.transaction() as tx:
            tx["a"] = b"1"
            bid = tx.blob_put(b"blob bytes")
        assert db.blob_get(bid) == b"blob bytes"
    with buffdb.open(dbpath, encryption_key=RAW, read_only=True) as ro:
        assert ro["a"] == b"1"
        assert ro.blob_get(bid) == b"blob bytes"


def test_rekey_changes_the_key_and_a_wrong_key_changes_nothing(dbpath):
    before = make(dbpath, encryption_key="correct horse")
    with pytest.raises(buffdb.NotADatabaseError, match="key"):
        buffdb.rekey(dbpath, "wrong horse", RAW)
    assert files(dbpath) == before
    with pytest.raises(buffdb.InvalidArgumentError):
        buffdb.rekey(dbpath, "correct horse", None)
    report = buffdb.rekey(dbpath, "correct horse", RAW)
    assert isinstance(report, buffdb.CheckReport) and report.ok
    with pytest.raises(buffdb.NotADatabaseError, match="key"):
        buffdb.open(dbpath, encryption_key="correct horse")
    with buffdb.open(dbpath, encryption_key=RAW) as db:
        assert db["greeting"] == b"hello, encrypted world"
        # open elsewhere: BusyError, the key unchanged
        with pytest.raises(buffdb.BusyError):
            buffdb.rekey(dbpath, RAW, "correct horse")
    assert buffdb.rekey(dbpath, RAW, "correct horse").ok
    with buffdb.open(dbpath, encryption_key="correct horse") as db:
        assert db.stream_read("/doc") == b"stream text " * 1000
