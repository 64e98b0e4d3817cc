#!/usr/bin/env bash
# The libcrypto that the released artifacts' SQLCipher links (issue 26): OpenSSL from the
# openssl-src crate on crates.io (the source openssl-sys's `vendored` build uses), built
# once per target directory and shared by the wheel, the npm addon, the C library and the
# command line, instead of one vendored build per cargo profile and target.
#
# SQLCipher calls AES-256-CBC (EVP), HMAC with SHA-1/256/512 (EVP_MAC), PBKDF2 and
# RAND (a DRBG on AES-CTR, seeded by the OS); everything else that OpenSSL's
# configuration can leave out is out: TLS, the other ciphers, digests, public-key
# algorithms and KDFs, engines, error strings. OpenSSL 3's built-in provider still
# registers what is left (RSA, AES-GCM, X.509 and ASN.1 cannot be configured away), so
# the AVX-512 assembly of AES-GCM/XTS/CFB and of RSA (0.8 MB, none of it used by
# SQLCipher) is generated as an assembler without AVX-512 gets it: stubs that report
# the CPU feature absent. Compiled with -Os and OPENSSL_SMALL_FOOTPRINT, each function
# in its own section (the final link keeps only what is reached), position
# independent, with the assembly SQLCipher uses (AES-NI, SHA-1/256/512) kept. zig's C
# compiler targets glibc 2.17, like the wheel, the addon and the command line, so the
# library adds no newer glibc symbol to any of them.
#
#   . scripts/openssl.sh     build it (once) and export OPENSSL_NO_VENDOR, OPENSSL_DIR,
#                            OPENSSL_STATIC, OPENSSL_LIBS: every `--features encryption`
#                            build in this shell then links it (openssl-sys, rusqlite)
#   scripts/openssl.sh       the same, then print the directory
#
# Needs perl and make (as openssl-src does). Environment: CARGO_TARGET_DIR (default
# ./target): it is built into $CARGO_TARGET_DIR/openssl/<version>-<config hash>/;
# zig comes from $CARGO_TARGET_DIR/dist-venv (PyPI ziglang, the venv scripts/dist.sh uses).

openssl_build() {
    local root target tools src version opts stubs key out build zig log start
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    target=${CARGO_TARGET_DIR:-$root/target}
    tools=$target/dist-venv
    # The source: the locked openssl-src crate (downloaded by cargo like any other).
    src=$(cd "$root" && cargo metadata --locked --format-version 1 --all-features 2>/dev/null | python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "openssl-src":
        print(p["version"], os.path.join(os.path.dirname(p["manifest_path"]), "openssl")); break')
    version=${src%% *}
    src=${src#* }
    if [ -z "$version" ] || [ ! -f "$src/Configure" ]; then
        echo "openssl.sh: openssl-src is not in Cargo.lock or not downloaded (cargo fetch)" >&2; return 1
    fi
    if [ ! -x "$tools/bin/python" ] || ! "$tools/bin/python" -c 'import ziglang' 2>/dev/null; then
        echo "openssl.sh: installing ziglang into $tools" >&2
        python3 -m venv "$tools" && "$tools/bin/python" -m pip install --quiet --disable-pip-version-check \
            "maturin==1.16.0" "ziglang==0.17.1" "auditwheel==6.8.2" || return 1
    fi
    zig=$("$tools/bin/python" -c 'import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
    # What SQLCipher does not need. `no-bulk` alone takes out most (DES, DH, DSA, EC,
    # ChaCha, CMS, OCSP, engines, ...); the rest name what it leaves.
    opts=(no-shared no-module no-dso no-engine no-tests no-apps no-docs no-legacy
          no-bulk no-ssl no-tls no-dtls no-quic no-sock no-http no-ec no-ecx no-sm2 no-gost
          no-ml-kem no-ml-dsa no-slh-dsa no-lms no-scrypt no-argon2 no-blake2 no-md4 no-mdc2
          no-rc2 no-rc4 no-rc5 no-idea no-seed no-camellia no-aria no-cast no-bf no-des
          no-whirlpool no-rmd160 no-siphash no-sm3 no-sm4 no-chacha no-poly1305 no-ocb no-siv
          no-cmac no-cms no-cmp no-ts no-ct no-ocsp no-srp no-srtp no-psk no-rfc3779
          no-comp no-zlib no-ui-console no-err no-deprecated no-autoload-config no-async
          no-filenames no-trace)
    # Generated as without an AVX-512 assembler (see noavx512 below).
    stubs=(crypto/modes/aes-gcm-avx512.s crypto/aes/aesni-xts-avx512.s crypto/aes/aes-cfb-avx512.s
           crypto/bn/rsaz-2k-avx512.s crypto/bn/rsaz-3k-avx512.s crypto/bn/rsaz-4k-avx512.s
           crypto/bn/rsaz-2k-avxifma.s crypto/bn/rsaz-3k-avxifma.s crypto/bn/rsaz-4k-avxifma.s)
    key=$(printf '%s\n' "$version" "${opts[*]}" "${stubs[*]}" "$("$zig" version)" v3 | sha256sum | cut -c1-12)
    out=$target/openssl/$version-$key
    if [ ! -f "$out/lib/libcrypto.a" ]; then
        build=$target/openssl/build-$key
        log=$target/openssl/build-$key.log
        rm -rf "$build" "$out" && mkdir -p "$build" "$build/bin"
        # zig as the C compiler, for glibc 2.17 (a tiny wrapper: Configure takes one word).
        printf '#!/bin/sh\nexec "%s" cc -target x86_64-linux-gnu.2.17 "$@"\n' "$zig" >"$build/bin/cc"
        # For the stubs: a "compiler" the generators take for clang (so the ELF notes
        # come out in GNU syntax) but without a version, so without AVX-512.
        printf '#!/bin/sh\n[ "$1" = --version ] && echo "clang (no AVX-512 assembler)"\nexit 0\n' >"$build/bin/noavx512"
        chmod +x "$build/bin/cc" "$build/bin/noavx512"
        echo "openssl.sh: building OpenSSL $version (libcrypto for SQLCipher) into $out (log $log)" >&2
        start=$SECONDS
        if ! (cd "$build" && perl "$src/Configure" linux-x86_64 --prefix="$out" --libdir=lib \
                "${opts[@]}" CC="$build/bin/cc" AR=ar RANLIB=ranlib \
                CFLAGS="-Os -ffunction-sections -fdata-sections -DOPENSSL_SMALL_FOOTPRINT" \
            && make CC="$build/bin/noavx512" "${stubs[@]}" \
            && make -j"$(nproc)" build_libs && make install_dev) >"$log" 2>&1; then
            tail -n 40 "$log" >&2
            echo "openssl.sh: the OpenSSL build failed (log $log)" >&2; return 1
        fi
        rm -rf "$build"
        echo "openssl.sh: OpenSSL built in $((SECONDS - start)) s" >&2
    fi
    # openssl-sys takes this build instead of compiling its vendored copy; only
    # libcrypto is linked (SQLCipher needs nothing of libssl).
    export OPENSSL_NO_VENDOR=1 OPENSSL_DIR=$out OPENSSL_STATIC=1 OPENSSL_LIBS=crypto

}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    openssl_build
    echo "$OPENSSL_DIR"
else
    openssl_build || return 1
fi
