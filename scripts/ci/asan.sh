#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# AddressSanitizer + UndefinedBehaviorSanitizer (clang++, -O1, every finding fatal), unit and
# integration tests, and the tool they run; not the examples or benchmarks (the gcc and clang
# jobs build those); skips the compile-fail tests (they only compile, the sanitizers add
# nothing). Build dir: build/ci-asan.
# clang, not g++: g++ 12 with -fsanitize=address at -O1 warns -Wmaybe-uninitialized inside
# libstdc++ (std::regex via Catch2), which -Werror turns into a failed build.
source "$(dirname "$0")/lib.sh"
dir=build/ci-asan
# Line tables are enough for symbolized reports and compile faster than full debug info.
flags="-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
CXX=clang++ configure "$dir" -DCMAKE_BUILD_TYPE= -DAGENTRACE_BUILD_BENCH=OFF \
  -DAGENTRACE_BUILD_EXAMPLES=OFF -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
build "$dir"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_ctest "$dir" -LE "consumer|compile_fail"
