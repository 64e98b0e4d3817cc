#!/usr/bin/env bash
# The release artifacts, installed the way a user installs them, on a PATH without
# Rust (issue 12):
#  1. scripts/dist.sh builds everything into dist/ (and says how long each part took);
#  2. the size of every artifact; the .node and the wheel's extension module are
#     release builds without debug info; the wheel is manylinux_2_17 (auditwheel);
#  3. with cargo and rustc unreachable:
#     - a fresh venv: pip install dist/buffdb-*.whl (nothing else fetched), then
#       scripts/dist-smoke/smoke.py (open, put/get, an 8 MiB stream, search, transactions);
#     - a fresh folder: npm install of the main + linux-x64-gnu tarballs, offline, then
#       the same smoke from require('buffdb') and from import;
#     - the C tarball unpacked into a temporary prefix, c-examples built with only
#       PKG_CONFIG_PATH set (shared and static) and run;
#     - the release `buffdb` command line;
#     - encryption at rest in each (issue 26): the shared JSON cases on encrypted
#       databases and the wrong/missing/needless-key tests, run by each language's own
#       runner against the installed artifact (the wheel: pytest in its venv; the npm
#       tarballs: node --test; the C tarball: tests/c/test_capi against libbuffdb.so and
#       libbuffdb.a); the command line with --key-file; none of them may skip;
#  4. with Rust: the Python sdist builds and installs from source.
# Prints one line per test and ends with "N passed, M failed"; exits non-zero on failure.
#   BUFFDB_DIST_SKIP_BUILD=1   test what is already in dist/
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
DIST=${BUFFDB_DIST_DIR:-$ROOT/dist}
export BUFFDB_DIST_DIR=$DIST
VERSION=$(awk -F'"' '/^version *=/ {print $2; exit}' "$ROOT/Cargo.toml")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/buffdb-dist-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PYTHON=${PYTHON:-python3}
PASS=0
FAIL=0
START=$SECONDS

pass() { PASS=$((PASS + 1)); echo "ok   $1"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $1"; [ $# -lt 2 ] || { echo "---- $2:"; tail -n 40 "$2"; echo "----"; }; }
finish() { echo "test-dist: $((SECONDS - START)) s in all"; echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]; exit $?; }
run() { # name logfile command...
    local name=$1 log=$2; shift 2
    if "$@" >"$log" 2>&1; then pass "$name"; else fail "$name" "$log"; fi
}
one() { # the single file matching a glob, or nothing
    local f
    for f in "$@"; do [ -e "$f" ] && { echo "$f"; return; }; done
}

echo "== release artifacts (work dir $WORK)"

# 1. build
if [ "${BUFFDB_DIST_SKIP_BUILD:-0}" != 1 ]; then
    t=$SECONDS
    if "$ROOT/scripts/dist.sh" >"$WORK/dist.log" 2>&1; then
        pass "scripts/dist.sh builds every artifact ($((SECONDS - t)) s)"
        grep -E '^dist: (python|node|c|rust): ' "$WORK/dist.log" | sed 's/^/     /'
    else
        fail "scripts/dist.sh builds every artifact" "$WORK/dist.log"; finish
    fi
fi

WHEEL=$(one "$DIST"/buffdb-"$VERSION"-cp39-abi3-manylinux*_x86_64.whl)
SDIST=$(one "$DIST/buffdb-$VERSION.tar.gz")
NPM_MAIN=$(one "$DIST/buffdb-$VERSION.tgz")
NPM_LINUX=$(one "$DIST/buffdb-linux-x64-gnu-$VERSION.tgz")
CTAR=$(one "$DIST/buffdb-$VERSION-x86_64-linux-gnu.tar.gz")
CRATE=$(one "$DIST/buffdb-$VERSION.crate")
CLI=$(one "$DIST/buffdb")

# 2. sizes, debug info, tags
echo "     artifact sizes:"
for f in "$WHEEL" "$SDIST" "$NPM_MAIN" "$NPM_LINUX" "$CTAR" "$CRATE" "$CLI"; do
    [ -n "$f" ] && printf '     %10d bytes  %s\n' "$(stat -c %s "$f")" "$(basename "$f")"
done
for what in WHEEL SDIST NPM_MAIN NPM_LINUX CTAR CRATE CLI; do
    if [ -n "${!what}" ]; then pass "dist/ holds $(basename "${!what}")"; else fail "dist/ holds the $what artifact"; fi
done
[ -n "$WHEEL" ] && [ -n "$NPM_MAIN" ] && [ -n "$NPM_LINUX" ] && [ -n "$CTAR" ] && [ -n "$CLI" ] || finish

no_debug_info() { # name file: no .debug_* sections and no symbol table (.symtab) left
    local sections
    sections=$(readelf -S --wide "$2" | grep -oE '\.(debug|zdebug)_[a-z_]+|\.symtab' | sort -u | tr '\n' ' ')
    if [ -z "$sections" ]; then
        pass "$1 is stripped, no debug info ($(stat -c %s "$2") bytes)"
    else
        fail "$1 is stripped, no debug info (has: $sections)"
    fi
}
mkdir -p "$WORK/wheel" "$WORK/npm-linux"
"$PYTHON" -m zipfile -e "$WHEEL" "$WORK/wheel"
no_debug_info "the wheel's extension module" "$(one "$WORK"/wheel/buffdb/_buffdb*.so)"
tar -xzf "$NPM_LINUX" -C "$WORK/npm-linux"
no_debug_info "the .node addon" "$(one "$WORK"/npm-linux/package/buffdb.linux-x64-gnu.node)"
no_debug_info "the buffdb command line" "$CLI"
glibc_floor() { objdump -T "$1" | grep -oE 'GLIBC_[0-9.]+' | sort -Vu | tail -1; }
max_glibc() { # name file max-version: the binary runs on every glibc from max-version on
    local need
    need=$(glibc_floor "$2")
    if [ "$(printf '%s\n%s\n' "${need#GLIBC_}" "$3" | sort -V | tail -1)" = "$3" ]; then
        pass "$1 needs glibc $3 at most (newest symbol: $need)"
    else
        fail "$1 needs glibc $3 at most (newest symbol: $need)"
    fi
}
max_glibc "the .node addon" "$(one "$WORK"/npm-linux/package/buffdb.linux-x64-gnu.node)" 2.17
max_glibc "the buffdb command line" "$CLI" 2.17
if [ -x "$CARGO_TARGET_DIR/dist-venv/bin/auditwheel" ]; then
    run "auditwheel show: the wheel is manylinux_2_17_x86_64" "$WORK/auditwheel.log" \
        sh -c '"$1" show "$2" && "$1" show "$2" | tr -d "\n" | grep -q "consistent with the following platform tag: *\"manylinux_2_17_x86_64\""' _ \
        "$CARGO_TARGET_DIR/dist-venv/bin/auditwheel" "$WHEEL"
else
    fail "auditwheel is installed by dist.sh ($CARGO_TARGET_DIR/dist-venv)"
fi
if tar -tzf "$NPM_MAIN" | grep -q '\.node$'; then fail "the main npm package holds no binary"; else pass "the main npm package holds no binary"; fi
if tar -xzOf "$NPM_MAIN" package/package.json | node -e '
    const p = JSON.parse(require("fs").readFileSync(0, "utf8"))
    const o = p.optionalDependencies || {}
    if (o["buffdb-linux-x64-gnu"] !== p.version || Object.keys(o).length !== p.napi.targets.length) process.exit(1)
    if (p.dependencies && Object.keys(p.dependencies).length) process.exit(1)
    if (p.scripts && (p.scripts.install || p.scripts.postinstall || p.scripts.preinstall)) process.exit(1)'; then
    pass "the main npm package: optionalDependencies on every platform package, no dependencies, no install script"
else
    fail "the main npm package: optionalDependencies on every platform package, no dependencies, no install script"
fi

# 3. a PATH on which cargo and rustc cannot be found
NORUST_PATH=
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
    [ -n "$d" ] && [ ! -e "$d/cargo" ] && [ ! -e "$d/rustc" ] && [ ! -e "$d/rustup" ] && NORUST_PATH=${NORUST_PATH:+$NORUST_PATH:}$d
done
norust() { env -u CARGO -u RUSTC -u RUSTUP_TOOLCHAIN -u CARGO_TARGET_DIR PATH="$NORUST_PATH" "$@"; }
if norust sh -c '! command -v cargo && ! command -v rustc' >/dev/null 2>&1; then
    pass "cargo and rustc are not on the test PATH"
else
    fail "cargo and rustc are not on the test PATH"; finish
fi

# Python: a fresh venv, the wheel only (no index, no build).
cp "$ROOT/scripts/dist-smoke/smoke.py" "$WORK/smoke.py"
if norust "$PYTHON" -m venv "$WORK/venv" >"$WORK/venv.log" 2>&1 \
    && norust "$WORK/venv/bin/pip" install --disable-pip-version-check --no-index --only-binary :all: "$WHEEL" >"$WORK/pip.log" 2>&1; then
    pass "pip install the wheel into a fresh venv (no index, no Rust)"
    run "python smoke from the wheel (put/get, 8 MiB stream, search, transactions)" "$WORK/py-smoke.log" \
        sh -c 'cd "$1" && PATH="$2" "$1/venv/bin/python" "$1/smoke.py"' _ "$WORK" "$NORUST_PATH"
    # Encryption: the shared cases encrypted and the key tests, by pytest (installed into
    # the venv afterwards) from a folder of copies, so `import buffdb` is the wheel's.
    mkdir -p "$WORK/pytests"
    cp "$ROOT"/python/tests/{conftest.py,test_shared_cases.py,test_encryption.py} "$WORK/pytests/"
    if norust "$WORK/venv/bin/pip" install --disable-pip-version-check --quiet "pytest>=7" >"$WORK/pip-pytest.log" 2>&1; then
        run "the wheel has encryption (buffdb.ENCRYPTION_AVAILABLE, imported from the venv)" "$WORK/py-enc-avail.log" \
            sh -c 'cd "$1/pytests" && "$1/venv/bin/python" -c "import buffdb; print(buffdb.__file__); assert buffdb.__file__.startswith(\"$1/venv/\") and buffdb.ENCRYPTION_AVAILABLE"' _ "$WORK"
        if (cd "$WORK/pytests" && BUFFDB_CASES_DIR="$ROOT/tests/cases" PATH="$NORUST_PATH" \
                "$WORK/venv/bin/python" -m pytest -q -p no:cacheprovider -rs test_shared_cases.py test_encryption.py) >"$WORK/py-enc.log" 2>&1 \
            && ! grep -qi "skipped" "$WORK/py-enc.log"; then
            pass "python from the wheel: the shared cases on encrypted databases and the key tests, none skipped ($(grep -oE '[0-9]+ passed' "$WORK/py-enc.log"))"
        else
            fail "python from the wheel: the shared cases on encrypted databases and the key tests, none skipped" "$WORK/py-enc.log"
        fi
    else
        fail "pip install pytest into the wheel's venv" "$WORK/pip-pytest.log"
    fi
else
    fail "pip install the wheel into a fresh venv (no index, no Rust)" "$WORK/pip.log"
fi

# Node: a fresh folder, the two tarballs, nothing fetched.
mkdir -p "$WORK/npm-app"
cp "$ROOT"/scripts/dist-smoke/smoke-lib.cjs "$ROOT"/scripts/dist-smoke/smoke.cjs "$ROOT"/scripts/dist-smoke/smoke.mjs "$WORK/npm-app/"
echo '{ "name": "buffdb-dist-smoke", "version": "1.0.0", "private": true }' >"$WORK/npm-app/package.json"
if (cd "$WORK/npm-app" && norust npm install --offline --no-audit --no-fund --cache "$WORK/npm-cache" \
        "$NPM_MAIN" "$NPM_LINUX") >"$WORK/npm-install.log" 2>&1; then
    pass "npm install the main + linux-x64-gnu tarballs into a fresh folder (offline, no Rust)"
    n=$(find "$WORK/npm-app/node_modules" -name package.json -path '*/node_modules/*/package.json' -not -path '*/node_modules/*/node_modules/*' | wc -l)
    if [ "$n" -eq 2 ]; then pass "npm installed exactly the two packages"; else fail "npm installed exactly the two packages (found $n)" "$WORK/npm-install.log"; fi
    run "node smoke from require('buffdb')" "$WORK/node-cjs.log" sh -c 'cd "$1" && PATH="$2" node smoke.cjs' _ "$WORK/npm-app" "$NORUST_PATH"
    run "node smoke from import 'buffdb'" "$WORK/node-esm.log" sh -c 'cd "$1" && PATH="$2" node smoke.mjs' _ "$WORK/npm-app" "$NORUST_PATH"
    # Encryption: node/test's shared-case runner and key tests, copied into the app, where
    # their require('..') is the installed package.
    mkdir -p "$WORK/npm-app/test"
    cp "$ROOT"/node/test/{helpers.js,cases.test.js,encryption.test.js} "$WORK/npm-app/test/"
    echo "module.exports = require('buffdb')" >"$WORK/npm-app/index.js"
    if (cd "$WORK/npm-app" && BUFFDB_CASES_DIR="$ROOT/tests/cases" PATH="$NORUST_PATH" \
            node -e "if (!require('buffdb').encryptionAvailable()) { console.error('encryptionAvailable() is false'); process.exit(1) }" \
        && BUFFDB_CASES_DIR="$ROOT/tests/cases" PATH="$NORUST_PATH" \
            node --test --test-reporter=tap test/cases.test.js test/encryption.test.js) >"$WORK/node-enc.log" 2>&1 \
        && grep -q '^# fail 0$' "$WORK/node-enc.log" && ! grep -q '# SKIP this build has no encryption' "$WORK/node-enc.log"; then
        pass "node from the npm tarballs: the shared cases on encrypted databases and the key tests, none skipped ($(sed -n 's/^# pass //p' "$WORK/node-enc.log" | tail -1) passed)"
    else
        fail "node from the npm tarballs: the shared cases on encrypted databases and the key tests, none skipped" "$WORK/node-enc.log"
    fi
    # Without its platform package the loader names the platform and how to build from source.
    rm -rf "$WORK/npm-app/node_modules/buffdb-linux-x64-gnu"
    if (cd "$WORK/npm-app" && PATH="$NORUST_PATH" node -e "require('buffdb')") >"$WORK/node-missing.log" 2>&1; then
        fail "without the platform package, require('buffdb') fails" "$WORK/node-missing.log"
    elif grep -q 'no native addon for linux-x64-gnu' "$WORK/node-missing.log" && grep -q 'npm run build' "$WORK/node-missing.log" \
        && grep -q 'buffdb-linux-x64-gnu' "$WORK/node-missing.log"; then
        pass "without the platform package, the error names linux-x64-gnu and says how to build from source"
    else
        fail "without the platform package, the error names linux-x64-gnu and says how to build from source" "$WORK/node-missing.log"
    fi
else
    fail "npm install the main + linux-x64-gnu tarballs into a fresh folder (offline, no Rust)" "$WORK/npm-install.log"
fi

# C: unpacked anywhere, found through pkg-config alone.
mkdir -p "$WORK/c"
tar -xzf "$CTAR" -C "$WORK/c"
CPREFIX=$WORK/c/buffdb-$VERSION-x86_64-linux-gnu
if readelf -d "$CPREFIX/lib/libbuffdb.so" 2>/dev/null | grep -q 'SONAME.*\[libbuffdb\.so\.0\]' \
    && [ -L "$CPREFIX/lib/libbuffdb.so" ] && [ -e "$CPREFIX/lib/libbuffdb.so.0" ] && [ -f "$CPREFIX/lib/libbuffdb.a" ] \
    && [ -f "$CPREFIX/include/buffdb.h" ] && [ -f "$CPREFIX/include/buffdb.hpp" ] \
    && [ -f "$CPREFIX/include/buffdb_physfs.h" ] && [ -f "$CPREFIX/include/buffdb_sdl.h" ]; then
    pass "C tarball: include/buffdb.h (+ buffdb.hpp, buffdb_physfs.h, buffdb_sdl.h), lib/libbuffdb.so -> .so.0 (SONAME libbuffdb.so.0), lib/libbuffdb.a"
    echo "     libbuffdb.so needs $(glibc_floor "$CPREFIX/lib/libbuffdb.so") (built with this machine's C toolchain)"
else
    ls -lR "$CPREFIX" >"$WORK/c-ls.log" 2>&1; fail "C tarball layout" "$WORK/c-ls.log"
fi
cbuild() { # out-dir make-args...
    local out=$1; shift
    norust env -u CFLAGS -u LDFLAGS -u LD_LIBRARY_PATH PKG_CONFIG_PATH="$CPREFIX/lib/pkgconfig" \
        make -s -C "$ROOT/c-examples" O="$out" "$@"
}
if cbuild "$WORK/c-shared" "$WORK/c-shared/kv" "$WORK/c-shared/stream" "$WORK/c-shared/asset_loader" >"$WORK/c-make.log" 2>&1; then
    pass "c-examples kv, stream and asset_loader (C++, buffdb.hpp) build with only PKG_CONFIG_PATH set"
    run "C example kv runs against the unpacked libbuffdb.so" "$WORK/c-kv.log" \
        env LD_LIBRARY_PATH="$CPREFIX/lib" "$WORK/c-shared/kv" "$WORK/c-kv.bdb"
    run "C example stream (8 MiB) runs against the unpacked libbuffdb.so" "$WORK/c-stream.log" \
        env LD_LIBRARY_PATH="$CPREFIX/lib" "$WORK/c-shared/stream" "$WORK/c-stream.bdb" 8
else
    fail "c-examples build with only PKG_CONFIG_PATH set" "$WORK/c-make.log"
fi
if cbuild "$WORK/c-static" STATIC=1 "$WORK/c-static/kv" >"$WORK/c-static.log" 2>&1 && ! ldd "$WORK/c-static/kv" | grep -q libbuffdb; then
    run "C example kv linked statically from the tarball's libbuffdb.a runs" "$WORK/c-kv-static.log" "$WORK/c-static/kv" "$WORK/c-kv-static.bdb"
else
    fail "C example kv links statically from the tarball" "$WORK/c-static.log"
fi
# The tarball's libbuffdb.a (SQLCipher and libcrypto inside) beside an application's own
# sqlite3_* and OpenSSL names: links, and each side keeps its own functions.
if norust cc -std=c99 $(env PKG_CONFIG_PATH="$CPREFIX/lib/pkgconfig" pkg-config --cflags buffdb) "$ROOT/tests/c/static_beside.c" \
        -o "$WORK/c-beside" "$CPREFIX/lib/libbuffdb.a" \
        $(env PKG_CONFIG_PATH="$CPREFIX/lib/pkgconfig" pkg-config --static --libs-only-l buffdb | sed 's/-lbuffdb\b//') \
        >"$WORK/c-beside-build.log" 2>&1; then
    run "the tarball's libbuffdb.a links beside an application's own sqlite3_* and OpenSSL names" \
        "$WORK/c-beside.log" "$WORK/c-beside" "$WORK/c-beside.bdb"
else
    fail "the tarball's libbuffdb.a links beside an application's own sqlite3_* and OpenSSL names" "$WORK/c-beside-build.log"
fi
# Encryption: tests/c/test_capi (every C test, the shared cases plain and encrypted)
# against the tarball's libbuffdb.so and libbuffdb.a.
python3 "$ROOT/tests/c/cases_to_tokens.py" "$ROOT"/tests/cases/*.json >"$WORK/cases.txt"
c_test_build() { # shared|static out: as c-examples/Makefile links (STATIC=1 for static)
    local pc="env PKG_CONFIG_PATH=$CPREFIX/lib/pkgconfig pkg-config" libs
    if [ "$1" = static ]; then
        libs="$CPREFIX/lib/libbuffdb.a $($pc --static --libs-only-l buffdb | sed 's/-lbuffdb\b//')"
    else
        libs=$($pc --libs buffdb)
    fi
    norust cc -std=c99 -D_POSIX_C_SOURCE=200809L -O1 -I"$ROOT/tests/c" $($pc --cflags buffdb) \
        "$ROOT/tests/c/test_capi.c" "$ROOT/tests/c/cases.c" -o "$2" $libs -lpthread
}
for link in shared static; do
    if c_test_build "$link" "$WORK/test_capi_$link" >"$WORK/c-enc-build-$link.log" 2>&1; then
        mkdir -p "$WORK/c-enc-$link"
        env LD_LIBRARY_PATH="$CPREFIX/lib" "$WORK/test_capi_$link" "$WORK/cases.txt" "$WORK/c-enc-$link" >"$WORK/c-enc-$link.log" 2>&1
        n=$(grep -c '^ok   case: .*, encrypted)$' "$WORK/c-enc-$link.log")
        if grep -q '^[0-9]* passed, 0 failed$' "$WORK/c-enc-$link.log" && [ "$n" -gt 0 ]; then
            pass "C from the tarball ($link libbuffdb): tests/c/test_capi, $n shared-case runs on encrypted databases ($(tail -1 "$WORK/c-enc-$link.log"))"
        else
            fail "C from the tarball ($link libbuffdb): tests/c/test_capi with the shared cases on encrypted databases ($n encrypted runs)" "$WORK/c-enc-$link.log"
        fi
    else
        fail "build tests/c/test_capi against the tarball ($link)" "$WORK/c-enc-build-$link.log"
    fi
done

# The command line.
if norust "$CLI" -s "$WORK/cli.bdb" kv set greeting hello >"$WORK/cli.log" 2>&1 \
    && [ "$(norust "$CLI" -s "$WORK/cli.bdb" kv get greeting 2>>"$WORK/cli.log")" = hello ] \
    && norust "$CLI" --version >>"$WORK/cli.log" 2>&1; then
    pass "the release buffdb command line sets and gets a key ($(norust "$CLI" --version))"
else
    fail "the release buffdb command line sets and gets a key" "$WORK/cli.log"
fi

# Encryption from the command line: --key-file writes an encrypted file that reads back
# with the key, and is refused without it or with a wrong one.
cli_encryption() {
    local db=$WORK/cli-enc.bdb out
    printf '%s\n' 'correct horse battery staple' >"$WORK/cli.key"
    printf '%s\n' 'wrong horse' >"$WORK/cli-wrong.key"
    norust "$CLI" -s "$db" --key-file "$WORK/cli.key" kv set secret-key a-distinctive-secret-value || return 1
    [ "$(norust "$CLI" -s "$db" --key-file "$WORK/cli.key" kv get secret-key)" = a-distinctive-secret-value ] || { echo "read back failed"; return 1; }
    norust "$CLI" -s "$db" --key-file "$WORK/cli.key" check || return 1
    if cat "$db" "$db-wal" 2>/dev/null | grep -aq 'a-distinctive-secret-value\|SQLite format 3'; then echo "plaintext in the file"; return 1; fi
    out=$(norust "$CLI" -s "$db" kv get secret-key 2>&1) && { echo "opened without a key: $out"; return 1; }
    echo "without a key: $out"
    out=$(norust "$CLI" -s "$db" --key-file "$WORK/cli-wrong.key" kv get secret-key 2>&1) && { echo "opened with a wrong key: $out"; return 1; }
    echo "with a wrong key: $out"
    grep -qi 'wrong encryption key' <<<"$out"
}
run "the release command line: --key-file encrypts, reads back, refuses a missing or wrong key" "$WORK/cli-enc.log" cli_encryption

# 4. where no wheel fits: the sdist builds from source (this one needs Rust).
if [ -n "$SDIST" ]; then
    t=$SECONDS
    if "$PYTHON" -m venv "$WORK/venv-sdist" >"$WORK/sdist.log" 2>&1 \
        && "$WORK/venv-sdist/bin/pip" install --disable-pip-version-check --no-cache-dir --no-binary buffdb "$SDIST" >>"$WORK/sdist.log" 2>&1 \
        && (cd "$WORK" && "$WORK/venv-sdist/bin/python" -c "import buffdb; db = buffdb.open(':memory:'); db['k'] = b'v'; assert db['k'] == b'v'") >>"$WORK/sdist.log" 2>&1; then
        pass "the sdist builds from source and imports ($((SECONDS - t)) s)"
    else
        fail "the sdist builds from source and imports" "$WORK/sdist.log"
    fi
fi

finish
