#!/usr/bin/env bash
# Python benchmark: workloads K and S for buffdb, py-lmdb, sqlite3 and rocksdict in one
# run (python/bench/bench.py), printed as one table with ratios to py-lmdb.
#
#   scripts/bench-python.sh                 # 3 rounds, 100,000 keys, 256 MiB document
#   scripts/bench-python.sh --rounds 5      # extra arguments go to bench.py
#
# Builds the package in release mode into the venv (default target/py-venv; override
# with BUFFDB_PY_VENV) and installs the competitors there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${BUFFDB_PY_VENV:-$ROOT/target/py-venv}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$PY" -m pip install --quiet --disable-pip-version-check "maturin>=1.9,<2" lmdb rocksdict
rm -f "$ROOT"/python/buffdb/_buffdb*.so "$ROOT"/python/buffdb/_buffdb*.pyd
"$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$ROOT/python"

cd "$VENV"
exec "$PY" "$ROOT/python/bench/bench.py" "$@"
