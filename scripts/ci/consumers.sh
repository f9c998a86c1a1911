#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Packaging consumers: builds and runs tests/packaging/consumer/main.cpp the four ways
# docs/install.md tells users to, each in a fresh temporary directory, by running the very
# snippet files docs/install.md shows (and checking that it shows them verbatim); and, against
# the library of compiled mode (AGENTRACE_COMPILED_LIB), examples/quickstart.cpp and that program.
#   scripts/ci/consumers.sh [docs|single_header|add_subdirectory|find_package|pkg_config|compiled_lib]...
# No argument: all of them. CTest runs each as consumer_<name>.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
pk=$src/tests/packaging
version=$(sed -n 's/^#define AGENTRACE_VERSION_STRING "\(.*\)"$/\1/p' "$src/include/agentrace/version.hpp")
expected="agentrace $version: 2 spans, consumer.inner is a child of consumer.outer"
export AGENTRACE_SRC=$src
# Consumer CMake projects get strict warnings: agentrace's headers must not warn in users' code.
export CXXFLAGS="-Wall -Wextra -Wpedantic -Werror"
command -v ccache >/dev/null && export CMAKE_CXX_COMPILER_LAUNCHER=ccache
work=$(mktemp -d "${TMPDIR:-/tmp}/agentrace-consumers.XXXXXX")
trap 'rm -rf "$work"' EXIT

snippet() { # snippet DIR FILE [VAR=value...]: run a docs/install.md shell snippet in DIR, as pasted
  local dir=$1 file=$2; shift 2
  (cd "$dir" && env "$@" bash -euo pipefail "$file")
}
expect_output() {
  local got
  got=$("$1")
  if [ "$got" != "$expected" ]; then
    printf 'consumer output mismatch\n  expected: %s\n  got:      %s\n' "$expected" "$got" >&2
    return 1
  fi
  echo "ok: $got"
}
app_dir() { # app_dir NAME FILES...: a fresh consumer project with main.cpp and FILES
  local d=$work/$1; shift
  mkdir -p "$d"
  cp "$pk/consumer/main.cpp" "$@" "$d/"
  echo "$d"
}
install_to() { # install_to DIR: docs/install.md's install snippet into DIR/stage, then moved to
  # DIR/prefix (the installed tree must be relocatable and must not point into the sources)
  snippet "$1" "$pk/find_package/install.sh" PREFIX="$1/stage" >"$1/install.log"
  mv "$1/stage" "$1/prefix"
  if grep -rl -- "$src" "$1/prefix"; then
    echo "the installed files above refer to the source tree $src" >&2
    return 1
  fi
}

consumer_docs() {
  python3 - "$src/docs/install.md" "$pk" <<'PY'
import pathlib, sys
section = pathlib.Path(sys.argv[1]).read_text()
missing = []
for rel in ("single_header/build.sh", "add_subdirectory/CMakeLists.txt", "find_package/install.sh",
            "find_package/CMakeLists.txt", "find_package/build.sh", "pkg_config/build.sh",
            "compiled_lib/install.sh"):
    text = (pathlib.Path(sys.argv[2]) / rel).read_text()
    if "```" + ("cmake" if rel.endswith(".txt") else "sh") + "\n" + text + "```" not in section:
        missing.append(rel)
if missing:
    sys.exit("docs/install.md does not show these verbatim: tests/packaging/"
             + ", tests/packaging/".join(missing))
print("ok: docs/install.md snippets match tests/packaging/")
PY
}

consumer_single_header() {
  local d
  d=$(app_dir single_header)
  snippet "$d" "$pk/single_header/build.sh"
  # only the copied single headers were used: no include/ on the command line, the two files
  # docs/install.md copies (agentrace.hpp and the span.hpp it builds on)
  [ "$(find "$d/third_party" -type f | wc -l)" -eq 2 ] ||
    { echo "consumer single_header: expected 2 copied headers" >&2; return 1; }
  expect_output "$d/my_agent"
}

consumer_add_subdirectory() {
  local d
  d=$(app_dir add_subdirectory "$pk/add_subdirectory/CMakeLists.txt")
  mkdir -p "$d/third_party"
  ln -s "$src" "$d/third_party/agentrace"
  (cd "$d" && cmake -S . -B build >configure.log && cmake --build build >build.log)
  expect_output "$d/build/my_agent"
}

consumer_find_package() {
  local d
  d=$(app_dir find_package "$pk/find_package/CMakeLists.txt")
  install_to "$d"
  snippet "$d" "$pk/find_package/build.sh" PREFIX="$d/prefix" >"$d/build.log"
  expect_output "$d/build/my_agent"
  # the build tree's export works too (agentrace_DIR = the agentrace build directory)
  (cd "$d" && cmake -S . -B build-tree -Dagentrace_DIR="$d/agentrace-build" >/dev/null &&
    cmake --build build-tree >/dev/null)
  expect_output "$d/build-tree/my_agent"
  # the version file rejects another minor version (0.x: minors may break the API)
  local major minor
  major=${version%%.*} minor=${version#*.} minor=${minor%%.*}
  mkdir -p "$d/other"
  cp "$d/main.cpp" "$d/other/"
  sed "s/find_package(agentrace [0-9.]* /find_package(agentrace $major.$((minor + 1)) /" \
    "$d/CMakeLists.txt" >"$d/other/CMakeLists.txt"
  if cmake -S "$d/other" -B "$d/other/build" -DCMAKE_PREFIX_PATH="$d/prefix" >"$d/other.log" 2>&1; then
    echo "find_package(agentrace $major.$((minor + 1))) accepted version $version" >&2
    return 1
  fi
  grep -q "agentraceConfig.cmake, version: $version" "$d/other.log"
  echo "ok: find_package(agentrace $major.$((minor + 1))) rejects $version"
}

consumer_pkg_config() {
  local d
  d=$(app_dir pkg_config)
  install_to "$d"
  [ "$(PKG_CONFIG_PATH=$d/prefix/share/pkgconfig pkg-config --modversion agentrace)" = "$version" ]
  snippet "$d" "$pk/pkg_config/build.sh" PREFIX="$d/prefix"
  expect_output "$d/my_agent"
}

# Compiled mode: docs/install.md's install snippet with AGENTRACE_COMPILED_LIB=ON, then the
# find_package project around examples/quickstart.cpp (which must compile against declarations
# only, start() and the exporters coming from the library) and around the consumer program,
# which includes <agentrace/agentrace.hpp> as well and must link without a second definition;
# then the quickstart again with the pkg-config line; then tests/light_eval_program.cpp, which
# reads, summarizes, queries the example fixture and writes its datasets and report with
# <agentrace/eval/light.hpp> against the installed library.
consumer_compiled_lib() {
  local d=$work/compiled_lib
  mkdir -p "$d/quickstart" "$d/consumer" "$d/eval"
  snippet "$d" "$pk/compiled_lib/install.sh" PREFIX="$d/stage" >"$d/install.log"
  mv "$d/stage" "$d/prefix"
  if grep -rl -- "$src" "$d/prefix"; then
    echo "the installed files above refer to the source tree $src" >&2
    return 1
  fi
  [ -n "$(find "$d/prefix" -name 'libagentrace.a')" ] ||
    { echo "consumer compiled_lib: no libagentrace.a installed" >&2; return 1; }
  cp "$src/examples/quickstart.cpp" "$d/quickstart/main.cpp"
  cp "$pk/consumer/main.cpp" "$d/consumer/main.cpp"
  for app in quickstart consumer; do
    cp "$pk/find_package/CMakeLists.txt" "$d/$app/"
    snippet "$d/$app" "$pk/find_package/build.sh" PREFIX="$d/prefix" >"$d/$app/build.log"
  done
  # The collector is the library's: the quickstart's object file defines none of its functions
  # (header-only, it holds inline copies of them and of fmt's)
  local obj
  obj=$(find "$d/quickstart/build" -name 'main.cpp.o')
  if nm -C "$obj" | grep -E ' [TW] (agentrace::collector::|fmt::)' >&2; then
    echo "consumer compiled_lib: the quickstart compiled the collector or fmt itself" >&2
    return 1
  fi
  (cd "$d/quickstart" && ./build/my_agent >out.txt)
  grep -q 'db.query' "$d/quickstart/out.txt" ||
    { echo "consumer compiled_lib: no trace tree printed" >&2; return 1; }
  grep -q '"name":"db.query"' "$d/quickstart/quickstart.jsonl" ||
    { echo "consumer compiled_lib: quickstart.jsonl lacks the db.query span" >&2; return 1; }
  echo "ok: quickstart against the compiled library printed and wrote its trace"
  expect_output "$d/consumer/build/my_agent"
  # pkg-config: the same quickstart with docs/install.md's pkg-config line
  snippet "$d/quickstart" "$pk/pkg_config/build.sh" PREFIX="$d/prefix"
  (cd "$d/quickstart" && rm -f quickstart.jsonl && ./my_agent >/dev/null)
  grep -q '"name":"db.query"' "$d/quickstart/quickstart.jsonl" ||
    { echo "consumer compiled_lib: pkg-config build wrote no db.query span" >&2; return 1; }
  echo "ok: quickstart built with pkg-config against the compiled library wrote its trace"
  # The single headers in compiled mode: their setup.hpp declares as include/'s does, so the
  # quickstart built from three copied single headers links with the same library and compiles
  # neither the collector nor fmt
  local s=$d/quickstart_single
  mkdir -p "$s/third_party/agentrace"
  cp "$src/examples/quickstart.cpp" "$s/main.cpp"
  cp "$src/single_include/agentrace/span.hpp" "$src/single_include/agentrace/agentrace.hpp" \
    "$src/single_include/agentrace/setup.hpp" "$s/third_party/agentrace/"
  (cd "$s" && g++ -std=c++20 -O2 $CXXFLAGS -DAGENTRACE_COMPILED_LIB -I third_party -c main.cpp \
     -o main.o &&
   g++ main.o -o my_agent $(PKG_CONFIG_PATH="$d/prefix/share/pkgconfig" pkg-config --libs agentrace))
  if nm -C "$s/main.o" | grep -E ' [TW] (agentrace::collector::|fmt::)' >&2; then
    echo "consumer compiled_lib: the single-header quickstart compiled the collector or fmt" >&2
    return 1
  fi
  (cd "$s" && ./my_agent >/dev/null)
  grep -q '"name":"db.query"' "$s/quickstart.jsonl" ||
    { echo "consumer compiled_lib: single-header build wrote no db.query span" >&2; return 1; }
  echo "ok: quickstart from the single headers against the compiled library wrote its trace"
  # The light eval entry points are the library's: the program's object defines none of the
  # reader, the statistics, the query, the dataset and report writers, fmt or nlohmann_json.
  cp "$src/tests/light_eval_program.cpp" "$d/eval/main.cpp"
  cp "$pk/find_package/CMakeLists.txt" "$d/eval/"
  snippet "$d/eval" "$pk/find_package/build.sh" PREFIX="$d/prefix" >"$d/eval/build.log"
  obj=$(find "$d/eval/build" -name 'main.cpp.o')
  if nm -C "$obj" | grep -E ' [TW] (fmt::|nlohmann::|agentrace::eval::(reader|span_stats|query|selector|price_table|detail)::)' >&2; then
    echo "consumer compiled_lib: the eval program compiled the reader, statistics, query or writers itself" >&2
    return 1
  fi
  "$d/eval/build/my_agent" "$src/tests/fixtures/example-otlp-trace.json" "$d/eval/missing.json"
  echo "ok: the eval program read, summarized, queried and wrote datasets and a report through the compiled library"
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(docs single_header add_subdirectory find_package pkg_config compiled_lib)
for name in "${names[@]}"; do
  echo "== consumer: $name"
  "consumer_$name"
done
