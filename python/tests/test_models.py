"""The model registry through `db.models` (the shared cases in tests/cases/pending/models.json
run the common part; here is what is Python's own: file objects in, file objects out,
dicts, transactions as context managers, argument types)."""

import hashlib
import io

import pytest

import buffdb


@pytest.fixture
def db(tmp_path):
    with buffdb.open(str(tmp_path / "m.buffdb"), chunk_size=4096) as d:
        yield d


def test_register_from_file_objects_and_range_read(db, tmp_path):
    weights = bytes(range(256)) * 1000
    path = tmp_path / "weights.bin"
    path.write_bytes(weights)
    with open(path, "rb") as f:
        rec = db.models.register("org/m", "1", {"weights.bin": f, "config.json": b'{"a": 1}'},
                                 framework="pytorch", parameters={"layers": "2"}, input_shape=[1, 3])
    assert isinstance(rec, dict)
    assert rec["framework"] == "pytorch" and rec["input_shape"] == [1, 3] and rec["parameters"] == {"layers": "2"}
    by_name = {f["name"]: f for f in rec["files"]}
    assert by_name["weights.bin"]["sha256"] == hashlib.sha256(weights).hexdigest()
    assert by_name["weights.bin"]["size"] == len(weights)
    assert by_name["weights.bin"]["path"] == "/models/org/m/1/weights.bin"
    assert db.models.get("org/m") == rec == db.models.latest("org/m")
    with db.models.open("org/m", "latest", "weights.bin") as f:
        assert isinstance(f, io.RawIOBase) and f.seekable()
        f.seek(100_000)
        assert f.read(10) == weights[100_000:100_010]
        assert io.BufferedReader(f).read() == weights[100_010:]
    # the stream carries its sha256 and size in its metadata
    meta = db.stream_stat("/models/org/m/1/weights.bin").metadata
    assert f'"sha256":"{hashlib.sha256(weights).hexdigest()}"' in meta


def test_a_failing_file_object_leaves_nothing(db):
    class Broken(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, b):
            raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        db.models.register("m", "1", {"a.bin": b"ok", "b.bin": Broken()})
    assert db.models.names() == []
    assert list(db.search("/models/")) == []


def test_aliases_in_transactions(db):
    db.models.register("m", "1", {"f": b"one"})
    db.models.register("m", "2", {"f": b"two"})
    db.models.set_alias("m", "prod", "1")
    with pytest.raises(RuntimeError):
        with db.transaction() as tx:
            tx.models.set_alias("m", "prod", "2")
            assert tx.models.get("m", "prod")["version"] == "2"
            raise RuntimeError("abort")
    assert db.models.aliases("m") == {"latest": "2", "prod": "1"}
    with db.transaction() as tx:
        tx.models.set_alias("m", "prod", "2")
        models = tx.models
    assert db.models.resolve("m", "prod") == "2"
    with pytest.raises(buffdb.ClosedError):
        models.get("m")
    assert [r["version"] for r in db.models.versions("m")] == ["1", "2"]
    assert db.models.delete("m", "2") is True
    assert db.models.aliases("m") == {"latest": "1"}
    with db.models.open("m", "latest", "f") as f:
        assert f.read() == b"one"


def test_bad_arguments(db):
    with pytest.raises(TypeError):
        db.models.register("m", "1", [b"not a mapping"])
    with pytest.raises(TypeError):
        db.models.register("m", "1", {"f": 12})
    with pytest.raises(TypeError):
        db.models.get(5, "1")
    with pytest.raises(buffdb.InvalidArgumentError):
        db.models.register("m", "1", framework=3)
    with pytest.raises(buffdb.InvalidArgumentError):
        db.models.register("m/../x", "1")
    with pytest.raises(buffdb.NotFoundError):
        db.models.get("m")
    with pytest.raises(buffdb.ConflictError):
        db.models.register("m", "1")
        db.models.register("m", "1")
    assert db.models.names() == ["m"]
    db.close()
    with pytest.raises(buffdb.ClosedError):
        db.models.names()
