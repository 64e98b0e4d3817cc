#!/usr/bin/env python3
"""Turns the shared JSON test cases (tests/cases/*.json) into a whitespace-separated token
stream that tests/c/test_capi.c reads, so the C test needs no JSON parser.

Grammar (one case per CASE line, one step per STEP line; lines are cosmetic):
  CASE <name-hex> <n-options> (<option-name> <value>)*
  STEP <op> <n-args> (<arg-name> <value>)*          -- "expect", "error", "save" are args too
  for op "txn" the args include "steps" I<n> and "after" I<m>, followed by n nested STEP
  lines (the transaction's steps) and m more (run on the finished transaction)
  END                                                -- end of the case
Values, in prefix notation:
  N  null        T / F  booleans      I<int>  integer       D<float>  real
  S<hex>  a JSON string (its UTF-8 bytes)     B<hex>  {"hex": ..} raw bytes ("S"/"B" alone = empty)
  R<hex>*<times>  {"repeat": .., "times": ..}
  L<n> then n values  (list)          O<n> then n pairs of K<name> and a value (object)
  V<name>  a variable saved by an earlier step ("$name")
  U<digits>  {"int": ..} between 2^63 and 2^64-1 (a uint64_t)
  X<digits>  {"int": ..} that no uint64_t holds (the C runner refuses it: INVALID_ARGUMENT)
For find and find_range, "value", "low", "high" and start_after's "value" become JSON
text (a JSON string holding the value's JSON), as the C API takes them; a null bound stays N.
Steps with op "comment" are dropped, and so are "wrong_type" steps: C's types rule out
an argument of the wrong type at compile time.
Usage: cases_to_tokens.py FILE.json... > cases.txt
"""
import json
import sys


def enc_bytes(b):
    return "B" + b.hex()


def value(v, saved):
    if v is None:
        return ["N"]
    if v is True:
        return ["T"]
    if v is False:
        return ["F"]
    if isinstance(v, int):
        return [f"I{v}"]
    if isinstance(v, float):
        return [f"D{v!r}"]
    if isinstance(v, str):
        if v.startswith("$") and v[1:] in saved:
            return [f"V{v[1:]}"]
        return ["S" + v.encode("utf-8").hex()]
    if isinstance(v, list):
        out = [f"L{len(v)}"]
        for x in v:
            out += value(x, saved)
        return out
    if isinstance(v, dict):
        if set(v) == {"hex"}:
            return [enc_bytes(bytes.fromhex(v["hex"]))]
        if set(v) == {"int"}:
            n = int(v["int"])
            if -(2**63) <= n < 2**63:
                return [f"I{n}"]
            return [f"U{n}" if 0 <= n < 2**64 else f"X{n}"]
        if set(v) == {"repeat", "times"}:
            return [f"R{v['repeat'].encode('utf-8').hex()}*{int(v['times'])}"]
        out = [f"O{len(v)}"]
        for k, x in v.items():
            out.append(f"K{k}")
            out += value(x, saved)
        return out
    raise ValueError(f"unsupported JSON value {v!r}")


def step(s, saved, out, depth=0):
    if s["op"] == "comment" or s.get("wrong_type"):
        return
    args = {k: v for k, v in s.items() if k not in ("op", "steps", "after")}
    toks = ["STEP", s["op"]]
    body = []
    n = 0
    for k, v in args.items():
        if s["op"] in ("find", "find_range") and k in ("value", "low", "high", "start_after"):
            # Index values go to C as JSON text; a null bound is an open end (NULL).
            if k == "start_after":
                v = dict(v, value=json.dumps(v["value"]))
            elif k != "value" and v is None:
                v = None
            else:
                v = json.dumps(v)
        if k == "error":
            body += [k, enc_bytes(v.encode())]
        elif k == "save":
            body += [k, enc_bytes(v.encode())]
        else:
            body += [k] + value(v, saved)
        n += 1
    if s["op"] == "txn":
        for part in ("steps", "after"):
            kept = [x for x in s.get(part, []) if x["op"] != "comment" and not x.get("wrong_type")]
            body += [part, f"I{len(kept)}"]
            n += 1
    out.append(" ".join(toks + [str(n)] + body))
    if "save" in s:
        saved.add(s["save"])
    if s["op"] == "txn":
        for inner in s.get("steps", []) + s.get("after", []):
            step(inner, saved, out, depth + 1)  # drops the same steps as counted above


def case(c, out):
    saved = set()
    opts = c.get("options", {}) or {}
    line = ["CASE", c["name"].encode().hex() or "00", str(len(opts))]
    for k, v in opts.items():
        line += [k] + value(v, saved)
    out.append(" ".join(line))
    for s in c.get("steps", []):
        step(s, saved, out)
    out.append("END")


def main():
    out = []
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for c in data if isinstance(data, list) else [data]:
            case(c, out)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
