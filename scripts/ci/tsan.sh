#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ThreadSanitizer (clang++, -O1, every report fatal) over the unit and integration tests: the
# lock-free queue, the collector thread, context hand-offs. Build dir: build/ci-tsan.
source "$(dirname "$0")/lib.sh"
dir=build/ci-tsan
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=thread"
CXX=clang++ configure "$dir" -DCMAKE_BUILD_TYPE=Debug -DAGENTRACE_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread"
build "$dir"
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
run_ctest "$dir" -LE consumer
