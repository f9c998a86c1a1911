#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# clang-format 14 (.clang-format) over include/ tests/ bench/ examples/ tools/: prints a diff
# for each file that is not formatted and fails. Changes nothing unless given --fix, which
# formats the files in place.
source "$(dirname "$0")/lib.sh"
cf=$(command -v clang-format-14 || true)
if [ -z "$cf" ]; then
  echo "clang-format-14 not found (Debian: apt-get install clang-format-14)" >&2
  exit 1
fi
dirs=(include tests bench examples tools)
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- "${dirs[@]}" |
  grep -E '\.(hpp|cpp|h|cc)$' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
if [ "${1:-}" = "--fix" ]; then
  "$cf" -i "${files[@]}"
  echo "formatted ${#files[@]} files"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! "$cf" "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" -; then
    bad=$((bad + 1))
  fi
done
if [ "$bad" -gt 0 ]; then
  echo "$bad of ${#files[@]} files need formatting: scripts/ci/format.sh --fix" >&2
  exit 1
fi
echo "all ${#files[@]} files formatted"
