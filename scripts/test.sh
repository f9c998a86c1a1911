#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's test command, and all that .ci/run runs: installs what is missing, then runs the
# CI jobs in scripts/ci/ one after the other, each a full configure + build + test in its own
# build directory, its output in build/ci-logs/<job>.log. One summary line per job, then
# "N passed, N failed"; exits non-zero if any job failed.
#   scripts/test.sh              the gcc job: everything built with -Werror, every CTest test
#                                (what .ci/run runs; fits CI's time on 2 cores)
#   scripts/test.sh all          every job below, one after the other (sanitizers, clang, ...)
#   scripts/test.sh gcc tidy     only the jobs named
# Jobs: gcc clang asan tsan single-header format tidy, and disabled if scripts/ci/disabled.sh exists.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1

all=(gcc format tidy single-header clang asan tsan)
[ -f scripts/ci/disabled.sh ] && all+=(disabled)
selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=(gcc)
[ "${selected[*]}" != all ] || selected=("${all[@]}")

logs=build/ci-logs
mkdir -p "$logs"
cpu_seconds() { # user+sys CPU seconds of this shell's finished children (/proc/PID/stat)
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($16 + $17) / hz }' "/proc/$$/stat"
}
passed=0 failed=0 summary=()
total_start=$SECONDS
for job in "${selected[@]}"; do
  script=scripts/ci/$job.sh
  if [ ! -f "$script" ]; then
    echo "no such job: $job (have: ${all[*]})" >&2
    failed=$((failed + 1))
    summary+=("$(printf 'FAIL  %-14s no scripts/ci/%s.sh' "$job" "$job")")
    continue
  fi
  echo "== $job (log: $logs/$job.log)"
  start=$SECONDS cpu0=$(cpu_seconds)
  if bash "$script" >"$logs/$job.log" 2>&1; then result=PASS passed=$((passed + 1)); else
    result=FAIL failed=$((failed + 1))
    tail -n 60 "$logs/$job.log"
  fi
  line=$(printf '%s  %-14s %5ds wall %6ds cpu' "$result" "$job" $((SECONDS - start)) \
    $(($(cpu_seconds) - cpu0)))
  echo "$line"
  summary+=("$line")
done
echo
printf '%s\n' "${summary[@]}"
echo "total: $((SECONDS - total_start))s wall on $(nproc) cores"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
