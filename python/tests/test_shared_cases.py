"""Runs the shared JSON cases (tests/cases/*.json, see tests/cases/README.md) through
the Python API, exactly like the Rust, C and Node suites do, three ways like
tests/shared_cases.rs: on the database; with each run of database steps inside one
transaction, committed (the same results); and inside one transaction, rolled back
(nothing visible afterwards; the steps are then replayed on the database). Each way
runs on a plaintext database and on an encrypted one (every open of the case keyed)."""

import json
import os

import pytest

import buffdb

from conftest import CASES_DIR

# pending/: cases of operations not every binding has yet (tests/cases/pending/README.md);
# Python has them all (stream metadata, indexes).
CASE_FILES = sorted(CASES_DIR.glob("*.json")) + sorted(CASES_DIR.glob("pending/*.json"))


def test_cases_exist():
    assert CASE_FILES, f"no shared cases in {CASES_DIR}"


def to_bytes(v):
    if not isinstance(v, (str, dict)):
        return v  # a wrong-type argument (number, bool, list) goes to the API as it is
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, dict) and "hex" in v:
        return bytes.fromhex(v["hex"])
    if isinstance(v, dict) and "repeat" in v:
        return (v["repeat"] * v["times"]).encode()
    raise AssertionError(f"not bytes: {v!r}")


def opt_bytes(v):
    return None if v is None else to_bytes(v)


def key(v):
    # Plain JSON strings go in as str (exercising str keys), the rest as bytes.
    return v if isinstance(v, str) else to_bytes(v)


def to_path(v):
    """Text (paths, metadata) as str; bytes that are not UTF-8 become lone surrogates
    (surrogateescape), which the API must refuse with INVALID_ARGUMENT."""
    if isinstance(v, str) or v is None or not isinstance(v, dict):
        return v
    return to_bytes(v).decode("utf-8", "surrogateescape")


def num(v, variables):
    """An integer argument: a JSON number or {"int": "digits"} (past what JSON carries)."""
    v = resolve(v, variables)
    if isinstance(v, dict) and "int" in v:
        return int(v["int"])
    return v


def resolve(v, variables):
    if isinstance(v, str) and v.startswith("$"):
        return variables[v[1:]]
    return v


def resolve_all(v, variables):
    """`resolve`, also inside lists (a list of saved blob ids)."""
    if isinstance(v, list):
        return [resolve_all(x, variables) for x in v]
    return resolve(v, variables)


def matches(expect, actual):
    if isinstance(actual, (buffdb.StreamInfo, buffdb.IndexInfo)):
        return isinstance(expect, dict) and all(
            matches(v, getattr(actual, k)) for k, v in expect.items()
        )
    if isinstance(actual, dict):  # a model record: the listed fields
        return isinstance(expect, dict) and all(k in actual and matches(v, actual[k]) for k, v in expect.items())
    if isinstance(actual, (bytes, bytearray)):
        return expect is not None and not isinstance(expect, (list, bool, int)) and to_bytes(expect) == actual
    if isinstance(actual, (list, tuple)):
        return isinstance(expect, list) and len(expect) == len(actual) and all(
            matches(e, a) for e, a in zip(expect, actual)
        )
    if isinstance(actual, bool) or isinstance(expect, bool):
        return type(actual) is type(expect) and actual == expect
    if isinstance(actual, (int, float)) and isinstance(expect, (int, float)):
        return float(expect) == float(actual)
    return expect == actual


def run_op(t, step, variables, is_txn):
    op = step["op"]
    g = step.get

    def bid():
        return num(step["id"], variables)

    def limit():
        return num(g("limit"), variables)

    if op == "put":
        return t.put(key(step["key"]), to_bytes(step["value"]))
    if op == "get":
        return t.get(key(step["key"]))
    if op == "delete":
        return t.delete(key(step["key"]))
    if op == "contains":
        return t.contains(key(step["key"]))
    if op == "count":
        return t.count(key(g("prefix", "")))
    if op == "put_many":
        return t.put_many([(key(k), to_bytes(v)) for k, v in step["pairs"]])
    if op == "get_many":
        return t.get_many([key(k) for k in step["keys"]])
    if op == "eq":
        return t.eq([key(k) for k in step["keys"]])
    if op == "not_eq":
        return t.not_eq([key(k) for k in step["keys"]])
    if op == "scan":
        return [list(kv) for kv in t.scan(key(g("prefix", "")), opt_bytes(g("start_after")), limit())]
    if op == "keys":
        return list(t.keys(key(g("prefix", "")), opt_bytes(g("start_after")), limit()))
    if op == "blob_put":
        return t.blob_put(to_bytes(step["data"]), to_path(g("metadata")))
    if op == "blob_get":
        return t.blob_get(bid())
    if op == "blob_metadata":
        return t.blob_metadata(bid())
    if op == "blob_update":
        kwargs = {}
        if "metadata" in step:
            kwargs["metadata"] = to_path(step["metadata"])
        return t.blob_update(bid(), opt_bytes(g("data")), **kwargs)
    if op == "blob_delete":
        return t.blob_delete(bid())
    if op == "blob_eq":
        return t.blob_eq([num(i, variables) for i in step["ids"]])
    if op == "blob_not_eq":
        return t.blob_not_eq([num(i, variables) for i in step["ids"]])
    if op == "stream_write":
        if "metadata" in step:
            return t.stream_write(to_path(step["path"]), to_bytes(step["data"]), metadata=to_path(step["metadata"]))
        return t.stream_write(to_path(step["path"]), to_bytes(step["data"]))
    if op == "stream_set_metadata":
        return t.stream_set_metadata(to_path(step["path"]), to_path(step["metadata"]))
    if op == "stream_versions_metadata":
        return [i.metadata for i in t.stream_versions(to_path(step["path"]))]
    if op == "stream_read":
        return t.stream_read(to_path(step["path"]))
    if op == "stream_read_range":
        return t.stream_read_range(to_path(step["path"]), num(step["offset"], variables), num(step["len"], variables))
    if op == "stream_read_version":
        with t.stream_open(to_path(step["path"]), num(step["version"], variables)) as f:
            return f.read()
    if op == "stream_stat":
        return t.stream_stat(to_path(step["path"]))
    if op == "stream_versions":
        return [i.version for i in t.stream_versions(to_path(step["path"]))]
    if op == "stream_delete":
        return t.stream_delete(to_path(step["path"]))
    if op == "create_index":
        return t.create_index(step["name"], step["source"], step["json_path"], g("unique", False),
                              opt_bytes(g("key_prefix")))
    if op == "drop_index":
        return t.drop_index(step["name"])
    if op == "list_indexes":
        return t.list_indexes()
    if op == "find":
        return list(t.find(step["name"], resolve(step["value"], variables)))
    if op == "find_range":
        after = g("start_after")
        if after is not None:  # (value, record) as find_range yields them
            record = to_bytes(after["key"]) if "key" in after else (
                num(after["id"], variables) if "id" in after else to_path(after["path"]))
            after = (resolve(after["value"], variables), record)
        rows = t.find_range(step["name"], g("low"), g("high"), g("reverse", False), limit(), after)
        return [record for _value, record in rows]
    if op == "search":
        return list(t.search(to_path(step["prefix"]), to_path(g("start_after")), limit()))
    if op == "search_count":
        return t.search_count(to_path(step["prefix"]))
    if op.startswith("model_"):
        return model_op(t.models, step, variables)
    if op == "query":
        params = [p if not isinstance(p, dict) else to_bytes(p) for p in g("params", [])]
        return [list(row) for row in t.query(step["sql"], params)]
    if op == "txn":
        assert not is_txn, "txn inside txn"
        tx = t.begin()
        for inner in step["steps"]:
            check_step(tx, inner, variables, True)
        if step["commit"]:
            tx.commit()
        else:
            tx.rollback()
        for inner in step.get("after", []):  # on the finished transaction
            check_step(tx, inner, variables, True)
        return None
    raise AssertionError(f"unknown op {op}")


def model_op(models, step, variables):
    """The registry's ops, through `db.models` / `tx.models`."""
    op, g = step["op"], step.get
    if op == "model_register":
        files = {name: to_bytes(data) for name, data in g("files", {}).items()}
        return models.register(step["name"], step["version"], files, **g("info", {}))
    if op == "model_get":
        return models.get(step["name"], step["version"])
    if op == "model_resolve":
        return models.resolve(step["name"], step["version"])
    if op == "model_names":
        return models.names()
    if op == "model_versions":
        return [r["version"] for r in models.versions(step["name"])]
    if op == "model_delete":
        return models.delete(step["name"], step["version"])
    if op == "model_aliases":
        return sorted([a, v] for a, v in models.aliases(step["name"]).items())
    if op == "model_set_alias":
        return models.set_alias(step["name"], step["alias"], step["version"])
    if op == "model_read":
        with models.open(step["name"], step["version"], step["file"]) as f:
            f.seek(num(g("offset", 0), variables))
            return f.read(num(g("len", -1), variables))
    raise AssertionError(f"unknown op {op}")


def check_step(t, step, variables, is_txn=False):
    check_result(step, lambda: run_op(t, step, variables, is_txn), variables)


def check_result(step, call, variables):
    if step.get("wrong_type"):
        # Python's documented mapping: an argument of the wrong type is a TypeError.
        with pytest.raises(TypeError):
            call()
        return
    if "error" in step:
        with pytest.raises(buffdb.Error) as info:
            call()
        assert info.value.code == step["error"], f"step {step}: {info.value!r}"
        assert type(info.value).code == step["error"]
        return
    result = call()
    if "expect" in step:
        expect = resolve_all(step["expect"], variables)
        assert matches(expect, result), f"step {step}: expected {expect!r}, got {result!r}"
    if "save" in step:
        variables[step["save"]] = result


def open_options(options, variables):
    return {k: num(v, variables) for k, v in (options or {}).items()}


# Ops on the handle or its files, and `txn` (a transaction of its own): never inside one.
HANDLE_OPS = {"comment", "close", "reopen", "open", "write_file", "read_file", "txn"}
MODES = ["db", "commit", "rollback"]
# The encrypted run's raw 32-byte key (a raw key: no key stretching on each open).
CASE_KEY = b"shared cases, encrypted, 32 B..."


def fingerprint(db):
    """Everything the database holds, as the API shows it (or the error that stops it)."""
    try:
        kv = list(db.scan())
        blobs = [(i, db.blob_metadata(i), db.blob_get(i)) for i in db.blob_ids()]
        streams = []
        for path in db.search():
            for info in db.stream_versions(path):
                with db.stream_open(path, info.version) as f:
                    streams.append((path, info.version, info.metadata, f.read()))
        indexes = [(i.to_dict(), list(db.find_range(i.name))) for i in db.list_indexes()]
        return (kv, blobs, streams, indexes)
    except buffdb.Error as e:
        return f"error {e.code}"


class Case:
    """One case: its directory and the handle open on its database file."""

    def __init__(self, directory, options, key):
        self.dir = directory
        self.file = str(directory / "case.buffdb")
        self.key = key
        self.db = buffdb.open(self.file, **self.options(options, {}))

    def options(self, options, variables):
        o = open_options(options, variables)
        if self.key is not None:
            o["encryption_key"] = self.key
        return o

    def path(self, v):
        # The database path of `open`, as bytes (the OS name exactly); "" stays "".
        b = to_bytes(v)
        return "" if b == b"" else os.path.join(os.fsencode(self.dir), b)

    def run_handle_op(self, step, variables):
        op = step["op"]
        if op == "comment":
            return None
        if op == "close":
            return self.db.close()
        if op == "reopen":
            self.db.close()
            self.db = buffdb.open(self.file, **self.options(step.get("options"), variables))
            return None
        if op == "open":
            buffdb.open(self.path(step["path"]), **self.options(step.get("options"), variables)).close()
            return None
        if op == "write_file":
            with open(self.path(step["path"]), "wb") as f:
                f.write(to_bytes(step["data"]))
            return None
        if op == "read_file":
            try:
                with open(self.path(step["path"]), "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return None
        return run_op(self.db, step, variables, False)  # txn

    def handle_step(self, step, variables):
        check_result(step, lambda: self.run_handle_op(step, variables), variables)

    def segment(self, steps, mode, variables):
        """A run of database steps, as `mode` says."""
        if mode == "db":
            return self.on_db(steps, variables)
        # A handle that cannot begin (read-only, closed) has no transactions: the steps
        # test the database itself.
        try:
            tx = self.db.begin()
        except (buffdb.ReadOnlyError, buffdb.ClosedError):
            return self.on_db(steps, variables)
        before = fingerprint(self.db)
        try:
            for step in steps:
                check_step(tx, step, variables, True)
        except BaseException:
            tx.rollback()
            raise
        if mode == "commit":
            tx.commit()
            return None
        tx.rollback()
        after = fingerprint(self.db)
        assert after == before, f"rolled back steps left changes: {before!r} -> {after!r}"
        # The case goes on from the state the steps make.
        return self.on_db(steps, variables)

    def on_db(self, steps, variables):
        for step in steps:
            check_step(self.db, step, variables)


@pytest.mark.parametrize("key", [None, CASE_KEY], ids=["plain", "encrypted"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case_file", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_shared_case(case_file, mode, key, tmp_path):
    if key is not None and not buffdb.ENCRYPTION_AVAILABLE:
        pytest.skip("this build of buffdb has no encryption (built without the cargo feature)")
    case = json.loads(case_file.read_text())
    variables = {}
    c = Case(tmp_path, case.get("options"), key)
    steps = case["steps"]
    try:
        i = 0
        while i < len(steps):
            if steps[i]["op"] in HANDLE_OPS:
                c.handle_step(steps[i], variables)
                i += 1
                continue
            end = next((j for j in range(i, len(steps)) if steps[j]["op"] in HANDLE_OPS), len(steps))
            c.segment(steps[i:end], mode, variables)
            i = end
    finally:
        c.db.close()
    if key is not None:
        with open(c.file, "rb") as f:
            assert not f.read(16).startswith(b"SQLite format 3"), "the encrypted run left a plaintext file"
