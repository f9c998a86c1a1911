#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's test command, and all that .ci/run runs: installs what is missing, then runs the
# CI jobs in scripts/ci/ one after the other, each a full configure + build + test in its own
# build directory, its output in build/ci-logs/<job>.log. One summary line per job, then
# "N passed, N failed"; exits non-zero if any job failed.
#   scripts/test.sh              what .ci/run runs, cheap checks first (about 35 min on CI's
#                                2 cores from a cold ccache):
#       format         clang-format check (+ README quickstart == examples/quickstart.cpp)
#       tidy           clang-tidy on the headers (all-headers, example and tool TUs)
#       single-header  single_include/ up to date; each compiles alone, g++ and clang++
#       gcc            g++ -O2: everything built, every test, packaging consumers included
#       asan           clang++ ASan+UBSan: everything built, every test but the consumers
#       tsan           clang++ TSan: tests built against single_include/, every test
#       disabled       AGENTRACE_ENABLED=0: examples, CLI, disabled_test build; examples run
#   scripts/test.sh all          the above, then what does not fit CI's 45 minutes:
#       clang          unsanitized clang++ -O0 build and tests
#       tidy:--all     clang-tidy through every benchmark and test TU too
#       single-header:--suite  the test suite against single_include/ with g++ as well
#   scripts/test.sh gcc tidy     only the jobs named (JOB:ARG passes ARG to scripts/ci/JOB.sh)
# ccache is used when installed (paths relative to the checkout, so clones share hits).
# AGENTRACE_OTLP_CHECK=/path/to/otlp-check when ../shared/otlp-check is not beside the checkout.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1

ci=(format tidy single-header gcc asan tsan disabled)
all=("${ci[@]}" clang tidy:--all single-header:--suite)
selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${ci[@]}")
[ "${selected[*]}" != all ] || selected=("${all[@]}")

logs=build/ci-logs
mkdir -p "$logs"
cpu_seconds() { # user+sys CPU seconds of this shell's finished children (/proc/PID/stat)
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($16 + $17) / hz }' "/proc/$$/stat"
}
passed=0 failed=0 summary=()
total_start=$SECONDS
for job in "${selected[@]}"; do
  name=${job%%:*} args=()
  [ "$name" = "$job" ] || args=("${job#*:}")
  script=scripts/ci/$name.sh
  log=$logs/${job//[:\/]/_}.log
  if [ ! -f "$script" ]; then
    echo "no such job: $name (have: ${all[*]} consumers)" >&2
    failed=$((failed + 1))
    summary+=("$(printf 'FAIL  %-22s no scripts/ci/%s.sh' "$job" "$name")")
    continue
  fi
  echo "== $job (log: $log)"
  start=$SECONDS cpu0=$(cpu_seconds)
  if bash "$script" "${args[@]}" >"$log" 2>&1; then result=PASS passed=$((passed + 1)); else
    result=FAIL failed=$((failed + 1))
    tail -n 60 "$log"
  fi
  line=$(printf '%s  %-22s %5ds wall %6ds cpu' "$result" "$job" $((SECONDS - start)) \
    $(($(cpu_seconds) - cpu0)))
  echo "$line"
  summary+=("$line")
done
echo
printf '%s\n' "${summary[@]}"
echo "total: $((SECONDS - total_start))s wall on $(nproc) cores"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
