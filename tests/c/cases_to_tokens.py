#!/usr/bin/env python3
"""Turns the shared JSON test cases (tests/cases/*.json) into a whitespace-separated token
stream that tests/c/test_capi.c reads, so the C test needs no JSON parser.

Grammar (one case per CASE line, one step per STEP line; lines are cosmetic):
  CASE <name-hex> <n-options> (<option-name> <value>)*
  STEP <op> <n-args> (<arg-name> <value>)*          -- "expect", "error", "save" are args too
  for op "txn" the args include "steps" I<n>, followed by n nested STEP lines
  END                                                -- end of the case
Values, in prefix notation:
  N  null        T / F  booleans      I<int>  integer       D<float>  real
  S<hex>  a JSON string (its UTF-8 bytes)     B<hex>  {"hex": ..} raw bytes ("S"/"B" alone = empty)
  R<hex>*<times>  {"repeat": .., "times": ..}
  L<n> then n values  (list)          O<n> then n pairs of K<name> and a value (object)
  V<name>  a variable saved by an earlier step ("$name")
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
        if set(v) == {"repeat", "times"}:
            return [f"R{v['repeat'].encode('utf-8').hex()}*{int(v['times'])}"]
        out = [f"O{len(v)}"]
        for k, x in v.items():
            out.append(f"K{k}")
            out += value(x, saved)
        return out
    raise ValueError(f"unsupported JSON value {v!r}")


def step(s, saved, out, depth=0):
    args = {k: v for k, v in s.items() if k not in ("op", "steps")}
    toks = ["STEP", s["op"]]
    body = []
    n = 0
    for k, v in args.items():
        if k == "error":
            body += [k, enc_bytes(v.encode())]
        elif k == "save":
            body += [k, enc_bytes(v.encode())]
        else:
            body += [k] + value(v, saved)
        n += 1
    if s["op"] == "txn":
        body += ["steps", f"I{len(s.get('steps', []))}"]
        n += 1
    out.append(" ".join(toks + [str(n)] + body))
    if "save" in s:
        saved.add(s["save"])
    if s["op"] == "txn":
        for inner in s.get("steps", []):
            step(inner, saved, out, depth + 1)


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
