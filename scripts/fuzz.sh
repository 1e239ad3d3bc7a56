#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) in build/fuzz with clang, ASan and UBSan, then runs
# each for QUANTFLOW_FUZZ_SECONDS (default 30) from its seed corpus. Fails on any crash, leak,
# timeout, out-of-memory or sanitizer report. Usage: scripts/fuzz.sh [TARGET...]
# New corpus entries go to build/fuzz/corpus/<target>; crashing inputs to
# build/fuzz/artifacts/<target>/ (keep them under tests/fuzz/regressions/<target>/ once fixed).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${QUANTFLOW_FUZZ_SECONDS:-30}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(gguf safetensors safetensors_index recipe preset imatrix_gguf imatrix_dat apr zstd model_folder batch)

CXX=${FUZZ_CXX:-clang++} cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUANTFLOW_FUZZ=ON \
  -DQUANTFLOW_BUILD_TESTS=OFF -DQUANTFLOW_BUILD_BENCH=OFF -DQUANTFLOW_BUILD_PLUGINS=OFF >/dev/null
cmake --build build/fuzz --target quantflow_fuzzers -j "$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
printf '%-18s %8s %12s %12s\n' target seconds executions corpus
for t in "${targets[@]}"; do
  corpus=build/fuzz/corpus/$t artifacts=build/fuzz/artifacts/$t/ log=build/fuzz/logs/$t.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  status=0
  build/fuzz/bin/fuzz_"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  files=$(find "$corpus" -type f | wc -l)
  printf '%-18s %8s %12s %12s\n' "$t" "$seconds" "${execs:-?}" "$files"
  # libFuzzer exits non-zero on a crash, leak, timeout or OOM; a sanitizer report that did
  # not stop the run would still be in the log.
  if [ "$status" -ne 0 ] || grep -qE '^(==[0-9]+==ERROR|SUMMARY: (Address|Undefined|Leak)Sanitizer)|runtime error:' "$log"; then
    failed+=("$t")
    echo "quantflow: fuzz target $t failed (exit $status); log: $log" >&2
    grep -E 'ERROR|runtime error|Test unit written' "$log" | head -5 >&2 || true
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "quantflow: fuzzing failed: ${failed[*]}" >&2
  exit 1
fi
