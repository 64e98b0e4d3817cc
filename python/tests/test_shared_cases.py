"""Runs the shared JSON cases (tests/cases/*.json, see tests/cases/README.md) through
the Python API, exactly like the Rust, C and Node suites do."""

import json

import pytest

import buffdb

from conftest import CASES_DIR

CASE_FILES = sorted(CASES_DIR.glob("*.json"))


def test_cases_exist():
    assert CASE_FILES, f"no shared cases in {CASES_DIR}"


def to_bytes(v):
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
    if isinstance(v, str):
        return v
    return to_bytes(v).decode("utf-8", "surrogateescape")


def resolve(v, variables):
    if isinstance(v, str) and v.startswith("$"):
        return variables[v[1:]]
    return v


def matches(expect, actual):
    if isinstance(actual, buffdb.StreamInfo):
        return isinstance(expect, dict) and all(
            matches(v, getattr(actual, k)) for k, v in expect.items()
        )
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
        return resolve(step["id"], variables)

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
        return [list(kv) for kv in t.scan(key(g("prefix", "")), opt_bytes(g("start_after")), g("limit"))]
    if op == "keys":
        return list(t.keys(key(g("prefix", "")), opt_bytes(g("start_after")), g("limit")))
    if op == "blob_put":
        return t.blob_put(to_bytes(step["data"]), g("metadata"))
    if op == "blob_get":
        return t.blob_get(bid())
    if op == "blob_metadata":
        return t.blob_metadata(bid())
    if op == "blob_update":
        kwargs = {}
        if "metadata" in step:
            kwargs["metadata"] = step["metadata"]
        return t.blob_update(bid(), opt_bytes(g("data")), **kwargs)
    if op == "blob_delete":
        return t.blob_delete(bid())
    if op == "blob_eq":
        return t.blob_eq([resolve(i, variables) for i in step["ids"]])
    if op == "blob_not_eq":
        return t.blob_not_eq([resolve(i, variables) for i in step["ids"]])
    if op == "stream_write":
        return t.stream_write(to_path(step["path"]), to_bytes(step["data"]))
    if op == "stream_read":
        return t.stream_read(to_path(step["path"]))
    if op == "stream_read_range":
        return t.stream_read_range(to_path(step["path"]), step["offset"], step["len"])
    if op == "stream_read_version":
        with t.stream_open(to_path(step["path"]), step["version"]) as f:
            return f.read()
    if op == "stream_stat":
        return t.stream_stat(to_path(step["path"]))
    if op == "stream_versions":
        return [i.version for i in t.stream_versions(to_path(step["path"]))]
    if op == "stream_delete":
        return t.stream_delete(to_path(step["path"]))
    if op == "search":
        return list(t.search(step["prefix"], g("start_after"), g("limit")))
    if op == "search_count":
        return t.search_count(step["prefix"])
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
        return None
    raise AssertionError(f"unknown op {op}")


def check_step(t, step, variables, is_txn=False):
    if "error" in step:
        with pytest.raises(buffdb.Error) as info:
            run_op(t, step, variables, is_txn)
        assert info.value.code == step["error"], f"step {step}: {info.value!r}"
        assert type(info.value).code == step["error"]
        return
    result = run_op(t, step, variables, is_txn)
    if "expect" in step:
        expect = resolve(step["expect"], variables)
        assert matches(expect, result), f"step {step}: expected {expect!r}, got {result!r}"
    if "save" in step:
        variables[step["save"]] = result


@pytest.mark.parametrize("case_file", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_shared_case(case_file, tmp_path):
    case = json.loads(case_file.read_text())
    with buffdb.open(str(tmp_path / "case.buffdb"), **case.get("options", {})) as db:
        variables = {}
        for step in case["steps"]:
            check_step(db, step, variables)
