#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# clang++ with AddressSanitizer + UndefinedBehaviorSanitizer (-O1, every finding fatal), -Werror:
# builds tests, examples and tools (benchmarks: the gcc job, and `scripts/test.sh clang`) and runs every CTest test but the
# packaging consumers (the gcc job runs those), the compile-fail tests included (clang's
# diagnostics must match their `// expect:` lines too). This is .ci/run's clang++ build;
# scripts/ci/clang.sh (an unsanitized clang++ build, `scripts/test.sh all`) adds little to it.
# Build dir: build/ci-asan.
# clang, not g++: g++ 12 with -fsanitize=address at -O1 warns -Wmaybe-uninitialized inside
# libstdc++ (std::regex via Catch2), which -Werror turns into a failed build.
source "$(dirname "$0")/lib.sh"
dir=build/ci-asan
# Line tables are enough for symbolized reports and compile faster than full debug info.
flags="-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
CXX=clang++ configure "$dir" -DCMAKE_BUILD_TYPE= -DAGENTRACE_BUILD_FUZZ=ON -DAGENTRACE_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
build "$dir"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_ctest "$dir" -LE consumer
