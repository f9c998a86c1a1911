#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The single headers (single_include/): (1) regenerated, they equal the committed files;
# (2) each compiles alone, and all of them in two TUs link together (no non-inline definition),
# with -Wall -Wextra -Wpedantic -Werror on g++ and clang++; the quickstart example builds and
# runs against them. The whole test suite runs against them in the tsan job (built with
# -DAGENTRACE_SINGLE_HEADER=ON, without reading one header from include/); `--suite` also
# builds the tests and examples against them here with g++ and runs them (not in .ci/run).
source "$(dirname "$0")/lib.sh"
dir=build/ci-single-header
suite=0
[ "${1:-}" != "--suite" ] || suite=1

echo "== 1. regenerate and compare with the committed single_include/"
python3 scripts/amalgamate.py
if git rev-parse --git-dir >/dev/null 2>&1; then
  git diff --exit-code HEAD -- single_include/
  untracked=$(git ls-files --others --exclude-standard -- single_include/)
  if [ -n "$untracked" ]; then
    echo "not committed: $untracked" >&2
    exit 1
  fi
else
  python3 scripts/amalgamate.py --check
fi

echo "== 2. each single header alone, both compilers, -Werror"
mkdir -p "$dir/alone"
strict=(-std=c++20 -Wall -Wextra -Wpedantic -Werror -I "$src/single_include")
libs=(-lfmt -pthread)
headers=()
for h in single_include/agentrace/*.hpp; do
  headers+=("agentrace/$(basename "$h")")
  case $h in *http*) libs+=(-lcurl -lz) ;; *prometheus*) libs+=(-lcivetweb) ;; esac
done
{
  for h in "${headers[@]}"; do echo "#include <$h>"; done
  echo "int main() { return agentrace::version_string[0] == '\\0'; }"
} >"$dir/alone/tu1.cpp"
{
  for h in "${headers[@]}"; do echo "#include <$h>"; done
  echo "const char* tu2() { return agentrace::version_string; }"
} >"$dir/alone/tu2.cpp"
for cxx in g++ clang++; do
  for h in "${headers[@]}"; do
    echo "$cxx: <$h> alone"
    printf '#include <%s>\n' "$h" | $cxx "${strict[@]}" -x c++ -fsyntax-only -
  done
  echo "$cxx: all single headers in two TUs, linked"
  $cxx "${strict[@]}" "$dir/alone/tu1.cpp" "$dir/alone/tu2.cpp" -o "$dir/alone/two_tus_$cxx" "${libs[@]}"
  "$dir/alone/two_tus_$cxx"
  echo "$cxx: examples/quickstart.cpp against the single header, run"
  $cxx "${strict[@]}" -O1 examples/quickstart.cpp -o "$dir/alone/quickstart_$cxx" -lfmt -pthread
  (cd "$dir/alone" && rm -f quickstart.jsonl && "./quickstart_$cxx" >/dev/null && test -s quickstart.jsonl)
done

[ "$suite" = 1 ] || exit 0
echo "== 3. the test suite against the single headers (-DAGENTRACE_SINGLE_HEADER=ON)"
# Unoptimized, no debug info: the build is what costs here, and the gcc job covers -O2.
CXX=g++ configure "$dir" -DCMAKE_BUILD_TYPE= -DAGENTRACE_SINGLE_HEADER=ON \
  -DAGENTRACE_BUILD_BENCH=OFF
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
run_ctest "$dir" -LE consumer
