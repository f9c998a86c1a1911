#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# clang++, Debug, -Werror: builds everything and runs the tests (the packaging consumers run in
# the gcc job). Build dir: build/ci-clang.
source "$(dirname "$0")/lib.sh"
dir=build/ci-clang
CXX=clang++ configure "$dir" -DCMAKE_BUILD_TYPE=Debug
build "$dir"
run_ctest "$dir" -LE consumer
