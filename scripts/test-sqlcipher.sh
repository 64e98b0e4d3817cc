#!/usr/bin/env bash
# Encryption at rest against SQLCipher's own tools (PyPI sqlcipher3-binary) and through
# the command line and server: an encrypted BuffDB file opens with `PRAGMA key` and its
# KV table reads; a file SQLCipher encrypted (sqlcipher_export of a plaintext BuffDB
# file) opens in BuffDB and passes check; --key-file, rekey, encrypt, decrypt, wrong
# keys, and `buffdb run --key-file` read with --remote.
#
# Environment: CARGO_TARGET_DIR (respected), BUFFDB_SQLCIPHER_VENV (default
# target/sqlcipher-venv), PYTHON (default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="${BUFFDB_SQLCIPHER_VENV:-$ROOT/target/sqlcipher-venv}"

echo "==> cargo build -p buffdb-cli --features encryption"
(cd "$ROOT" && cargo build --locked -p buffdb-cli --features encryption)

echo "==> sqlcipher3-binary in $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "sqlcipher3-binary==0.6.0"

cd "$ROOT/tests/interop"
BUFFDB_BIN="$TARGET/debug/buffdb" "$VENV/bin/python" -m unittest -v test_sqlcipher3
