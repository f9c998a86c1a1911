// SPDX-License-Identifier: MIT
// The OTLP-JSON reader: our own exporter's output, the Collector's document form, both int64
// encodings, unknown fields, malformed input (reported with file:line, skipped), and trees.
#include <agentrace/eval/reader.hpp>
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "eval_helpers.hpp"

using namespace agentrace;
using namespace agentrace::eval;
using namespace eval_test;

namespace {

std::vector<read_span> read_all(const std::string& path, reader& r) {
  std::vector<read_span> out;
  r.read_file(path, [&](read_span&& s) { out.push_back(std::move(s)); });
  return out;
}

const read_span* by_id(const std::vector<read_span>& v, std::uint64_t id) {
  for (const auto& s : v)
    if (s.span.span_id == id) return &s;
  return nullptr;
}

bool has_diag(const reader& r, const std::string& needle) {
  for (const auto& d : r.diagnostics())
    if (d.to_string().find(needle) != std::string::npos) return true;
  return false;
}

std::string all_diags(const reader& r) {
  std::string s;
  for (const auto& d : r.diagnostics()) s += d.to_string() + "\n";
  return s;
}

// A minimal valid request line with one span.
std::string span_line(const std::string& trace, const std::string& span,
                      const std::string& extra = "", const std::string& parent = "") {
  return R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{"name":"s"},"spans":[{"traceId":")" +
         trace + R"(","spanId":")" + span + R"(")" +
         (parent.empty() ? "" : R"(,"parentSpanId":")" + parent + "\"") +
         R"(,"name":"op","kind":1,"startTimeUnixNano":"1000","endTimeUnixNano":"2000")" + extra +
         "}]}]}]}";
}

const std::string T1 = "0af7651916cd43dd8448eb211c80319c";
const std::string T2 = "4bf92f3577b34da6a3ce929d0e0e4736";

}  // namespace

TEST_CASE("spans written by our own exporter read back field by field") {
  const auto dir = temp_dir("reader-own");
  const std::string path = (dir / "agent.jsonl").string();
  const auto written = record_agent_run(path);
  REQUIRE(written.size() == 1 + 2 + 1 + 2 * (1 + 2) + 1 + 21);  // 3 tasks

  reader r;
  const auto got = read_all(path, r);
  INFO(all_diags(r));
  CHECK(r.counts().diagnostics == 0);
  REQUIRE(got.size() == written.size());
  for (const auto& w : written) {
    const read_span* g = by_id(got, w.span_id);
    REQUIRE(g);
    CHECK(g->span.trace_id == w.trace_id);
    CHECK(g->span.parent_span_id == w.parent_span_id);
    CHECK(g->span.name == w.name);
    CHECK(g->span.kind == w.kind);
    CHECK(g->span.start_unix_ns == w.start_unix_ns);
    CHECK(g->span.end_unix_ns == w.end_unix_ns);
    CHECK(g->span.status == w.status);
    CHECK(g->span.status_message == w.status_message);
    CHECK(g->span.flags == w.flags);
    REQUIRE(g->span.attributes.size() == w.attributes.size());
    for (const auto& [k, v] : w.attributes) {
      const attr_value* rv = g->span.attr(k);
      REQUIRE(rv);
      CHECK(*rv == v);
    }
    REQUIRE(g->resource);
    CHECK(std::get<std::string>(*g->resource->attr("service.name")) == "sql-agent");
    CHECK(g->resource->scope_name == "agentrace");
    CHECK(g->line >= 1);
  }
}

TEST_CASE("the Collector's document form (pretty-printed) is read whole") {
  reader r;
  const auto got = read_all(fixture("example-otlp-trace.json"), r);
  INFO(all_diags(r));
  CHECK(r.counts().diagnostics == 0);
  REQUIRE(got.size() == 3);
  const read_span* chat = by_id(got, 0xb7ad6b7169203331ull);
  REQUIRE(chat);
  CHECK(chat->span.name == "chat gpt-4o-mini");
  CHECK(chat->span.kind == span_kind::client);
  CHECK(chat->span.parent_span_id == 0x00f067aa0ba902b7ull);
  CHECK(chat->span.flags == 1);
  CHECK_FALSE(chat->span.parent_remote);
  CHECK(chat->span.start_unix_ns == 1767225600010000000ull);
  CHECK(chat->span.end_unix_ns == 1767225601210000000ull);
  CHECK(std::get<double>(*chat->span.attr("gen_ai.request.temperature")) == 0.0);
  CHECK(std::get<std::int64_t>(*chat->span.attr("gen_ai.request.max_tokens")) == 512);
  CHECK(std::get<std::vector<std::string>>(*chat->span.attr("gen_ai.response.finish_reasons")) ==
        std::vector<std::string>{"stop"});
  CHECK(std::get<std::string>(*chat->resource->attr("service.name")) == "nl2sql-agent");
  CHECK(chat->resource->scope_version == "0.1.0");
  const read_span* sel = by_id(got, 0x53995c3f42cd8ad8ull);
  REQUIRE(sel);
  CHECK(sel->span.status == status_code::error);
  CHECK(sel->span.status_message == "no such column: total");
  REQUIRE(sel->span.events.size() == 1);
  CHECK(sel->span.events[0].name == "exception");
  CHECK(sel->span.events[0].time_unix_ns == 1767225601259000000ull);
  REQUIRE(sel->span.events[0].attributes.size() == 2);
  CHECK(std::get<std::string>(sel->span.events[0].attributes[1].second) == "no such column: total");
}

TEST_CASE("int64 as number or string and unknown fields ignored and kvlist and arrays converted") {
  const auto dir = temp_dir("reader-int64");
  // Like `otlp-check receive --out` / the JS SDK: intValue as a number, times as numbers, extra
  // fields everywhere, uppercase hex, kvlist and mixed arrays.
  const std::string line =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"js"}}],"droppedAttributesCount":0,"entityRefs":[]},"unknownTop":{"a":[1,2]},)"
      R"("scopeSpans":[{"scope":{"name":"x","version":"1","attributes":[]},"schemaUrl":"u","spans":[{"traceId":"0AF7651916CD43DD8448EB211C80319C","spanId":"B7AD6B7169203331",)"
      R"("name":"GET","kind":2,"startTimeUnixNano":1767225600000000000,"endTimeUnixNano":"1767225600000000500","futureField":{"deep":[{"x":1}]},"droppedEventsCount":0,)"
      R"("attributes":[{"key":"n","value":{"intValue":200}},{"key":"s","value":{"intValue":"-7"}},{"key":"big","value":{"intValue":"9223372036854775807"}},)"
      R"({"key":"d","value":{"doubleValue":1}},{"key":"nan","value":{"doubleValue":"NaN"}},{"key":"b","value":{"boolValue":true}},{"key":"bytes","value":{"bytesValue":"AAE="}},)"
      R"({"key":"ints","value":{"arrayValue":{"values":[{"intValue":"1"},{"intValue":2}]}}},{"key":"mixed","value":{"arrayValue":{"values":[{"intValue":"1"},{"stringValue":"a"}]}}},)"
      R"({"key":"map","value":{"kvlistValue":{"values":[{"key":"role","value":{"stringValue":"user"}},{"key":"n","value":{"intValue":"3"}},{"key":"inner","value":{"kvlistValue":{"values":[{"key":"x","value":{"boolValue":false}}]}}}]}}},)"
      R"({"key":"empty","value":{}}],"status":{"code":0},"events":[],"links":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","flags":769,"attributes":[{"key":"l","value":{"stringValue":"v"}}]}],"flags":769}]}]}]})";
  write_file(dir / "in.jsonl", line + "\n\n");
  reader r;
  const auto got = read_all((dir / "in.jsonl").string(), r);
  INFO(all_diags(r));
  CHECK(r.counts().diagnostics == 0);
  REQUIRE(got.size() == 1);
  const span_data& s = got[0].span;
  CHECK(to_hex(s.trace_id) == "0af7651916cd43dd8448eb211c80319c");
  CHECK(s.span_id == 0xb7ad6b7169203331ull);
  CHECK(s.start_unix_ns == 1767225600000000000ull);
  CHECK(s.duration_ns() == 500);
  CHECK(s.kind == span_kind::server);
  CHECK(s.parent_remote);  // flags 769 = sampled | HAS_IS_REMOTE | IS_REMOTE
  CHECK(std::get<std::int64_t>(*s.attr("n")) == 200);
  CHECK(std::get<std::int64_t>(*s.attr("s")) == -7);
  CHECK(std::get<std::int64_t>(*s.attr("big")) == INT64_MAX);
  CHECK(std::get<double>(*s.attr("d")) == 1.0);
  CHECK(std::isnan(std::get<double>(*s.attr("nan"))));
  CHECK(std::get<bool>(*s.attr("b")));
  CHECK(std::get<std::string>(*s.attr("bytes")) == "AAE=");
  CHECK(std::get<std::vector<std::int64_t>>(*s.attr("ints")) == std::vector<std::int64_t>{1, 2});
  CHECK(std::get<std::string>(*s.attr("mixed")) == R"([1,"a"])");
  CHECK(std::get<std::string>(*s.attr("map")) == R"({"role":"user","n":3,"inner":{"x":false}})");
  CHECK(s.attr("empty") == nullptr);
  REQUIRE(s.links.size() == 1);
  CHECK(s.links[0].context.span_id == 0x00f067aa0ba902b7ull);
  CHECK(s.links[0].context.remote);
  CHECK(r.counts().lines == 1);  // the blank line is not a line of data
}

TEST_CASE("malformed lines are reported as file:line and the reader goes on") {
  const auto dir = temp_dir("reader-bad");
  const std::string good1 = span_line(T1, "1111111111111111");
  std::string truncated = span_line(T1, "2222222222222222");
  truncated.resize(truncated.size() / 2);
  const std::string
      wrong_types =  // name and kind of the wrong type (ignored), a bad time (dropped)
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[)"
      R"({"traceId":")" +
      T1 +
      R"(","spanId":"3333333333333333","name":5,"kind":"CLIENT","startTimeUnixNano":"1","endTimeUnixNano":"2"},)"
      R"({"traceId":")" +
      T1 +
      R"(","spanId":"4444444444444444","name":"t","startTimeUnixNano":true,"endTimeUnixNano":"2"}]}]}]})";
  const std::string bad_ids =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[)"
      R"({"traceId":"xyz","spanId":"5555555555555555","name":"a","startTimeUnixNano":"1","endTimeUnixNano":"2"},)"
      R"({"traceId":")" +
      T1 +
      R"(","spanId":"0000000000000000","name":"b","startTimeUnixNano":"1","endTimeUnixNano":"2"},)"
      R"({"traceId":")" +
      T1 +
      R"(","spanId":"6666666666666666","parentSpanId":"12","name":"c","startTimeUnixNano":"1","endTimeUnixNano":"2"},)"
      R"({"traceId":")" +
      T1 +
      R"(","spanId":"7777777777777777","name":"ok","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]})";
  std::string non_utf8 = span_line(T1, "8888888888888888",
                                   R"(,"attributes":[{"key":"k","value":{"stringValue":"a)" +
                                       std::string("\xff\xfe") + R"("}}])");
  const std::string not_object = "[1,2,3]";
  const std::string wrong_container = R"({"resourceSpans":{"a":1}})";
  const std::string good2 = span_line(T2, "9999999999999999");
  const std::string content = good1 + "\n" + truncated + "\n" + wrong_types + "\n" + bad_ids +
                              "\n" + non_utf8 + "\n" + not_object + "\n" + wrong_container + "\n" +
                              good2 + "\n";
  const std::string path = (dir / "bad.jsonl").string();
  write_file(path, content);

  std::vector<std::string> printed;
  reader_options o;
  o.on_diagnostic = [&](const diagnostic& d) { printed.push_back(d.to_string()); };
  reader r(o);
  const auto got = read_all(path, r);
  INFO(all_diags(r));
  std::set<std::uint64_t> ids;
  for (const auto& s : got) ids.insert(s.span.span_id);
  CHECK(ids == std::set<std::uint64_t>{0x1111111111111111ull, 0x3333333333333333ull,
                                       0x7777777777777777ull, 0x9999999999999999ull});
  CHECK(has_diag(r, path + ":2: truncated JSON line"));
  CHECK(has_diag(
      r,
      path +
          ":3: resourceSpans[0].scopeSpans[0].spans[0].name: expected a string, got an integer"));
  CHECK(has_diag(r, path + ":3: resourceSpans[0].scopeSpans[0].spans[0].kind: not an unsigned "
                           "64-bit integer: \"CLIENT\""));
  CHECK(has_diag(
      r, path + ":3: resourceSpans[0].scopeSpans[0].spans[1].startTimeUnixNano: expected an "
                "unsigned integer (number or decimal string), got a boolean (span skipped)"));
  CHECK(has_diag(r, path + ":4: resourceSpans[0].scopeSpans[0].spans[0].traceId: not a trace id "
                           "(32 hex digits, not all zero): \"xyz\" (span skipped)"));
  CHECK(has_diag(r, path + ":4: resourceSpans[0].scopeSpans[0].spans[1].spanId: not a span id"));
  CHECK(has_diag(r,
                 path + ":4: resourceSpans[0].scopeSpans[0].spans[2].parentSpanId: not a span id"));
  CHECK(has_diag(r, path + ":5: "));
  CHECK(has_diag(r, "UTF-8"));
  CHECK(has_diag(r, path + ":6: expected a JSON object"));
  CHECK(has_diag(r, path + ":7: resourceSpans: expected an array, got an object"));
  CHECK(r.counts().lines == 8);
  CHECK(r.counts().lines_bad == 2);  // truncated, non-UTF-8
  CHECK(r.counts().spans == 4);
  CHECK(r.counts().spans_bad == 4);
  CHECK(printed.size() == r.counts().diagnostics);
  for (const auto& p : printed) CHECK(p.rfind(path + ":", 0) == 0);
}

TEST_CASE("a 10 MB string is read - a deeply nested kvlist is refused without recursion") {
  const auto dir = temp_dir("reader-big");
  const std::string big(10u << 20, 'x');
  const std::string big_line =
      span_line(T1, "1111111111111111",
                R"(,"attributes":[{"key":"prompt","value":{"stringValue":")" + big + "\"}}]");
  // 200,000 nested kvlists: far deeper than any stack would survive if parsed recursively.
  std::string deep_value;
  const int depth = 200000;
  deep_value.reserve(depth * 60);
  for (int i = 0; i < depth; ++i) deep_value += R"({"kvlistValue":{"values":[{"key":"k","value":)";
  deep_value += R"({"stringValue":"leaf"})";
  for (int i = 0; i < depth; ++i) deep_value += "}]}}";
  const std::string deep_line = span_line(
      T1, "2222222222222222", R"(,"attributes":[{"key":"deep","value":)" + deep_value + "}]");
  // A modest nesting (5 levels) is kept, as JSON text.
  std::string mid_value;
  for (int i = 0; i < 5; ++i) mid_value += R"({"kvlistValue":{"values":[{"key":"k","value":)";
  mid_value += R"({"intValue":"1"})";
  for (int i = 0; i < 5; ++i) mid_value += "}]}}";
  const std::string mid_line = span_line(
      T1, "3333333333333333", R"(,"attributes":[{"key":"mid","value":)" + mid_value + "}]");
  const std::string path = (dir / "big.jsonl").string();
  write_file(path, big_line + "\n" + deep_line + "\n" + mid_line + "\n");

  reader r;
  const auto got = read_all(path, r);
  INFO(all_diags(r));
  REQUIRE(got.size() == 2);
  CHECK(std::get<std::string>(*got[0].span.attr("prompt")).size() == big.size());
  CHECK(has_diag(r, path + ":2: nested deeper than 128 levels; line skipped"));
  CHECK(std::get<std::string>(*got[1].span.attr("mid")) == R"({"k":{"k":{"k":{"k":{"k":1}}}}})");

  // Lines over the limit are skipped without being kept.
  reader_options small;
  small.max_line_bytes = 1 << 20;
  reader r2(small);
  const auto got2 = read_all(path, r2);
  CHECK(got2.size() == 1);
  CHECK(has_diag(r2, path + ":1: line longer than 1048576 bytes; skipped"));
}

TEST_CASE("several files - a JSON-lines file whose first line is broken stays line-based") {
  const auto dir = temp_dir("reader-files");
  write_file(dir / "a.jsonl", span_line(T1, "1111111111111111") + "\n");
  std::string broken = span_line(T1, "2222222222222222");
  broken.resize(30);
  write_file(dir / "b.jsonl", broken + "\n" + span_line(T2, "3333333333333333") + "\n");
  reader r;
  std::vector<read_span> got;
  CHECK_FALSE(r.read_files(
      {(dir / "a.jsonl").string(), (dir / "b.jsonl").string(), (dir / "missing.jsonl").string()},
      [&](read_span&& s) { got.push_back(std::move(s)); }));
  REQUIRE(got.size() == 2);
  CHECK(got[0].file == 0);
  CHECK(got[1].file == 1);
  CHECK(got[1].line == 2);
  CHECK(has_diag(r, (dir / "b.jsonl").string() + ":1: truncated JSON line"));
  CHECK(has_diag(r, (dir / "missing.jsonl").string() + ": cannot open"));
  CHECK(r.counts().files_unreadable == 1);
  // A broken pretty-printed document: the error names its line.
  write_file(dir / "doc.json",
             "{\"resourceSpans\": [\n  {\"scopeSpans\": [\n    {\"spans\": [}\n]}]}\n");
  reader r3;
  CHECK(read_all((dir / "doc.json").string(), r3).empty());
  CHECK(has_diag(r3, (dir / "doc.json").string() + ":3: "));
}

TEST_CASE("trees: parents rebuilt and orphans kept as extra roots and duplicates dropped") {
  const std::string content =
      span_line(T1, "000000000000000a") + "\n" +                          // root
      span_line(T1, "000000000000000b", "", "000000000000000a") + "\n" +  // child
      span_line(T1, "000000000000000c", "", "000000000000000b") + "\n" +  // grandchild
      span_line(T1, "000000000000000b", "", "000000000000000a") + "\n" +  // duplicate (a retry)
      span_line(T1, "000000000000000d", "", "00000000000000ff") + "\n" +  // orphan
      span_line(T1, "000000000000000e", R"(,"flags":769)", "00000000000000ee") +
      "\n" +  // remote parent
      span_line(T2, "0000000000000001") + "\n";
  reader r;
  trace_builder b;
  r.read_string(content, "mem", [&](read_span&& s) { b.add(std::move(s)); });
  auto traces = b.finish();
  REQUIRE(traces.size() == 2);
  const trace& t = traces[0];
  CHECK(t.id() == traces[0].spans()[0].trace_id);
  REQUIRE(t.spans().size() == 5);
  CHECK(t.duplicates() == 1);
  const std::size_t a = t.find(0xa), bb = t.find(0xb), c = t.find(0xc), d = t.find(0xd),
                    e = t.find(0xe);
  REQUIRE(t.roots().size() == 3);
  CHECK(std::count(t.roots().begin(), t.roots().end(), a) == 1);
  CHECK(std::count(t.roots().begin(), t.roots().end(), d) == 1);
  CHECK(std::count(t.roots().begin(), t.roots().end(), e) == 1);
  CHECK(t.children(a) == std::vector<std::size_t>{bb});
  CHECK(t.children(bb) == std::vector<std::size_t>{c});
  CHECK(t.orphans() == std::vector<std::size_t>{d});  // the remote parent is not an orphan
  CHECK(traces[1].spans().size() == 1);
  CHECK(traces[1].orphans().empty());
}

TEST_CASE("thousands of corrupted lines never crash the reader") {
  // Truncations, byte flips, deletions and insertions of structural characters in a valid line.
  std::string base = read_file(fixture("example-otlp-trace.json"));
  base.erase(std::remove(base.begin(), base.end(), '\n'), base.end());
  std::mt19937 rng(7);
  const char structural[] = "{}[]\",:0x\\\xff";
  std::string text;
  std::size_t blank = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string l = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !l.empty(); ++e) {
      const std::size_t at = rng() % l.size();
      switch (rng() % 4) {
        case 0: l.resize(at); break;
        case 1: l[at] = structural[rng() % (sizeof structural - 1)]; break;
        case 2: l.erase(at, 1 + rng() % 8); break;
        default: l.insert(at, 1, structural[rng() % (sizeof structural - 1)]); break;
      }
    }
    if (l.find_first_not_of(" \t\r") == std::string::npos) ++blank;  // blank lines are skipped
    text += l + "\n";
  }
  text += base + "\n";  // and one good line at the end
  reader_options o;
  o.max_kept_diagnostics = 10;
  reader r(o);
  std::size_t spans = 0;
  std::size_t last_line_spans = 0;
  REQUIRE_NOTHROW(r.read_string(text, "fuzz", [&](read_span&& s) {
    ++spans;
    if (s.line == 3001) ++last_line_spans;
    CHECK(s.span.trace_id.valid());
    CHECK(s.span.span_id != 0);
  }));
  CHECK(r.counts().lines == 3001 - blank);
  CHECK(last_line_spans == 3);
  CHECK(r.counts().lines_bad > 1000);  // most corruptions break the JSON
  CHECK(r.counts().diagnostics >= r.counts().lines_bad);
  CHECK(spans >= 3);
}

TEST_CASE("a FIFO is read once, front to back: JSON lines beyond any buffer, and a document") {
  const auto dir = temp_dir("reader-fifo");
  const std::string example = read_file(fixture("example-otlp-trace.json"));  // a document
  std::string one_line;
  for (char c : example)
    if (c != '\n') one_line += c;
  std::string lines;
  while (lines.size() < (3u << 20)) lines += one_line + "\n";  // over the 1 MiB read block
  const std::size_t copies = lines.size() / (one_line.size() + 1);
  auto read_through_fifo = [&](const std::string& text) {
    const std::string fifo = (dir / "in.fifo").string();
    std::filesystem::remove(fifo);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::thread writer([&] {
      std::FILE* f = std::fopen(fifo.c_str(), "wb");
      std::fwrite(text.data(), 1, text.size(), f);
      std::fclose(f);
    });
    reader r;
    std::size_t spans = 0;
    const bool ok = r.read_file(fifo, [&](read_span&&) { ++spans; });
    writer.join();
    CHECK(ok);
    CHECK(r.diagnostics().empty());
    return spans;
  };
  CHECK(read_through_fifo(lines) == 3 * copies);
  CHECK(read_through_fifo("\n\n" + example) == 3);
}

TEST_CASE("a directory is reported, not read as an empty file") {
  const auto dir = temp_dir("reader-dir");
  reader r;
  CHECK_FALSE(r.read_file(dir.string(), [](read_span&&) {}));
  REQUIRE(r.diagnostics().size() == 1);
  CHECK(r.diagnostics()[0].to_string() == dir.string() + ": is a directory, not a trace file");
  CHECK(r.counts().files_unreadable == 1);
}

TEST_CASE("a parent cycle: every span stays in the tree, one span of the cycle becomes a root") {
  auto span = [](std::uint64_t id, std::uint64_t parent, std::uint64_t start) {
    span_data s;
    s.trace_id = {1, 2};
    s.span_id = id;
    s.parent_span_id = parent;
    s.start_unix_ns = start;
    s.end_unix_ns = start + 10;
    return s;
  };
  // 1 is a root; 2 -> 4 -> 3 -> 2 loop; 5 hangs under 3.
  const trace t(
      {1, 2}, {span(1, 0, 0), span(2, 4, 20), span(3, 2, 30), span(4, 3, 40), span(5, 3, 10)}, {});
  std::size_t reached = 0;
  std::vector<std::size_t> stack(t.roots().begin(), t.roots().end());
  while (!stack.empty()) {
    const std::size_t i = stack.back();
    stack.pop_back();
    ++reached;
    for (std::size_t c : t.children(i)) stack.push_back(c);
  }
  CHECK(reached == 5);
  REQUIRE(t.cycle_roots().size() == 1);
  const std::uint64_t cut = t.spans()[t.cycle_roots()[0]].span_id;
  CHECK((cut == 2 || cut == 3 || cut == 4));  // on the cycle, not 5 (under it)
  CHECK(t.roots().size() == 2);
}

TEST_CASE(
    "find_parent_cycles: each cycle once, at its first span's place, across traces and "
    "documents") {
  // Trace A (JSON lines): 2 -> 3 -> 2 on lines 1 and 2; a self-contained chain 5 -> 6 is not.
  // Trace B has the same span ids without a cycle (digests mix the trace id in).
  auto line = [](const char* trace, const char* id, const char* parent) {
    return std::string(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":")") + trace +
           R"(","spanId":")" + id + "\"" +
           (*parent ? std::string(R"(,"parentSpanId":")") + parent + "\"" : std::string()) +
           R"(,"name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]})" + "\n";
  };
  const char* a = "0af7651916cd43dd8448eb211c80319c";
  const char* b = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string text = line(a, "0000000000000002", "0000000000000003") +
                           line(a, "0000000000000003", "0000000000000002") +
                           line(a, "0000000000000006", "0000000000000005") +
                           line(b, "0000000000000002", "0000000000000001") +
                           line(b, "0000000000000003", "0000000000000002");
  reader_options o;
  o.find_parent_cycles = true;
  reader r(o);
  std::size_t spans = 0;
  r.read_string(text, "t.jsonl", [&](read_span&&) { ++spans; });
  CHECK(spans == 5);  // nothing is dropped for it
  CHECK(r.report_parent_cycles() == 1);
  REQUIRE(r.diagnostics().size() == 1);
  CHECK(r.diagnostics()[0].to_string() ==
        "t.jsonl:1: span 0000000000000002 is its own ancestor, a parent cycle of 2 spans: "
        "0000000000000002 -> 0000000000000003 (line 2) -> 0000000000000002; call trees show it "
        "as a root");
  CHECK(r.counts().parent_cycles == 1);
  CHECK(r.report_parent_cycles() == 0);  // reported once

  // Off by default: a reader that was not asked keeps nothing and reports nothing.
  reader quiet;
  quiet.read_string(text, "t.jsonl", [](read_span&&) {});
  CHECK(quiet.report_parent_cycles() == 0);
  CHECK(quiet.diagnostics().empty());

  // A one-span cycle cannot reach the tree (a span whose parent is itself is dropped); a cycle
  // in a pretty-printed document is reported at the file (no lines).
  const std::string doc =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[
        {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00000000000000a1","parentSpanId":"00000000000000a2","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"},
        {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00000000000000a2","parentSpanId":"00000000000000a1","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"}
      ]}]}]})";
  reader d(o);
  d.read_string(doc, "doc.json", [](read_span&&) {});
  CHECK(d.report_parent_cycles() == 1);
  REQUIRE_FALSE(d.diagnostics().empty());
  CHECK_THAT(d.diagnostics().back().to_string(),
             Catch::StartsWith("doc.json: span 00000000000000a1 is its own ancestor, a parent "
                               "cycle of 2 spans: 00000000000000a1 -> 00000000000000a2 -> "
                               "00000000000000a1"));
}
