# SPDX-License-Identifier: MIT
"""Tests for scripts/amalgamate.py on small made-up include trees (and one real-tree smoke test).

Run: python3 -m unittest discover -s tests/tools -p 'test_*.py'   (CTest: amalgamate_py)
"""

import json
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "amalgamate.py"

CORE_CONFIG = {
    "include_root": "include",
    "single_include_root": "single_include",
    "version_header": "agentrace/version.hpp",
    "outputs": [
        {"output": "single_include/agentrace/agentrace.hpp", "entry": "agentrace/agentrace.hpp"},
        {"output": "single_include/agentrace/agentrace_http.hpp",
         "entry": "agentrace/exporters/http.hpp", "bases": ["agentrace/agentrace.hpp"],
         "when_entry_exists": True},
        {"output": "single_include/agentrace/agentrace_eval.hpp",
         "entry": ["agentrace/eval/eval.hpp", "agentrace/eval/judge.hpp"],
         "bases": ["agentrace/agentrace_http.hpp"], "when_entry_exists": True},
    ],
}

# A tree shaped like the real one: the entry includes a and b, both include common.hpp (once
# with quotes, once with angle brackets); dependency includes sit inside and outside #if.
CORE_TREE = {
    "agentrace/version.hpp": """\
        // SPDX-License-Identifier: MIT
        #pragma once
        #define AGENTRACE_VERSION_STRING "9.8.7"
        """,
    "agentrace/agentrace.hpp": """\
        // SPDX-License-Identifier: MIT
        // entry
        #pragma once

        #include "agentrace/version.hpp"
        #include "agentrace/a.hpp"
        #include "agentrace/b.hpp"
        """,
    "agentrace/a.hpp": """\
        #pragma once
        #include <fmt/format.h>
        #include <vector>
        #include "agentrace/detail/common.hpp"
        int a_marker();
        """,
    "agentrace/b.hpp": """\
        #pragma once
        #if __has_include(<concurrentqueue/concurrentqueue.h>)
        #include <concurrentqueue/concurrentqueue.h>
        #else
        #include <concurrentqueue.h>
        #endif
        #include <nlohmann/json.hpp>
        #include <agentrace/detail/common.hpp>
        int b_marker();
        """,
    "agentrace/detail/common.hpp": """\
        #pragma once
        // a comment that mentions #pragma once stays
        int common_marker();
        """,
}


def write_tree(root: Path, files: dict, config: dict = CORE_CONFIG) -> None:
    for rel, text in files.items():
        path = root / "include" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    (root / "scripts").mkdir(exist_ok=True)
    (root / "scripts" / "amalgamate.json").write_text(json.dumps(config), encoding="utf-8")


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root), *args],
                          capture_output=True, text=True, check=False)


class AmalgamateTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name)
        self.out = self.root / "single_include" / "agentrace" / "agentrace.hpp"

    def tearDown(self):
        self._tmp.cleanup()

    def generate(self, files=CORE_TREE, config=CORE_CONFIG) -> str:
        write_tree(self.root, files, config)
        result = run(self.root)
        self.assertEqual(result.returncode, 0, result.stderr)
        return self.out.read_text(encoding="utf-8")

    def test_each_header_inlined_once_with_a_marker(self):
        text = self.generate()
        for rel in ("agentrace.hpp", "version.hpp", "a.hpp", "b.hpp", "detail/common.hpp"):
            self.assertEqual(text.count(f"// amalgamated: include/agentrace/{rel}\n"), 1, rel)
        self.assertEqual(text.count("int common_marker();"), 1)
        # inlined where first included: version, common (a's include, above a's own code), a, b
        order = [text.index(s) for s in ("VERSION_STRING", "common_marker", "a_marker",
                                          "b_marker")]
        self.assertEqual(order, sorted(order))
        self.assertNotIn("agentrace/", "".join(
            line for line in text.splitlines() if line.lstrip().startswith("#include")))

    def test_pragma_once_removed_from_inlined_headers_and_kept_once_on_top(self):
        text = self.generate()
        self.assertEqual(text.count("#pragma once\n"), 1)
        self.assertLess(text.index("#pragma once"), text.index("// amalgamated:"))
        self.assertIn("// a comment that mentions #pragma once stays", text)

    def test_dependency_and_system_includes_kept_verbatim(self):
        text = self.generate()
        for inc in ("#include <fmt/format.h>", "#include <vector>",
                    "#include <nlohmann/json.hpp>",
                    "#if __has_include(<concurrentqueue/concurrentqueue.h>)\n"
                    "#include <concurrentqueue/concurrentqueue.h>\n#else\n"
                    "#include <concurrentqueue.h>\n#endif"):
            self.assertIn(inc, text)

    def test_banner_has_version_and_do_not_edit(self):
        head = self.generate().splitlines()[:4]
        self.assertIn("agentrace 9.8.7", head[1])
        self.assertIn("do not edit", head[2])

    def test_check_passes_when_fresh_and_names_the_stale_file(self):
        self.generate()
        self.assertEqual(run(self.root, "--check").returncode, 0)
        # a header changes after generation: the committed file is now stale
        common = self.root / "include" / "agentrace" / "detail" / "common.hpp"
        common.write_text(common.read_text() + "int added();\n")
        before = self.out.read_text()
        result = run(self.root, "--check")
        self.assertEqual(result.returncode, 1)
        self.assertIn("stale: single_include/agentrace/agentrace.hpp", result.stderr)
        self.assertEqual(self.out.read_text(), before, "--check must not write")
        # a hand edit of the output is stale too
        self.assertEqual(run(self.root).returncode, 0)
        self.out.write_text(self.out.read_text().replace("a_marker", "edited"))
        self.assertEqual(run(self.root, "--check").returncode, 1)

    def test_check_reports_a_missing_output(self):
        write_tree(self.root, CORE_TREE)
        result = run(self.root, "--check")
        self.assertEqual(result.returncode, 1)
        self.assertIn("agentrace.hpp (missing)", result.stderr)

    def test_optional_part_includes_the_core_single_header_instead_of_inlining_it(self):
        files = dict(CORE_TREE)
        files["agentrace/exporters/http.hpp"] = """\
            #pragma once
            #include <curl/curl.h>
            #include "agentrace/a.hpp"
            #include "agentrace/http/client.hpp"
            #include "agentrace/b.hpp"
            int http_marker();
            """
        files["agentrace/http/client.hpp"] = """\
            #pragma once
            #include "agentrace/detail/common.hpp"
            int client_marker();
            """
        self.generate(files)
        part = (self.root / "single_include/agentrace/agentrace_http.hpp").read_text()
        self.assertEqual(part.count("#include <agentrace/agentrace.hpp>"), 1)
        self.assertNotIn("common_marker", part)
        self.assertNotIn("a_marker", part)
        self.assertIn("#include <curl/curl.h>", part)
        self.assertEqual(part.count("// amalgamated: include/agentrace/http/client.hpp"), 1)
        self.assertIn("int client_marker();", part)
        self.assertIn("int http_marker();", part)
        self.assertLess(part.index("#include <agentrace/agentrace.hpp>"),
                        part.index("client_marker"))
        self.assertEqual(run(self.root, "--check").returncode, 0)

    def test_inline_from_declares_without_the_base_and_guards_shared_headers(self):
        """A setup-like output inlines what it takes from its heavy base at top level, each such
        header guarded in both outputs; inside an #if it includes the base. Compiled with g++:
        the two outputs together, in either order, define each name once."""
        files = dict(CORE_TREE)
        files["agentrace/decl.hpp"] = """\
            #pragma once
            #include "agentrace/detail/common.hpp"
            int decl_marker();
            """
        files["agentrace/b.hpp"] = """\
            #pragma once
            #include "agentrace/decl.hpp"
            struct b_type { int v; };
            """
        files["agentrace/setup.hpp"] = """\
            #pragma once
            #include "agentrace/decl.hpp"
            #if !defined(LIGHT)
            #include "agentrace/a.hpp"
            #include "agentrace/b.hpp"
            #endif
            """
        files["agentrace/detail/common.hpp"] = "#pragma once\nstruct common_type { int v; };\n"
        config = {**CORE_CONFIG, "outputs": CORE_CONFIG["outputs"][:1] + [
            {"output": "single_include/agentrace/setup.hpp", "entry": "agentrace/setup.hpp",
             "bases": ["agentrace/agentrace.hpp"], "inline_from": ["agentrace/agentrace.hpp"]}]}
        files["agentrace/a.hpp"] = "#pragma once\nint a_marker();\n"
        core = self.generate(files, config)
        setup = (self.root / "single_include/agentrace/setup.hpp").read_text()
        for text in (core, setup):
            for macro in ("AGENTRACE_SINGLE_DECL_HPP", "AGENTRACE_SINGLE_DETAIL_COMMON_HPP"):
                self.assertEqual(text.count(f"#ifndef {macro}\n#define {macro}\n"), 1, macro)
        self.assertNotIn("AGENTRACE_SINGLE_A_HPP", core)  # only what both hold is guarded
        self.assertNotIn("a_marker", setup)
        self.assertEqual(setup.count("#include <agentrace/agentrace.hpp>"), 1)
        self.assertLess(setup.index("#if !defined(LIGHT)"),
                        setup.index("#include <agentrace/agentrace.hpp>"))
        self.assertEqual(run(self.root, "--check").returncode, 0)
        single = self.root / "single_include"
        for includes in (["agentrace/setup.hpp", "agentrace/agentrace.hpp"],
                         ["agentrace/agentrace.hpp", "agentrace/setup.hpp"],
                         ["agentrace/setup.hpp"]):
            source = "".join(f"#include <{h}>\n" for h in includes)
            source += "int use(common_type c, b_type b) { return c.v + b.v + decl_marker(); }\n"
            result = subprocess.run(["g++", "-std=c++20", "-fsyntax-only", "-I", str(single),
                                     "-x", "c++", "-"], input=source, capture_output=True,
                                    text=True, check=False)
            self.assertEqual(result.returncode, 0, f"{includes}: {result.stderr}")
        light = subprocess.run(["g++", "-std=c++20", "-fsyntax-only", "-DLIGHT", "-I",
                                str(single), "-x", "c++", "-"],
                               input="#include <agentrace/setup.hpp>\nb_type b;\n",
                               capture_output=True, text=True, check=False)
        self.assertNotEqual(light.returncode, 0, "the light setup header brought the base")
        self.assertIn("b_type", light.stderr)

    def test_inline_from_must_name_a_base(self):
        config = {**CORE_CONFIG, "outputs": [dict(CORE_CONFIG["outputs"][0],
                                                  inline_from=["agentrace/other.hpp"])]}
        write_tree(self.root, CORE_TREE, config)
        result = run(self.root)
        self.assertEqual(result.returncode, 2)
        self.assertIn("inline_from names agentrace/other.hpp, not among its bases", result.stderr)

    def test_part_with_several_entries_uses_transitive_bases(self):
        files = dict(CORE_TREE)
        files["agentrace/exporters/http.hpp"] = """\
            #pragma once
            #include "agentrace/a.hpp"
            #include "agentrace/http/client.hpp"
            """
        files["agentrace/http/client.hpp"] = "#pragma once\nint client_marker();\n"
        files["agentrace/eval/eval.hpp"] = """\
            #pragma once
            #include "agentrace/b.hpp"
            int eval_marker();
            """
        files["agentrace/eval/judge.hpp"] = """\
            #pragma once
            #include "agentrace/eval/eval.hpp"
            #include "agentrace/http/client.hpp"
            #include "agentrace/detail/common.hpp"
            int judge_marker();
            """
        self.generate(files)
        part = (self.root / "single_include/agentrace/agentrace_eval.hpp").read_text()
        self.assertEqual(part.count("#include <agentrace/agentrace.hpp>"), 1)  # base of base
        self.assertEqual(part.count("#include <agentrace/agentrace_http.hpp>"), 1)
        for absent in ("b_marker", "common_marker", "client_marker"):
            self.assertNotIn(absent, part)
        self.assertEqual(part.count("int eval_marker();"), 1)
        self.assertEqual(part.count("int judge_marker();"), 1)
        self.assertIn("include/agentrace/eval/eval.hpp, include/agentrace/eval/judge.hpp",
                      part.splitlines()[1])
        # while one of its entries is missing, the part is not generated
        (self.root / "include/agentrace/eval/judge.hpp").unlink()
        (self.root / "single_include/agentrace/agentrace_eval.hpp").unlink()
        self.assertEqual(run(self.root).returncode, 0)
        self.assertFalse((self.root / "single_include/agentrace/agentrace_eval.hpp").exists())

    def test_optional_part_skipped_while_its_entry_does_not_exist(self):
        self.generate()
        self.assertFalse((self.root / "single_include/agentrace/agentrace_http.hpp").exists())
        # but a leftover output whose entry is gone is reported
        (self.root / "single_include/agentrace/agentrace_http.hpp").write_text("old\n")
        result = run(self.root, "--check")
        self.assertEqual(result.returncode, 1)
        self.assertIn("agentrace_http.hpp (its entry", result.stderr)

    def test_include_inside_if_is_inlined_there(self):
        files = dict(CORE_TREE)
        files["agentrace/b.hpp"] = """\
            #pragma once
            #if !AGENTRACE_ENABLED
            #include "agentrace/detail/off.hpp"
            #else
            int b_marker();
            #endif
            """
        files["agentrace/detail/off.hpp"] = """\
            #pragma once
            #include "agentrace/detail/off_helper.hpp"
            int off_marker();
            """
        files["agentrace/detail/off_helper.hpp"] = "#pragma once\nint off_helper();\n"
        text = self.generate(files)
        block = text[text.index("#if !AGENTRACE_ENABLED"):text.index("int b_marker();")]
        self.assertIn("// amalgamated: include/agentrace/detail/off.hpp", block)
        self.assertIn("int off_helper();", block)  # its own includes stay inside the #if
        self.assertIn("int off_marker();", block)
        self.assertEqual(text.count("int off_marker();"), 1)

    def test_header_inlined_inside_if_and_included_elsewhere_is_an_error(self):
        files = dict(CORE_TREE)
        files["agentrace/a.hpp"] = "#pragma once\n#ifdef X\n#include \"agentrace/b.hpp\"\n#endif\n"
        write_tree(self.root, files)
        result = run(self.root)
        self.assertEqual(result.returncode, 2)
        self.assertIn("include/agentrace/agentrace.hpp:7: agentrace/b.hpp was inlined under the "
                      "#if at include/agentrace/a.hpp:3", result.stderr)
        self.assertFalse(self.out.exists())

    def test_missing_internal_header_is_an_error_naming_the_includer(self):
        files = dict(CORE_TREE)
        files["agentrace/b.hpp"] = '#pragma once\n#include "agentrace/nope.hpp"\n'
        write_tree(self.root, files)
        result = run(self.root)
        self.assertEqual(result.returncode, 2)
        self.assertIn("include/agentrace/b.hpp:2: agentrace/nope.hpp not found", result.stderr)

    def test_relative_quoted_include_is_an_error(self):
        files = dict(CORE_TREE)
        files["agentrace/a.hpp"] = '#pragma once\n#include "detail/common.hpp"\n'
        write_tree(self.root, files)
        result = run(self.root)
        self.assertEqual(result.returncode, 2)
        self.assertIn('spell it #include "agentrace/..."', result.stderr)

    def test_stubs_forward_each_inlined_header_to_its_single_header(self):
        files = dict(CORE_TREE)
        files["agentrace/exporters/http.hpp"] = '#pragma once\n#include "agentrace/a.hpp"\n'
        self.generate(files)
        stubs = self.root / "stubs"
        self.assertEqual(run(self.root, "--stubs", str(stubs)).returncode, 0)
        common = (stubs / "agentrace/detail/common.hpp").read_text()
        self.assertIn("#include <agentrace/agentrace.hpp>", common)
        http = (stubs / "agentrace/exporters/http.hpp").read_text()
        self.assertIn("#include <agentrace/agentrace_http.hpp>", http)
        self.assertFalse((stubs / "agentrace/agentrace.hpp").exists())


class RealTreeTest(unittest.TestCase):
    def test_real_headers_amalgamate(self):
        """The repository's own headers go through the script (into a temp dir, so a stale
        committed file does not fail this test; scripts/ci/single-header.sh checks that)."""
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            config = json.loads((REPO / "scripts" / "amalgamate.json").read_text())
            (tmp / "scripts").mkdir()
            (tmp / "scripts" / "amalgamate.json").write_text(json.dumps(config))
            (tmp / "include").symlink_to(REPO / "include")
            result = run(tmp)
            self.assertEqual(result.returncode, 0, result.stderr)
            text = (tmp / "single_include/agentrace/agentrace.hpp").read_text()
            headers = sorted(p.relative_to(REPO).as_posix()
                             for p in (REPO / "include/agentrace").rglob("*.hpp"))
            for header in headers:
                self.assertLessEqual(text.count(f"// amalgamated: {header}\n"), 1, header)
            # The instrumentation is its own single header; agentrace.hpp builds on it.
            span = (tmp / "single_include/agentrace/span.hpp").read_text()
            self.assertIn("// amalgamated: include/agentrace/span.hpp\n", span)
            self.assertNotIn("#include <fmt/format.h>", span)
            self.assertNotIn("// amalgamated: include/agentrace/span.hpp\n", text)
            self.assertIn("#include <agentrace/span.hpp>", text)
            self.assertIn("#include <fmt/format.h>", text)


if __name__ == "__main__":
    unittest.main()
