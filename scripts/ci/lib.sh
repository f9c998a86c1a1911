# SPDX-License-Identifier: MIT
# Shared by the CI job scripts (sourced, not run). Each job configures its own build directory
# under build/, builds with all cores (AGENTRACE_JOBS overrides) and runs CTest.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$src"
jobs=${AGENTRACE_JOBS:-$(nproc)}
# ccache hits across clones and build directories: paths below the checkout are hashed relative.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$src} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}

# configure DIR [cmake args...]: Ninja and ccache when available; a directory that is already
# configured keeps its generator (build/test may come from an older Makefile configure).
configure() {
  local dir=$1
  shift
  local extra=()
  if [ ! -f "$dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then extra+=(-G Ninja); fi
  if command -v ccache >/dev/null; then extra+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  # The OTLP validator lives beside the repository by default; a clone elsewhere names it here.
  if [ -n "${AGENTRACE_OTLP_CHECK:-}" ]; then
    extra+=(-DAGENTRACE_OTLP_CHECK="$AGENTRACE_OTLP_CHECK")
  elif [ ! -e "$src/../shared/otlp-check/otlp-check" ] && [ ! -f "$dir/CMakeCache.txt" ]; then
    echo "note: $src/../shared/otlp-check/otlp-check does not exist; the otlp-check tests" \
      "will fail (set AGENTRACE_OTLP_CHECK=/path/to/otlp-check)" >&2
  fi
  cmake -S "$src" -B "$dir" "${extra[@]}" "$@"
}
build() { cmake --build "$1" -j"$jobs"; }
run_ctest() {
  local dir=$1
  shift
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@"
}
