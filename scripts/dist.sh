#!/usr/bin/env bash
# Builds every release artifact for x86_64 Linux from a checkout into dist/:
#
#   buffdb-VERSION-cp39-abi3-manylinux*_x86_64.whl   Python, abi3 (3.9+), manylinux_2_17 (zig)
#   buffdb-VERSION.tar.gz                            Python sdist (builds from source with Rust)
#   buffdb-VERSION.tgz                               npm main package: JS, ESM+CJS, types, no binary
#   buffdb-linux-x64-gnu-VERSION.tgz                 npm platform package: the stripped .node (glibc 2.17, zig)
#   buffdb-VERSION-x86_64-linux-gnu.tar.gz           C: include/, lib/libbuffdb.so*, .a, pkgconfig
#   buffdb-VERSION.crate                             `cargo package -p buffdb` (verified build)
#   buffdb                                           the release command line (`cargo install --path cli`; glibc 2.17, zig)
#
#   scripts/dist.sh                 everything
#   scripts/dist.sh python node     only some (python, node, c, rust)
#
# Needs Rust, a C compiler, Python 3 and Node/npm; the build tools (maturin, ziglang,
# auditwheel from PyPI; @napi-rs/cli from the npm lockfile) are installed here.
# Every binary artifact (wheel, addon, C library, command line) has encryption at rest
# (cargo feature `encryption`: SQLCipher) with one libcrypto that scripts/openssl.sh
# builds once, trimmed to what SQLCipher needs, for glibc 2.17; the sdist and the crate
# build without it unless asked (`--features encryption`).
# Environment: CARGO_TARGET_DIR (default ./target, shared by every build so the
# dependencies compile once per profile), BUFFDB_DIST_DIR (default ./dist),
# BUFFDB_DIST_ENCRYPTION=0 (build the artifacts without encryption, to compare sizes).
# Each part logs how long it took ("dist: node: 120 s").
# The other platforms (aarch64, musl, macOS, Windows) are built by
# .github/workflows/release.yml (this machine has no Rust standard library for them).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
DIST=${BUFFDB_DIST_DIR:-$ROOT/dist}
VERSION=$(awk -F'"' '/^version *=/ {print $2; exit}' "$ROOT/Cargo.toml")
WORK=$CARGO_TARGET_DIR/dist-work
TOOLS=$CARGO_TARGET_DIR/dist-venv
PYTHON=${PYTHON:-python3}
# glibc 2.17 = manylinux2014: zig links against that glibc's symbols, whatever this machine has.
MANYLINUX=manylinux2014

# SQLite without what no user can reach (see the file): smaller artifacts.
. "$ROOT/scripts/sqlite-trim.sh"
ENCRYPTION=${BUFFDB_DIST_ENCRYPTION:-1}
FEATURES=()
[ "$ENCRYPTION" = 0 ] || FEATURES=(--features encryption)

log() { echo "dist: $*" >&2; }
timed() { # name command...: runs it and logs how long it took
    local name=$1 start=$SECONDS; shift
    "$@"
    log "$name: $((SECONDS - start)) s"
}

# Pinned: the versions these scripts were tested with.
tools() {
    if [ ! -x "$TOOLS/bin/maturin" ] || [ ! -x "$TOOLS/bin/auditwheel" ] || ! "$TOOLS/bin/python" -c 'import ziglang' 2>/dev/null; then
        log "installing maturin, ziglang, auditwheel into $TOOLS"
        "$PYTHON" -m venv "$TOOLS"
        "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check \
            "maturin==1.16.0" "ziglang==0.17.1" "auditwheel==6.8.2"
    fi
}

python_dist() {
    tools
    # maturin finds zig as `python -m ziglang` of the venv on PATH.
    local path=$TOOLS/bin:$PATH
    PATH=$path "$TOOLS/bin/maturin" build --release --strip --zig --compatibility "$MANYLINUX" \
        "${FEATURES[@]}" --target x86_64-unknown-linux-gnu --manifest-path "$ROOT/python/Cargo.toml" --out "$DIST"
    PATH=$path "$TOOLS/bin/maturin" sdist --manifest-path "$ROOT/python/Cargo.toml" --out "$DIST"
    # The index accepts only wheels whose tag matches what they link against.
    local whl
    for whl in "$DIST"/buffdb-"$VERSION"-*manylinux*.whl; do
        "$TOOLS/bin/auditwheel" show "$whl" | tee "$WORK/auditwheel.txt" >&2
        grep -q 'manylinux_2_17_' "$WORK/auditwheel.txt" || { log "auditwheel does not accept $whl as manylinux_2_17"; return 1; }
    done
}

# zig (from the ziglang wheel, driven by maturin's `zig cc` wrapper, as `maturin --zig`
# does) as the C compiler and linker of x86_64-unknown-linux-gnu builds: the addon and
# the CLI then need glibc >= 2.17 like the wheel, whatever glibc this machine has.
use_zig() {
    tools
    local dir=$WORK/zig tool
    mkdir -p "$dir"
    for tool in cc c++; do
        cat >"$dir/zig$tool" <<SH
#!/bin/sh
export CARGO_ZIGBUILD_ZIG_COMMAND="$TOOLS/bin/python3" CARGO_ZIGBUILD_ZIG_COMMAND_ARGS="-m ziglang"
exec "$TOOLS/bin/maturin" zig $tool -- -target x86_64-linux-gnu.2.17 "\$@"
SH
        chmod +x "$dir/zig$tool"
    done
    export CC_x86_64_unknown_linux_gnu=$dir/zigcc CXX_x86_64_unknown_linux_gnu=$dir/zigc++
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=$dir/zigcc
}

glibc_floor() { # the newest glibc symbol version a binary needs
    objdump -T "$1" | grep -oE 'GLIBC_[0-9.]+' | sort -Vu | tail -1
}

node_dist() {
    (
        use_zig
        cd "$ROOT/node"
        # The build tool is a devDependency pinned by the committed lockfile.
        npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
        rm -rf "$WORK/node"
        # Release profile (thin LTO); the committed loader (index.js) and typings
        # are left as they are. Stripped afterwards: napi's --strip sets RUSTFLAGS,
        # which would compile every dependency again instead of sharing the CLI's.
        npx napi build --platform --release "${FEATURES[@]}" --output-dir "$WORK/node" \
            --no-js --dts "$WORK/node/index.d.ts"
        strip "$WORK"/node/*.node
        log "$(basename "$WORK"/node/*.node) needs $(glibc_floor "$WORK"/node/*.node)"
        node scripts/pack-dist.cjs "$WORK/node" "$DIST"
    )
}

c_dist() {
    local name=buffdb-$VERSION-x86_64-linux-gnu
    local stage=$WORK/c/$name
    rm -rf "$WORK/c"
    local features=capi
    [ "$ENCRYPTION" = 0 ] || features="capi encryption"
    BUFFDB_C_FEATURES=$features "$ROOT/scripts/build-c.sh" install "$stage"
    # Relocatable: pkg-config derives the prefix from where buffdb.pc lies.
    sed -i 's|^prefix=.*|prefix=${pcfiledir}/../..|' "$stage/lib/pkgconfig/buffdb.pc"
    cp "$ROOT/README.md" "$stage/"
    tar -C "$WORK/c" --owner=0 --group=0 --numeric-owner -czf "$DIST/$name.tar.gz" "$name"
}

rust_dist() {
    # The library crate as crates.io would take it (builds the packaged sources).
    # buffdb-cli depends on buffdb by version too, so it can only be packaged once
    # that version of buffdb is on crates.io; `cargo install --path cli` works now.
    (cd "$ROOT" && cargo package --locked --allow-dirty -p buffdb)
    cp "$CARGO_TARGET_DIR/package/buffdb-$VERSION.crate" "$DIST/"
    # --target and zig like the addon (glibc 2.17); the `dist` profile (Cargo.toml:
    # fat LTO, size-optimised but for the engine) makes it about 40% smaller.
    (cd "$ROOT" && use_zig && cargo build --locked --profile dist -p buffdb-cli "${FEATURES[@]}" --target x86_64-unknown-linux-gnu)
    install -m 0755 "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/dist/buffdb" "$DIST/buffdb"
    strip "$DIST/buffdb"
    log "buffdb (CLI) needs $(glibc_floor "$DIST/buffdb")"
}

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(python node c rust)
if [ $# -eq 0 ]; then rm -rf "$DIST"; fi
mkdir -p "$DIST" "$WORK"
if [ "$ENCRYPTION" != 0 ]; then
    # One libcrypto for every artifact (built once per target dir; exports OPENSSL_*).
    tools
    timed openssl . "$ROOT/scripts/openssl.sh"
fi
for part in "${parts[@]}"; do
    case "$part" in
        python|node|c|rust) timed "$part" "${part}_dist" ;;
        *) echo "usage: $0 [python|node|c|rust]..." >&2; exit 2 ;;
    esac
done
log "artifacts in $DIST:"
ls -l "$DIST" >&2
