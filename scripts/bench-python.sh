#!/usr/bin/env bash
# Python benchmark: workloads K and S for buffdb, py-lmdb, sqlite3 and rocksdict in one
# run (python/bench/bench.py), printed as one table with ratios to py-lmdb.
#
#   scripts/bench-python.sh                 # 3 rounds, 100,000 keys, 256 MiB document
#   scripts/bench-python.sh --rounds 5      # extra arguments go to bench.py
#   scripts/bench-python.sh --encryption --cpu --skip-competitors
#                                           # buffdb built with encryption (SQLCipher,
#                                           # OpenSSL from source): an encrypted database
#                                           # too, and its time ratios to unencrypted
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
ARGS=()
FEATURES=""
for a in "$@"; do
    case "$a" in
        --encryption) FEATURES="--features buffdb/encryption" ;;
        --skip-competitors) ARGS+=(--only buffdb,buffdb-enc) ;;
        *) ARGS+=("$a") ;;
    esac
done
"$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$PY" -m pip install --quiet --disable-pip-version-check "maturin>=1.9,<2" lmdb rocksdict
rm -f "$ROOT"/python/buffdb/_buffdb*.so "$ROOT"/python/buffdb/_buffdb*.pyd
MATURIN_PEP517_ARGS="$FEATURES" "$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$ROOT/python"

cd "$VENV"
exec "$PY" "$ROOT/python/bench/bench.py" ${ARGS[@]+"${ARGS[@]}"}
