#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets (clang++, ASan+UBSan) and runs each for SECONDS (default 60) over
# its seed corpus; the corpus grown so far is kept in build/fuzz/tests/fuzz-corpus/.
#   scripts/fuzz.sh [SECONDS] [reader|propagation]...
# CI runs each target for 10 s as part of the asan job (CTest label "fuzz").
source "$(dirname "$0")/ci/lib.sh"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(reader propagation)
dir=build/fuzz
flags="-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
CXX=clang++ configure "$dir" -DCMAKE_BUILD_TYPE= -DAGENTRACE_BUILD_FUZZ=ON \
  -DAGENTRACE_FUZZ_SECONDS="$seconds" -DAGENTRACE_BUILD_BENCH=OFF -DAGENTRACE_BUILD_EXAMPLES=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
cmake --build "$dir" -j"$jobs" --target "${targets[@]/#/fuzz_}"
regex=$(IFS='|'; echo "${targets[*]}")
run_ctest "$dir" -L fuzz -R "fuzz:($regex)\$" -j1
