#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compiles every whole C++ program shown in the documentation.

A ```cpp (or ```c++) block in README.md or docs/*.md that defines `int main` is a whole program:
it is written to a temporary file, with a #line directive so that diagnostics name the markdown
file and line, and compiled (-c, no link) with the flags given. Blocks without `int main` are
fragments and are left alone. Fails when a program does not compile, or when no program is found.

  scripts/doc_programs.py --compiler g++ --flags-file FLAGS [--launcher ccache]
                          [--work-dir DIR] [--list] [MARKDOWN...]

FLAGS holds one compiler argument a line (CTest passes the file tests/cmake/core.cmake writes:
-std=c++20, -Wall -Wextra -Wpedantic -Werror, agentrace's include directories). Without MARKDOWN
arguments: README.md and docs/*.md of this checkout. --list prints the programs and compiles
nothing.
"""
import argparse
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(\s*)```+\s*(\S*)")
MAIN = re.compile(r"^\s*int\s+main\s*\(", re.M)


def programs(path):
    """Yields (first line number of the code, code) for each whole-program C++ block in path."""
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(2).lower(), i + 1
        end = start
        while end < len(lines) and not FENCE.match(lines[end]):
            end += 1
        if end == len(lines):
            sys.exit(f"{path}:{i + 1}: code block is not closed")
        code = "\n".join(lines[start:end]) + "\n"
        if lang in ("cpp", "c++", "cxx") and MAIN.search(code):
            yield start + 1, code
        i = end + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--compiler", default="c++")
    ap.add_argument("--flags-file", type=pathlib.Path)
    ap.add_argument("--launcher", default="", help="a compiler launcher such as ccache")
    ap.add_argument("--work-dir", type=pathlib.Path,
                    help="where the extracted sources go (default: a temporary directory); a"
                    " fixed directory lets a compiler cache recognise unchanged programs")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("markdown", nargs="*", type=pathlib.Path)
    args = ap.parse_args()
    files = args.markdown or [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = [(f, line, code) for f in files for line, code in programs(f)]
    if not found:
        sys.exit("no whole C++ program (a ```cpp block with `int main`) in: "
                 + ", ".join(str(f) for f in files))
    if args.list:
        for f, line, _ in found:
            print(f"{f}:{line}")
        return 0
    if args.flags_file is None:
        sys.exit("--flags-file is required to compile")
    flags = [l.strip() for l in args.flags_file.read_text().split("\n") if l.strip()]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="agentrace-doc-programs-") as tmp:
        if args.work_dir:
            args.work_dir.mkdir(parents=True, exist_ok=True)
            tmp = args.work_dir
        for n, (f, line, code) in enumerate(found):
            src = pathlib.Path(tmp) / f"program{n}.cpp"
            name = f.relative_to(ROOT) if f.is_relative_to(ROOT) else f
            text = f'#line {line} "{name}"\n{code}'
            if not src.exists() or src.read_text(encoding="utf-8") != text:
                src.write_text(text, encoding="utf-8")  # unchanged: a compiler cache hits
            cmd = [*args.launcher.split(), args.compiler, *flags, "-c", str(src), "-o", str(src.with_suffix(".o"))]
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode == 0:
                print(f"ok: {name}:{line}")
            else:
                failed += 1
                print(f"FAILED: {name}:{line} does not compile:\n{r.stdout}")
    print(f"{len(found) - failed} of {len(found)} documented programs compile")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
