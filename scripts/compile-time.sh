#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What including agentrace costs the compiler: compiles fixed translation units with g++ 12 and
# clang++ 14 at -O2 (-std=c++20, to an object file) and reports user CPU seconds and peak compiler
# memory, each also as a ratio to a hello world (<string> + <vector>) compiled in the same run.
#   hello          the baseline: <string>, <vector>, a std::vector<std::string> printed with puts
#   instrumented   three nested spans, four typed attributes, an event, an error status;
#                  includes <agentrace/span.hpp> only (what every instrumented file pays)
#   quickstart     examples/quickstart.cpp (instrumentation + start + console and OTLP-JSON
#                  exporters: what the one file that starts tracing pays)
#   *_single       the same two through single_include/ instead of include/
#   quickstart_compiled
#                  examples/quickstart.cpp in compiled mode (-DAGENTRACE_COMPILED_LIB): the
#                  file that starts tracing, against the library's declarations
#   quickstart_compiled_single
#                  the same through single_include/ (its setup.hpp declares, as include/'s)
#   eval           a small eval user: reads OTLP-JSON files into traces, computes statistics per
#                  span name, selects with one query ("errors or duration > p95"); includes
#                  <agentrace/eval/eval.hpp> (the whole eval API, header-only in every mode)
#   eval_light     the same program with <agentrace/eval/light.hpp> (header-only: the reader,
#                  statistics and query are compiled in this file)
#   eval_light_compiled
#                  eval_light in compiled mode: light.hpp declares, the library defines
#   eval_write     reads, selects with one query and writes the evaluation dataset and the HTML
#                  report of what it selected, with <agentrace/eval/light.hpp> (header-only:
#                  the reader, query and writers are compiled in this file)
#   eval_write_compiled
#                  eval_write in compiled mode
# Also reported, without a target: the library of compiled mode (src/agentrace.cpp,
# src/agentrace_eval.cpp and src/agentrace_eval_writers.cpp, compiled once per build: lib_once,
# lib_eval_once, lib_eval_writers_once) and linking the quickstart's object with it
# (link_compiled, which needs the rows lib_once and quickstart_compiled).
# Targets (docs/performance.md): instrumented at most 3x the hello world, quickstart at most 10x
# (the header-only quickstart is reported against that target too).
# Each TU is compiled RUNS times (default 3) and the smallest user time kept; compilations run
# one at a time, so a loaded machine slows every line alike and the ratios hold.
#   scripts/compile-time.sh                  # both compilers, RUNS=3
#   RUNS=1 CXXS="g++-12" scripts/compile-time.sh
#   scripts/compile-time.sh --check          # also exit 1 when a ratio is over its target
#   ROWS="eval_light eval_light_compiled" scripts/compile-time.sh   # only these rows (and hello)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
check=0
[ "${1:-}" != "--check" ] || check=1
runs=${RUNS:-3}
cxxs=${CXXS:-"g++-12 clang++-14"}
work=$(mktemp -d "${TMPDIR:-/tmp}/agentrace-compile-time.XXXXXX")
trap 'rm -rf "$work"' EXIT

cat >"$work/hello.cpp" <<'EOF'
#include <cstdio>
#include <string>
#include <vector>

int main() {
  std::vector<std::string> words{"hello", "world"};
  for (const std::string& w : words) std::puts(w.c_str());
}
EOF

cat >"$work/instrumented.cpp" <<'EOF'
#include <agentrace/span.hpp>

#include <cstdint>
#include <string>

namespace app {
inline constexpr agentrace::key<std::string> model{"app.model"};
inline constexpr agentrace::key<std::int64_t> tokens{"app.tokens"};
inline constexpr agentrace::key<double> temperature{"app.temperature"};
inline constexpr agentrace::key<bool> cached{"app.cached"};
}  // namespace app

int answer(const std::string& question) {
  AGENTRACE_SPAN(task, "agent.task");
  task.set(app::model, "gpt-4o");
  {
    AGENTRACE_SPAN(plan, "agent.plan");
    plan.set(app::tokens, static_cast<std::int64_t>(question.size()));
    {
      agentrace::span<"llm.chat", agentrace::span_kind::client> chat;
      chat.set(app::temperature, 0.2);
      chat.set(app::cached, false);
      chat.event("llm.first_token");
      if (question.empty()) chat.error("empty question");
    }
  }
  return static_cast<int>(question.size());
}
EOF

cat >"$work/eval.cpp" <<'EOF'
#include <agentrace/eval/eval.hpp>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  namespace ev = agentrace::eval;
  ev::reader r;
  const std::vector<ev::trace> traces = ev::read_traces({argv + 1, argv + argc}, r);
  const ev::span_stats stats = ev::span_stats::of(traces);
  const ev::query q = ev::query::parse("errors or duration > p95");
  std::size_t matched = 0;
  for (const ev::trace& t : traces)
    if (ev::match(q, t, &stats)) ++matched;
  std::printf("%zu traces, %llu spans, %zu matched\n", traces.size(),
              static_cast<unsigned long long>(stats.spans()), matched);
  return r.diagnostics().empty() ? 0 : 1;
}
EOF

cat >"$work/eval_light.cpp" <<'EOF'
#include <agentrace/eval/light.hpp>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  namespace ev = agentrace::eval;
  const ev::traces_read in = ev::read_all({argv + 1, argv + argc});
  const ev::trace_summary stats(in.traces);
  const ev::trace_query q = ev::trace_query::parse("errors or duration > p95");
  const std::size_t matched = q.select(in.traces, &stats).size();
  std::printf("%zu traces, %llu spans, %zu matched\n", in.traces.size(),
              static_cast<unsigned long long>(stats.spans()), matched);
  return in.diagnostics.empty() ? 0 : 1;
}
EOF

cat >"$work/eval_write.cpp" <<'EOF'
#include <agentrace/eval/light.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
  namespace ev = agentrace::eval;
  const ev::traces_read in = ev::read_all({argv + 1, argv + argc});
  const std::vector<ev::selection> picked = ev::trace_query::parse("errors").select(in.traces);
  std::FILE* out = std::fopen("dataset.jsonl", "wb");
  if (!out) return 1;
  const ev::dataset_counts n = ev::write_dataset(in.traces, picked, [&](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), out);
    std::fputc('\n', out);
  });
  std::fclose(out);
  const std::string html = ev::report_html(in.traces, picked);
  std::printf("%zu records, report of %zu bytes\n", n.lines, html.size());
  return 0;
}
EOF

# single_include/ before it had a header for instrumentation alone had only the whole one.
single_span=agentrace/span.hpp
[ -f single_include/$single_span ] || single_span=agentrace/agentrace.hpp
sed "s|<agentrace/span.hpp>|<$single_span>|" "$work/instrumented.cpp" >"$work/instrumented_single.cpp"

tus=(hello instrumented quickstart instrumented_single quickstart_single)
# Compiled mode exists when the tree has its library source.
compiled=0
if [ -f src/agentrace.cpp ]; then
  compiled=1
  tus+=(quickstart_compiled)
  [ ! -f single_include/agentrace/setup.hpp ] || tus+=(quickstart_compiled_single)
fi
tus+=(eval)
eval_lib=0
if [ -f include/agentrace/eval/light.hpp ]; then
  tus+=(eval_light)
  if [ -f src/agentrace_eval.cpp ]; then
    eval_lib=1
    tus+=(eval_light_compiled)
  fi
fi
writers_lib=0
if [ -f include/agentrace/eval/detail/light_writers_impl.hpp ]; then
  tus+=(eval_write)
  if [ -f src/agentrace_eval_writers.cpp ]; then
    writers_lib=1
    tus+=(eval_write_compiled)
  fi
fi
src_of() {
  case $1 in
    hello) echo "$work/hello.cpp" ;;
    instrumented) echo "$work/instrumented.cpp" ;;
    instrumented_single) echo "$work/instrumented_single.cpp" ;;
    quickstart | quickstart_single | quickstart_compiled*) echo "$root/examples/quickstart.cpp" ;;
    lib_once) echo "$root/src/agentrace.cpp" ;;
    eval | eval_light | eval_write) echo "$work/$1.cpp" ;;
    eval_light_compiled) echo "$work/eval_light.cpp" ;;
    eval_write_compiled) echo "$work/eval_write.cpp" ;;
    lib_eval_once) echo "$root/src/agentrace_eval.cpp" ;;
    lib_eval_writers_once) echo "$root/src/agentrace_eval_writers.cpp" ;;
  esac
}
flags_of() {
  case $1 in
    quickstart_compiled* | lib_once | *_compiled | lib_eval_once | lib_eval_writers_once)
      echo "-DAGENTRACE_COMPILED_LIB"
      ;;
  esac
}
inc_of() {
  case $1 in
    *_single) echo "$root/single_include" ;;
    *) echo "$root/include" ;;
  esac
}

# One compilation: prints "user_seconds peak_kib".
measure() {
  local cxx=$1 tu=$2
  # shellcheck disable=SC2046  # flags_of prints zero or one word
  /usr/bin/time -f "%U %M" -o "$work/time" \
    "$cxx" -std=c++20 -O2 $(flags_of "$tu") -I "$(inc_of "$tu")" -c "$(src_of "$tu")" \
    -o "$work/$tu.o"
  cat "$work/time"
}
# Linking the compiled-mode quickstart with the library (objects from measure): "user peak".
measure_link() {
  local cxx=$1
  ar rcs "$work/libagentrace.a" "$work/lib_once.o"
  /usr/bin/time -f "%U %M" -o "$work/time" \
    "$cxx" "$work/quickstart_compiled.o" "$work/libagentrace.a" -lfmt -pthread -o "$work/quickstart"
  cat "$work/time"
}

fail=0
printf '%-10s %-26s %9s %7s %9s %7s\n' compiler tu user_s ratio peak_MB ratio
for cxx in $cxxs; do
  if ! command -v "$cxx" >/dev/null; then
    echo "$cxx: not installed, skipped" >&2
    continue
  fi
  declare -A user=() mem=()
  rows=("${tus[@]}")
  [ "$compiled" = 0 ] || rows+=(lib_once link_compiled)
  [ "$eval_lib" = 0 ] || rows+=(lib_eval_once)
  [ "$writers_lib" = 0 ] || rows+=(lib_eval_writers_once)
  if [ -n "${ROWS:-}" ]; then  # hello stays: every ratio is to it
    picked=(hello)
    for tu in "${rows[@]}"; do
      [[ " $ROWS " != *" $tu "* ]] || [ "$tu" = hello ] || picked+=("$tu")
    done
    rows=("${picked[@]}")
  fi
  for tu in "${rows[@]}"; do
    best_u="" best_m=""
    for ((r = 0; r < runs; ++r)); do
      if [ "$tu" = link_compiled ]; then
        read -r u m < <(measure_link "$cxx")
      else
        read -r u m < <(measure "$cxx" "$tu")
      fi
      if [ -z "$best_u" ] || awk -v a="$u" -v b="$best_u" 'BEGIN{exit !(a<b)}'; then best_u=$u; fi
      if [ -z "$best_m" ] || [ "$m" -lt "$best_m" ]; then best_m=$m; fi
    done
    user[$tu]=$best_u
    mem[$tu]=$best_m
  done
  for tu in "${rows[@]}"; do
    ru=$(awk -v a="${user[$tu]}" -v b="${user[hello]}" 'BEGIN{printf "%.1f", (b>0? a/b : 0)}')
    rm=$(awk -v a="${mem[$tu]}" -v b="${mem[hello]}" 'BEGIN{printf "%.1f", a/b}')
    printf '%-10s %-26s %9.2f %6sx %9.0f %6sx\n' "$cxx" "$tu" "${user[$tu]}" "$ru" \
      "$(awk -v m="${mem[$tu]}" 'BEGIN{print m/1024}')" "$rm"
    limit=""
    case $tu in instrumented*) limit=3 ;; quickstart*) limit=10 ;; esac
    if [ -n "$limit" ] && awk -v r="$ru" -v l="$limit" 'BEGIN{exit !(r>l)}'; then
      echo "  ^ over the target of ${limit}x the hello world" >&2
      fail=1
    fi
  done
  unset user mem
done
[ "$check" = 0 ] || exit "$fail"
