#!/usr/bin/env bash
# The whole test suite: formatting, the release build's tests, the same tests under
# AddressSanitizer + UndefinedBehaviorSanitizer, then every fuzz target for
# QUANTFLOW_FUZZ_SECONDS (default 30) each.
#
# The byte-identity checks against llama.cpp need ../shared/testdata beside the repository.
# Here its absence fails the suite; QUANTFLOW_REQUIRE_SHARED=0 runs without it (those checks
# are then skipped, and listed as skipped at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
export QUANTFLOW_REQUIRE_SHARED=${QUANTFLOW_REQUIRE_SHARED:-1}
bash scripts/deps.sh
bash scripts/format.sh --check
jobs=$(nproc)
bash scripts/build.sh release
ctest --test-dir build/release --output-on-failure -j "$jobs"
bash scripts/build.sh sanitize
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/sanitize --output-on-failure -j "$jobs" -LE no-sanitize
bash scripts/fuzz.sh
bash scripts/skipped.sh build/release build/sanitize
