#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates agentrace's single headers (single_include/) from the headers under include/.

Driven by scripts/amalgamate.json:

  include_root         the include directory, relative to the repository root ("include")
  single_include_root  where the outputs live; their include spelling is relative to it
  version_header       header (relative to include_root) with AGENTRACE_VERSION_STRING
  outputs              list of {"output", "entry"[, "bases"][, "when_entry_exists"]}:
    output             the generated file, relative to the repository root
    entry              the header it is made from, relative to include_root, or a list of
                       headers inlined one after the other
    bases              include names of earlier outputs this one builds on: a header those
                       outputs already contain is not inlined again but replaced by one
                       #include of that output (an optional part includes
                       <agentrace/agentrace.hpp> instead of a second copy of the core)
    when_entry_exists  generate only if every entry header exists (parts still being written)
    inline_from        include names of bases this output must not pull in whole: a header
                       it includes at top level (outside any #if) that such a base holds is
                       inlined here instead, and wears an include guard in every output that
                       holds it, so this output and that base can be included in either order
                       or together. Inside an #if the base is included as usual. (The setup
                       header declares start() without the core; it includes the core only
                       when header-only.)

Rules: each `#include "agentrace/..."` or `<agentrace/...>` is inlined once, at its first
inclusion, after a `// amalgamated: <path>` marker; later inclusions are dropped (what
`#pragma once` did); the inlined header's own `#pragma once` is removed. All other includes
(the standard library, fmt, nlohmann, concurrentqueue, POSIX) stay as they are. A header
included inside an #if block is inlined there, so it must not be included from anywhere else
(that is an error, as are quoted includes not spelled `agentrace/...`): keep the sources
amalgamation-friendly (no computed includes, no raw strings holding `#include`).

  python3 scripts/amalgamate.py            write the outputs that changed
  python3 scripts/amalgamate.py --check    exit 1 and name each stale output, change nothing
  python3 scripts/amalgamate.py --stubs D  only write forwarding headers under D: one per inlined
                                           header, each including the single header that holds
                                           it (lets code that includes internals build against
                                           the single headers; used by AGENTRACE_SINGLE_HEADER)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

INTERNAL_INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])(agentrace/[^>"]+)[>"]')
QUOTED_INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
PRAGMA_ONCE = re.compile(r"^\s*#\s*pragma\s+once\b")
COND_OPEN = re.compile(r"^\s*#\s*if")  # #if, #ifdef, #ifndef
COND_CLOSE = re.compile(r"^\s*#\s*endif\b")
VERSION = re.compile(r'^\s*#\s*define\s+AGENTRACE_VERSION_STRING\s+"([^"]+)"', re.M)


class AmalgamateError(Exception):
    pass


class Output:
    """One generated single header and the headers it inlines."""

    def __init__(self, spec: dict, repo: Path, include_root: Path, single_root: Path):
        try:
            self.output = str(spec["output"])
            entry = spec["entry"]
        except KeyError as e:
            raise AmalgamateError(f"config: an output lacks {e}") from None
        self.entries = [entry] if isinstance(entry, str) else [str(e) for e in entry]
        self.bases = list(spec.get("bases", []))
        self.optional = bool(spec.get("when_entry_exists", False))
        self.inline_from = set(spec.get("inline_from", []))
        self.path = repo / self.output
        try:
            self.include_name = self.path.relative_to(single_root).as_posix()
        except ValueError:
            raise AmalgamateError(
                f"config: {self.output} is not under the single_include_root") from None
        self.enabled = not self.optional or all((include_root / e).is_file()
                                                for e in self.entries)
        self.inlined: list[str] = []  # headers (relative to include_root), in order
        self.conditional: dict[str, str] = {}  # inlined inside an #if -> where included


class Amalgamation:
    def __init__(self, repo: Path, config: dict):
        self.repo = repo
        self.include_root = repo / config.get("include_root", "include")
        self.single_root = repo / config.get("single_include_root", "single_include")
        self.version = self._version(config.get("version_header", "agentrace/version.hpp"))
        self.outputs = [Output(s, repo, self.include_root, self.single_root)
                        for s in config.get("outputs", [])]
        for out in self.outputs:
            if not out.inline_from <= set(out.bases):
                raise AmalgamateError(f"config: {out.output}: inline_from names "
                                      f"{', '.join(sorted(out.inline_from - set(out.bases)))}, "
                                      "not among its bases")
        # Headers that wear an include guard: found while generating (an inline_from output
        # comes after its base), so a second pass generates every output with the final set.
        self.guarded: set[str] = set()
        self._found_guarded: set[str] = set()
        self.texts: dict[str, str] = {}
        self._generate_all()
        if self._found_guarded != self.guarded:
            self.guarded = set(self._found_guarded)
            self._generate_all()

    def _generate_all(self) -> None:
        self.texts = {}
        done: dict[str, Output] = {}
        for out in self.outputs:
            out.inlined = []
            out.conditional = {}
            if out.enabled:
                self.texts[out.output] = self._generate(out, self._provided(out, done))
            done[out.include_name] = out

    def _version(self, header: str) -> str:
        path = self.include_root / header
        try:
            m = VERSION.search(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise AmalgamateError(f"cannot read the version header: {e}") from None
        if not m:
            raise AmalgamateError(f"{self._rel(path)}: no AGENTRACE_VERSION_STRING")
        return m.group(1)

    def _provided(self, out: Output, done: dict[str, Output]) -> dict[str, str]:
        """Header -> include name of the (transitive) base output that already holds it."""
        provided: dict[str, str] = {}
        pending = list(out.bases)
        while pending:
            name = pending.pop(0)
            base = done.get(name)
            if base is None:
                raise AmalgamateError(
                    f"config: {out.output}: base {name} is not an earlier output")
            if not base.enabled:
                raise AmalgamateError(f"config: {out.output}: base {name} is not generated "
                                      f"(missing {', '.join(base.entries)})")
            for header in base.inlined:
                provided.setdefault(header, base.include_name)
            pending.extend(base.bases)
        for entry in out.entries:
            if entry in provided:
                raise AmalgamateError(f"config: {out.output}: entry {entry} is already in "
                                      f"{provided[entry]}")
        return provided

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.repo).as_posix()
        except ValueError:
            return str(path)

    def _generate(self, out: Output, provided: dict[str, str]) -> str:
        lines = [
            "// SPDX-License-Identifier: MIT",
            f"// agentrace {self.version}: single-header edition of "
            f"{', '.join(self._rel(self.include_root / e) for e in out.entries)}.",
            "// Generated — do not edit. Made by scripts/amalgamate.py from the headers under "
            f"{self._rel(self.include_root)}/;",
            "// change those and run `python3 scripts/amalgamate.py`.",
        ]
        for name in dict.fromkeys(provided.values()):
            lines.append(f"// Builds on <{name}>: keep that single header beside this one.")
        lines += ["#pragma once", ""]
        bases_done: set[str] = set()
        for entry in out.entries:
            if entry not in out.inlined:
                self._inline(out, entry, provided, bases_done, lines, None, None, False)
        return "\n".join(lines) + "\n"

    @staticmethod
    def guard_macro(header: str) -> str:
        name = header.removeprefix("agentrace/")
        return "AGENTRACE_SINGLE_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()

    def _inline(self, out: Output, header: str, provided: dict[str, str], bases_done: set[str],
                lines: list[str], where: str | None, conditional: str | None,
                in_guard: bool) -> None:
        """Appends `header` to `lines`, its agentrace includes inlined in turn. `conditional`
        is where an enclosing #if began (None at top level): a header first inlined inside a
        conditional exists only under that condition, so it may not be included anywhere else.
        `in_guard`: inside a guarded header, whose text may be skipped, so an #include of a base
        written there does not count as done for the rest of the output."""
        path = self.include_root / header
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise AmalgamateError(f"{where or 'config'}: {header} not found under "
                                  f"{self._rel(self.include_root)}/") from None
        out.inlined.append(header)
        if conditional:
            out.conditional[header] = where or conditional
        lines.append(f"// amalgamated: {self._rel(path)}")
        guard = header in self.guarded
        if guard:
            macro = self.guard_macro(header)
            lines += [f"#ifndef {macro}", f"#define {macro}"]
        depth = 0
        pragma_removed = False
        for lineno, line in enumerate(text.splitlines(), 1):
            here = f"{self._rel(path)}:{lineno}"
            if not pragma_removed and PRAGMA_ONCE.match(line):
                pragma_removed = True
                continue
            m = INTERNAL_INCLUDE.match(line)
            if m:
                target = m.group(2)
                inner = conditional or (here if depth else None)
                if target in provided and provided[target] in out.inline_from and not inner:
                    self._found_guarded.add(target)
                    if target not in out.inlined:
                        self._inline(out, target, provided, bases_done, lines, here, None, True)
                elif target in provided:
                    include = f"#include <{provided[target]}>"
                    if provided[target] not in bases_done and lines[-1] != include:
                        if not inner and not (in_guard or guard):
                            bases_done.add(provided[target])
                        lines.append(include)
                elif target in out.conditional:
                    raise AmalgamateError(
                        f"{here}: {target} was inlined under the #if at "
                        f"{out.conditional[target]}; include it there only, or unconditionally")
                elif target not in out.inlined:
                    self._inline(out, target, provided, bases_done, lines, here, inner,
                                 in_guard or guard)
                continue
            q = QUOTED_INCLUDE.match(line)
            if q and (path.parent / q.group(1)).is_file():
                raise AmalgamateError(f'{here}: spell it #include "agentrace/..." '
                                      "(relative includes are not amalgamated)")
            if COND_OPEN.match(line):
                depth += 1
            elif COND_CLOSE.match(line):
                depth -= 1
            lines.append(line)
        if guard:
            lines.append(f"#endif  // {macro}")

    def stale(self) -> list[str]:
        """Outputs whose committed file differs from what the headers generate."""
        result = []
        for out in self.outputs:
            want = self.texts.get(out.output)
            have = out.path.read_text(encoding="utf-8") if out.path.is_file() else None
            if want is None and have is not None:
                result.append(f"{out.output} (its entry is gone: delete it)")
            elif want is not None and have != want:
                result.append(out.output + ("" if have is not None else " (missing)"))
        return result

    def write(self) -> list[str]:
        written = []
        for out in self.outputs:
            text = self.texts.get(out.output)
            if text is None:
                continue
            if not out.path.is_file() or out.path.read_text(encoding="utf-8") != text:
                out.path.parent.mkdir(parents=True, exist_ok=True)
                out.path.write_text(text, encoding="utf-8", newline="\n")
                written.append(out.output)
        return written

    def write_stubs(self, directory: Path) -> int:
        count = 0
        names = {o.include_name for o in self.outputs}
        written: set[str] = set()
        for out in self.outputs:
            for header in out.inlined if out.enabled else []:
                if header in names or header in written:
                    continue  # the single header itself has this name, or an earlier one holds it
                written.add(header)
                stub = directory / header
                text = ("// Generated by scripts/amalgamate.py --stubs: this header is part of "
                        f"<{out.include_name}>.\n#include <{out.include_name}>\n")
                stub.parent.mkdir(parents=True, exist_ok=True)
                if not stub.is_file() or stub.read_text(encoding="utf-8") != text:
                    stub.write_text(text, encoding="utf-8", newline="\n")
                count += 1
        return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="repository root (default: the one holding this script)")
    parser.add_argument("--config", type=Path, help="default: ROOT/scripts/amalgamate.json")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a committed output is stale; write nothing")
    parser.add_argument("--stubs", type=Path, metavar="DIR",
                        help="only write forwarding headers under DIR (no outputs)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    config_path = args.config or root / "scripts" / "amalgamate.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        amalgamation = Amalgamation(root, config)
    except (OSError, ValueError, AmalgamateError) as e:
        print(f"amalgamate: error: {e}", file=sys.stderr)
        return 2
    if args.stubs:
        n = amalgamation.write_stubs(args.stubs)
        print(f"amalgamate: {n} forwarding headers under {args.stubs}")
        return 0
    if args.check:
        stale = amalgamation.stale()
        for name in stale:
            print(f"amalgamate: stale: {name}", file=sys.stderr)
        if stale:
            print("amalgamate: regenerate with `python3 scripts/amalgamate.py` and commit",
                  file=sys.stderr)
            return 1
        print(f"amalgamate: up to date: {', '.join(sorted(amalgamation.texts))}")
    else:
        for name in amalgamation.write():
            print(f"amalgamate: wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
