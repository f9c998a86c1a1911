#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# clang-format 14 (.clang-format) over include/ tests/ bench/ examples/ tools/: prints a diff
# for each file that is not formatted and fails. Changes nothing unless given --fix, which
# formats every file in place and empties the pending list.
# scripts/ci/format-pending.txt lists files written before .clang-format existed and not yet
# reformatted (one path a line): they are skipped, so that the one reformatting commit can
# come after the branches that edit them are merged. Every other file is checked.
# Also checks that README's Quickstart block is examples/quickstart.cpp verbatim (--fix copies
# the formatted file into it, and regenerates single_include/ from the formatted include/).
source "$(dirname "$0")/lib.sh"

# readme_quickstart check|fix: the ```cpp block under "## Quickstart" == examples/quickstart.cpp.
readme_quickstart() {
  python3 - "$1" <<'PY'
import pathlib, re, sys
readme, example = pathlib.Path("README.md"), pathlib.Path("examples/quickstart.cpp")
text, code = readme.read_text(), example.read_text()
m = re.search(r"\n## Quickstart\n.*?```cpp\n(.*?)```", text, re.S)
if not m:
    sys.exit("README.md: no ```cpp block under '## Quickstart'")
if m.group(1) == code:
    sys.exit(0)
if sys.argv[1] == "fix":
    readme.write_text(text[:m.start(1)] + code + text[m.end(1):])
    print("README.md Quickstart block updated from examples/quickstart.cpp")
else:
    sys.exit("README.md Quickstart block differs from examples/quickstart.cpp "
             "(scripts/ci/format.sh --fix copies it)")
PY
}
cf=$(command -v clang-format-14 || true)
if [ -z "$cf" ]; then
  echo "clang-format-14 not found (Debian: apt-get install clang-format-14)" >&2
  exit 1
fi
dirs=(include tests bench examples tools)
pending_list=scripts/ci/format-pending.txt
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- "${dirs[@]}" |
  grep -E '\.(hpp|cpp|h|cc)$' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
if [ "${1:-}" = "--fix" ]; then
  "$cf" -i "${files[@]}"
  [ -f "$pending_list" ] && sed -i '/^[^#]/d' "$pending_list"
  echo "formatted ${#files[@]} files; $pending_list emptied"
  readme_quickstart fix
  python3 scripts/amalgamate.py  # single_include/ is generated from include/
  echo "single_include/ regenerated"
  exit 0
fi
declare -A pending=()
if [ -f "$pending_list" ]; then
  while read -r f; do pending[$f]=1; done < <(grep -v '^#' "$pending_list" | grep .)
fi
bad=0 checked=0 skipped=0
for f in "${files[@]}"; do
  if [ -n "${pending[$f]:-}" ]; then
    skipped=$((skipped + 1))
    continue
  fi
  checked=$((checked + 1))
  if ! "$cf" "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" -; then
    bad=$((bad + 1))
  fi
done
[ "$skipped" -eq 0 ] || echo "skipped $skipped files listed in $pending_list (scripts/ci/format.sh --fix formats them)"
readme_quickstart check || bad=$((bad + 1))
if [ "$bad" -gt 0 ]; then
  echo "$bad of $checked checked files need formatting: scripts/ci/format.sh --fix" >&2
  exit 1
fi
echo "all $checked checked files formatted"
