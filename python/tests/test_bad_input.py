"""Bad input that only Python can give: errors raised while a temporary handle is
released, text-mode file objects, and the kinds of database path Python has.
(The bad-input table shared by every language is tests/cases/bad_input.json.)"""

import faulthandler
import io
import os
import pathlib

import pytest

import buffdb


@pytest.fixture(autouse=True)
def no_hang():
    # A call that never returns must fail the run, not stall it.
    faulthandler.dump_traceback_later(120, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


# -- errors of calls on temporaries ---------------------------------------------------


def test_failing_call_on_a_temporary_db_raises_its_own_error(dbpath):
    # The Db is released while the error is being raised; the error must survive that.
    with pytest.raises(buffdb.InvalidArgumentError):
        buffdb.open(dbpath).get(b"")
    with pytest.raises(buffdb.TooLargeError):
        buffdb.open(dbpath).put(b"k" * (buffdb.MAX_KEY_SIZE + 1), b"v")
    with pytest.raises(buffdb.NotFoundError):
        buffdb.open(dbpath).stream_read("/missing")
    assert buffdb.open(dbpath).count() == 0


def test_failing_call_on_a_temporary_transaction_or_writer(db):
    with pytest.raises(buffdb.InvalidArgumentError):
        db.begin().put(b"", b"v")
    with pytest.raises(TypeError):
        db.stream_writer("/w").write(5)
    assert db.count() == 0 and not db.stream_exists("/w")


# -- file objects whose read() gives str ---------------------------------------------


class TextReader:
    """A file-like object without readinto whose read() gives str."""

    def __init__(self, text):
        self.f = io.StringIO(text)

    def read(self, n=-1):
        return self.f.read(n)


def text_sources(tmp_path):
    p = tmp_path / "text.txt"
    p.write_text("héllo wörld\n" * 5000, encoding="utf-8")
    yield "StringIO", io.StringIO("héllo wörld\n" * 5000)
    yield "read() -> str", TextReader("plain ascii " * 5000)
    with open(p, "r", encoding="utf-8") as f:
        yield "open(path, 'r')", f


def test_stream_write_from_a_text_file_is_a_type_error_and_changes_nothing(db, tmp_path):
    before = db.stream_write("/doc", b"old")
    for name, src in text_sources(tmp_path):
        with pytest.raises(TypeError, match="binary mode"):
            db.stream_write("/doc", src)
        assert db.stream_read("/doc") == b"old", name
        assert [i.version for i in db.stream_versions("/doc")] == [before.version], name
        with pytest.raises(TypeError, match="binary mode"):
            db.stream_write("/new", src)
        assert not db.stream_exists("/new"), name


def test_blob_put_from_a_text_file_is_a_type_error_and_changes_nothing(db, tmp_path):
    for name, src in text_sources(tmp_path):
        with pytest.raises(TypeError, match="binary mode"):
            db.blob_put(src)
        assert db.stats().blob_count == 0, name


def test_text_file_in_a_transaction_changes_nothing(db):
    with db.transaction() as tx:
        tx.put("k", b"v")
        with pytest.raises(TypeError):
            tx.stream_write("/doc", io.StringIO("text"))
    assert db.get("k") == b"v"
    assert not db.stream_exists("/doc")


def test_binary_file_objects_still_work(db, tmp_path):
    p = tmp_path / "data.bin"
    p.write_bytes(b"\x00\xffdata" * 1000)
    with open(p, "rb") as f:
        db.stream_write("/bin", f)
    assert db.stream_read("/bin") == p.read_bytes()
    db.stream_write("/bio", io.BytesIO(b"bytes"))
    assert db.stream_read("/bio") == b"bytes"


# -- database paths: str, bytes, os.PathLike; names that are not UTF-8 ---------------


# SQLite's and BuffDB's files beside a database.
SIDE_FILES = ("-wal", "-shm", "-lock")


class BytesPathLike:
    def __init__(self, p):
        self.p = p

    def __fspath__(self):
        return self.p


def test_path_kinds_open_the_same_file(tmp_path):
    name = tmp_path / "kinds.buffdb"
    with buffdb.open(str(name)) as db:
        db.put("k", b"1")
    for p in [name, os.fsencode(name), BytesPathLike(os.fsencode(name)), BytesPathLike(str(name))]:
        with buffdb.open(p) as db:
            assert db.get("k") == b"1", repr(p)
    assert [n for n in os.listdir(tmp_path) if not n.endswith(SIDE_FILES)] == ["kinds.buffdb"]


def test_non_utf8_name_is_opened_exactly(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.buffdb"  # Latin-1 "café": not UTF-8
    with buffdb.open(raw) as db:
        db.put("k", b"bytes")
    assert b"caf\xe9.buffdb" in os.listdir(os.fsencode(tmp_path))
    # The same name as str (surrogateescape, what os.listdir(str) gives) is the same file.
    as_str = os.fsdecode(raw)
    with buffdb.open(as_str) as db:
        assert db.get("k") == b"bytes"
    with buffdb.open(pathlib.Path(as_str)) as db:
        assert db.get("k") == b"bytes"
    # Nothing else appeared beside it (no lossy "caf\ufffd" twin).
    names = [n for n in os.listdir(os.fsencode(tmp_path)) if not n.endswith(tuple(map(os.fsencode, SIDE_FILES)))]
    assert names == [b"caf\xe9.buffdb"]


def test_path_that_no_file_name_holds_is_invalid(tmp_path):
    # A lone high surrogate is outside surrogateescape's range: os.fsencode cannot pass it.
    with pytest.raises(buffdb.InvalidArgumentError, match="path"):
        buffdb.open(str(tmp_path / "bad\ud800.db"))
    with pytest.raises(buffdb.InvalidArgumentError):
        buffdb.open(str(tmp_path / "nul\0.db"))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("bad", [5, 1.5, None, ["a.db"], object()])
def test_path_of_the_wrong_type_is_a_type_error(bad, tmp_path):
    with pytest.raises(TypeError, match="path must be str, bytes or os.PathLike"):
        buffdb.open(bad)
    assert os.listdir(tmp_path) == []


def test_stream_paths_stay_text(db):
    with pytest.raises(TypeError):
        db.stream_write(b"/bytes", b"x")
    with pytest.raises(buffdb.InvalidArgumentError):
        db.stream_write(os.fsdecode(b"/caf\xe9"), b"x")
    assert list(db.search("")) == []
