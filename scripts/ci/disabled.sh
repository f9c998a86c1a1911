#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tracing compiled out (-DAGENTRACE_ENABLED=OFF): the examples, agentrace-eval and disabled_test
# are built with the compiled-out spans (all instrumentation must still type-check), then the
# test that is meaningful without tracing runs (disabled_test: every span form, nothing recorded,
# side-effecting macro arguments not evaluated, a compiled-in TU linked into the same program)
# and every example runs and must exit 0 without printing a trace.
# Build dir: build/ci-disabled.
source "$(dirname "$0")/lib.sh"
dir=build/ci-disabled
# Unoptimized, no debug info: what this job proves is that everything type-checks and runs
# with tracing compiled out; the build is its cost.
CXX=${CXX:-g++} configure "$dir" -DCMAKE_BUILD_TYPE= -DAGENTRACE_ENABLED=OFF \
  -DAGENTRACE_BUILD_TESTS=ON -DAGENTRACE_BUILD_EXAMPLES=ON -DAGENTRACE_BUILD_BENCH=OFF
# What users compile with tracing off: the examples (whole programs), the tool and disabled_test
# (every span form, compiled out, beside a translation unit built with tracing on). The other
# tests exercise the recording machinery and would only prove they compile.
cmake --build "$dir" -j"$jobs" --target disabled_test agentrace-eval
if [ -f "$dir/build.ninja" ]; then
  cmake --build "$dir" -j"$jobs" --target examples/all
else
  cmake --build "$dir/examples" -j"$jobs"
fi

# The build really compiled tracing out.
grep -rqs -- '-DAGENTRACE_ENABLED=0' "$dir/build.ninja" "$dir/CMakeFiles" "$dir/tests/CMakeFiles" ||
  { echo "disabled.sh: -DAGENTRACE_ENABLED=0 is not in the build flags" >&2; exit 1; }

run_ctest "$dir" -R '^disabled_test:'

status=0 found=0
while IFS= read -r -d '' exe; do
  found=1
  name=$(basename "$exe")
  echo "== example $name"
  out=$(mktemp)
  if (cd "$(dirname "$exe")" && OTEL_TRACES_EXPORTER=console timeout 120 "./$name") >"$out" 2>&1; then
    if grep -q '^trace [0-9a-f]\{32\}' "$out"; then
      echo "disabled.sh: example $name printed a trace with tracing compiled out" >&2
      status=1
    fi
  else
    echo "disabled.sh: example $name failed" >&2
    cat "$out" >&2
    status=1
  fi
  rm -f "$out"
done < <(find "$dir/examples" -maxdepth 1 -type f -executable -print0)
[ "$found" = 1 ] || { echo "disabled.sh: no examples were built" >&2; exit 1; }
exit "$status"
