#!/usr/bin/env bash
# The C library: libbuffdb.so (SONAME libbuffdb.so.0), libbuffdb.a, include/buffdb.h, buffdb.pc.
# Both export only the buffdb_* C API (the static one through prelink_static, below).
#
#   scripts/build-c.sh build               build both libraries (cargo profile "capi")
#   scripts/build-c.sh install PREFIX      build, then install lib/, include/ (buffdb.h and the
#                                          C++/PhysFS/SDL headers beside it) and
#                                          lib/pkgconfig/buffdb.pc under PREFIX
#                                          (then: cc app.c $(pkg-config --cflags --libs buffdb))
#   scripts/build-c.sh header              regenerate include/buffdb.h with the pinned cbindgen
#   scripts/build-c.sh check-header        fail when include/buffdb.h differs from a fresh one
#
# Environment: CARGO_TARGET_DIR (default ./target), BUFFDB_C_PROFILE (default capi),
# BUFFDB_C_FEATURES (default "capi"; the released tarball adds "encryption": SQLCipher and
# the libcrypto of scripts/openssl.sh, see scripts/dist.sh).
# The root crate stays a plain rlib: the cdylib/staticlib crate types and the `capi`
# feature are requested only here, so `cargo test` and the Python/Node modules never
# build or export the C symbols.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CBINDGEN_VERSION=0.29.4
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
# SQLite without what no user can reach (see the file): a smaller library.
. "$ROOT/scripts/sqlite-trim.sh"
PROFILE=${BUFFDB_C_PROFILE:-capi}
FEATURES=${BUFFDB_C_FEATURES:-capi}
OUT=$TARGET_DIR/$PROFILE
SONAME_MAJOR=0
VERSION=$(awk -F'"' '/^version *=/ {print $2; exit}' "$ROOT/Cargo.toml")
# What a static link needs besides libbuffdb.a (from rustc --print native-static-libs).
NATIVE_LIBS_DEFAULT="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

log() { echo "build-c: $*" >&2; }

cbindgen_bin() {
    local local_bin="$ROOT/target/tools/bin/cbindgen"
    if [ -x "$local_bin" ] && "$local_bin" --version 2>/dev/null | grep -q " $CBINDGEN_VERSION\$"; then
        echo "$local_bin"; return
    fi
    if command -v cbindgen >/dev/null 2>&1 && cbindgen --version 2>/dev/null | grep -q " $CBINDGEN_VERSION\$"; then
        command -v cbindgen; return
    fi
    log "installing cbindgen $CBINDGEN_VERSION into target/tools (once)"
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --root "$ROOT/target/tools" >&2
    echo "$local_bin"
}

gen_header() { # $1 = output file
    local cb errlog
    cb=$(cbindgen_bin)
    errlog=$(mktemp)
    if ! (cd "$ROOT" && "$cb" --config cbindgen.toml --crate buffdb --output "$1") 2>"$errlog"; then
        grep -v "^WARN" "$errlog" >&2 || true
        rm -f "$errlog"
        log "cbindgen failed"; return 1
    fi
    rm -f "$errlog"
    # every C name the header declares carries the buffdb_/BUFFDB_ prefix
    if grep -E '^(typedef|#define|[a-z_ ]+\*? ?[a-z_]+\()' "$1" | grep -vE 'buffdb|BUFFDB' >&2; then
        log "the header declares names without the buffdb_ prefix"; return 1
    fi
}

build() {
    local errlog native
    errlog=$(mktemp)
    log "cargo rustc --profile $PROFILE --features '$FEATURES' (cdylib + staticlib) -> $OUT"
    if ! (cd "$ROOT" && cargo rustc --lib --profile "$PROFILE" --no-default-features --features "$FEATURES" \
            --crate-type cdylib --crate-type staticlib \
            -- -C "link-arg=-Wl,-soname,libbuffdb.so.$SONAME_MAJOR" --print native-static-libs) 2>"$errlog"; then
        cat "$errlog" >&2; rm -f "$errlog"; return 1
    fi
    native=$(sed -n 's/.*native-static-libs: //p' "$errlog" | tail -1)
    rm -f "$errlog"
    echo "${native:-$NATIVE_LIBS_DEFAULT}" > "$OUT/buffdb-native-static-libs.txt"
    test -f "$OUT/libbuffdb.so" && test -f "$OUT/libbuffdb.a"
}

# libbuffdb.a as one relocatable object whose only global symbols are the C API's.
# cargo's staticlib is every object of the crate graph with every symbol global:
# SQLite's sqlite3_*, OpenSSL's (the encrypted build holds all of libcrypto.a) and
# Rust's. An application that links its own SQLite or OpenSSL beside it then fails
# with "multiple definition of sqlite3_open", or picks one copy's functions for both.
# `ld -r` pulls in only the members the buffdb_* functions reach (-d gives common
# symbols their space so they can be made local), objcopy makes every other symbol
# local and drops the unused LLVM bitcode section (binutils' LLVM plugin aborts on it).
prelink_static() { # $1 = cargo's libbuffdb.a, $2 = output archive
    local dir exports
    dir=$(mktemp -d)
    exports="$dir/exports.txt"
    # The exported C API is what the shared library exports: the same list.
    readelf --dyn-syms -W "$OUT/libbuffdb.so" | awk '$7 != "UND" && $8 ~ /^buffdb_/ {print $8}' | sort -u >"$exports"
    [ -s "$exports" ] || { log "no buffdb_ symbols in $OUT/libbuffdb.so"; rm -rf "$dir"; return 1; }
    ld -r -d --gc-sections $(sed 's/^/-u /' "$exports") -o "$dir/buffdb.o" "$1"
    objcopy --keep-global-symbols="$exports" --remove-section=.llvmbc --remove-section=.llvmcmd \
        "$dir/buffdb.o" "$dir/libbuffdb.o"
    rm -f "$2"
    ar rcs "$2" "$dir/libbuffdb.o"
    rm -rf "$dir"
}

install_to() { # $1 = prefix
    local prefix libdir native
    prefix=$(mkdir -p "$1" && cd "$1" && pwd)
    libdir="$prefix/lib"
    build
    native=$(cat "$OUT/buffdb-native-static-libs.txt")
    mkdir -p "$libdir/pkgconfig" "$prefix/include"
    # buffdb.h, and beside it the header-only C++ wrapper and engine adapters (buffdb.hpp,
    # buffdb_physfs.h, buffdb_sdl.h).
    install -m 0644 "$ROOT"/include/buffdb*.h* "$prefix/include/"
    install -m 0755 "$OUT/libbuffdb.so" "$libdir/libbuffdb.so.$VERSION"
    ln -sf "libbuffdb.so.$VERSION" "$libdir/libbuffdb.so.$SONAME_MAJOR"
    ln -sf "libbuffdb.so.$SONAME_MAJOR" "$libdir/libbuffdb.so"
    prelink_static "$OUT/libbuffdb.a" "$libdir/libbuffdb.a"
    chmod 0644 "$libdir/libbuffdb.a"
    cat > "$libdir/pkgconfig/buffdb.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: buffdb
Description: Embedded database: KV, blobs, versioned checksummed path streams and prefix search in one file
URL: https://github.com/buffdb/buffdb
Version: $VERSION
Libs: -L\${libdir} -lbuffdb
Libs.private: $native
Cflags: -I\${includedir}
PC
    log "installed into $prefix (lib/libbuffdb.so.$VERSION, lib/libbuffdb.a, include/buffdb*.h*, lib/pkgconfig/buffdb.pc)"
}

case "${1:-build}" in
    build) build ;;
    install) [ $# -ge 2 ] || { echo "usage: $0 install PREFIX" >&2; exit 2; }; install_to "$2" ;;
    header) gen_header "$ROOT/include/buffdb.h"; log "wrote include/buffdb.h" ;;
    check-header)
        tmp=$(mktemp --suffix=.h)
        gen_header "$tmp"
        if ! diff -u "$ROOT/include/buffdb.h" "$tmp"; then
            rm -f "$tmp"
            log "include/buffdb.h is stale: run scripts/build-c.sh header and commit it"; exit 1
        fi
        rm -f "$tmp"; log "include/buffdb.h is up to date" ;;
    *) echo "usage: $0 build | install PREFIX | header | check-header" >&2; exit 2 ;;
esac
