#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (query text, stored rows, open options) for
# SECONDS each (default 120). Not part of ./scripts/test.sh: it needs a sanitizer build
# (~15 min on 2 cores) and time. cargo-fuzz comes from crates.io into target/tools; the
# stable toolchain is allowed its -Z sanitizer flags with RUSTC_BOOTSTRAP=1 (it ships the
# ASan runtime). Exits non-zero when a target finds a crash (see fuzz/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-120}
targets=${FUZZ_TARGETS:-"query_text stored_rows open_options"}
export PATH="$PWD/target/tools/bin:$PATH" RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz --root target/tools
# Scratch databases go to memory when /dev/shm is there.
[ -d /dev/shm ] && export TMPDIR=/dev/shm
failed=()
for t in $targets; do
  mkdir -p "fuzz/corpus/$t"
  seeds=(); [ -d "fuzz/seeds/$t" ] && seeds=("fuzz/seeds/$t")
  dict=(); [ -f "fuzz/$t.dict" ] && dict=("-dict=fuzz/$t.dict")
  echo "=== fuzz $t: ${secs}s ==="
  status=0
  cargo fuzz run -O "$t" "fuzz/corpus/$t" "${seeds[@]}" -- -max_total_time="$secs" -timeout=20 \
    -rss_limit_mb=4096 "${dict[@]}" > "target/fuzz-$t.log" 2>&1 || status=$?
  grep -E "^(Done [0-9]+ runs|==[0-9]+==|thread .* panicked|SUMMARY|query .* failed)" "target/fuzz-$t.log" || true
  if [ "$status" -ne 0 ]; then failed+=("$t"); echo "$t: crash, see target/fuzz-$t.log and fuzz/artifacts/$t/"; fi
done
if [ ${#failed[@]} -gt 0 ]; then echo "fuzz targets that failed: ${failed[*]}"; exit 1; fi
echo "fuzz: no crash"
