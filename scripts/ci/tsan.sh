#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ThreadSanitizer (clang++, -O1, every report fatal) over the unit and integration tests: the
# lock-free queue, the collector thread, context hand-offs; built against the single headers
# (-DAGENTRACE_SINGLE_HEADER=ON, nothing read from include/), so this job is also the run of
# the whole test suite against single_include/ that CI requires (one build for both: the
# sanitizer and the header spelling are independent; reports point into single_include/,
# which scripts/amalgamate.py generates from include/ without reordering code).
# Builds the tests and the tool they run, not the examples or benchmarks (the gcc and asan
# jobs build those); skips the compile-fail tests (they only run the compiler). The suppression
# for moodycamel's fences is built into every test executable (tests/main.cpp).
# Build dir: build/ci-tsan.
source "$(dirname "$0")/lib.sh"
dir=build/ci-tsan
python3 scripts/amalgamate.py --check ||
  { echo "tsan.sh: single_include/ is stale: python3 scripts/amalgamate.py" >&2; exit 1; }
flags="-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=thread"
CXX=clang++ configure "$dir" -DCMAKE_BUILD_TYPE= -DAGENTRACE_SINGLE_HEADER=ON \
  -DAGENTRACE_BUILD_BENCH=OFF -DAGENTRACE_BUILD_EXAMPLES=OFF -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread"
build "$dir"
if [ -f "$dir/build.ninja" ]; then
  # Ninja records every header each object was compiled from: none may come from include/.
  used=$(ninja -C "$dir" -t deps | grep -F "$src/include/" | sort -u || true)
  if [ -n "$used" ]; then
    printf 'built from include/ instead of single_include/:\n%s\n' "$used" >&2
    exit 1
  fi
  echo "no object read a header from include/"
fi
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
run_ctest "$dir" -LE "consumer|compile_fail"
