#!/usr/bin/env bash
# CI recipe: tracing compiled out (-DAGENTRACE_ENABLED=OFF). Builds every test and example with
# the compiled-out spans (all instrumentation must still type-check), runs the tests that are
# meaningful without tracing (disabled_test: nothing recorded, arguments not evaluated) and runs
# every example (each must exit 0). The other test suites assert recorded spans, so they are
# built here but not run.
# Usage: scripts/ci/disabled.sh   (env: AGENTRACE_BUILD_DIR, default build/ci-disabled; JOBS)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${AGENTRACE_BUILD_DIR:-build/ci-disabled}
jobs=${JOBS:-$(nproc)}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

cmake -S . -B "$build" "${generator[@]}" "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAGENTRACE_ENABLED=OFF -DAGENTRACE_BUILD_TESTS=ON -DAGENTRACE_BUILD_EXAMPLES=ON \
  -DAGENTRACE_BUILD_BENCH=OFF ${AGENTRACE_CMAKE_ARGS:-}
cmake --build "$build" -j"$jobs"

# The build really compiled tracing out.
grep -q 'AGENTRACE_ENABLED=0' "$build/compile_commands.json" 2>/dev/null ||
  grep -rq 'AGENTRACE_ENABLED=0' "$build/CMakeFiles" "$build/build.ninja" 2>/dev/null ||
  { echo "disabled.sh: AGENTRACE_ENABLED=0 not found in the build flags" >&2; exit 1; }

ctest --test-dir "$build" --output-on-failure -j"$jobs" -R '^disabled_test:'

status=0
found=0
while IFS= read -r -d '' exe; do
  found=1
  name=$(basename "$exe")
  echo "== example $name"
  out=$(mktemp)
  if (cd "$(dirname "$exe")" && OTEL_TRACES_EXPORTER=console timeout 120 "./$name") >"$out" 2>&1; then
    # Compiled out: an example prints no trace tree.
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
done < <(find "$build/examples" -maxdepth 1 -type f -executable -print0)
[ "$found" = 1 ] || { echo "disabled.sh: no examples were built" >&2; exit 1; }
exit "$status"
