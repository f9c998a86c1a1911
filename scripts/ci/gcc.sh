#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# g++, -O2 (RelWithDebInfo without the debug info, which only costs build time here),
# -Werror: builds everything (tests, benchmarks, examples, tools) and runs every CTest test,
# the packaging consumers included. Build dir: build/test
# (AGENTRACE_BUILD_DIR overrides; AGENTRACE_CMAKE_ARGS adds configure arguments).
source "$(dirname "$0")/lib.sh"
dir=${AGENTRACE_BUILD_DIR:-build/test}
# shellcheck disable=SC2086  # AGENTRACE_CMAKE_ARGS is a list of arguments
CXX=${CXX:-g++} configure "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" ${AGENTRACE_CMAKE_ARGS:-}
build "$dir"
run_ctest "$dir"
