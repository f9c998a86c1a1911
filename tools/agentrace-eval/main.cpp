// SPDX-License-Identifier: MIT
// agentrace-eval: statistics, queries, waterfalls, evaluation / fine-tuning datasets and an LLM
// judge over OTLP-JSON trace files. Large inputs are streamed: statistics and selection keep a
// few bytes per span or trace; only the selected traces are built in memory.
#include <agentrace/agentrace.hpp>
#include <agentrace/eval/conversation.hpp>
#include <agentrace/eval/cost.hpp>
#include <agentrace/eval/dataset.hpp>
#include <agentrace/eval/light.hpp>
#include <agentrace/eval/preference.hpp>
#include <agentrace/eval/query.hpp>
#include <agentrace/eval/reader.hpp>
#include <agentrace/eval/report.hpp>
#include <agentrace/eval/stats.hpp>
#if AGENTRACE_EVAL_JUDGE
#include <agentrace/eval/judge.hpp>
#if __has_include(<agentrace/exporters/otlp_http.hpp>)
#include <agentrace/exporters/otlp_http.hpp>  // registers OTEL_TRACES_EXPORTER=otlp
#endif
#endif

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

namespace ev = agentrace::eval;

namespace {

constexpr int exit_ok = 0, exit_no_match = 1, exit_usage = 2, exit_evaluation_failed = 3;

constexpr const char* usage_text =
    R"(usage: agentrace-eval COMMAND [QUERY | TRACE_ID] [OPTIONS] FILE...

Reads OTLP-JSON trace files (JSON lines as written by agentrace, the OpenTelemetry
Collector's file exporter or `otlp-check receive --out`, or one JSON document; '-' is stdin).

commands:
  stats                        spans per name: count, errors, p50/p95/p99/max ms; tokens per model
      --json                     as JSON
      --prices FILE              cost per model, trace and span name (agentrace's price JSON or
                                 LiteLLM's model_prices_and_context_window.json)
      --by conversation          per conversation instead (gen_ai.conversation.id, else
                                 session.id): traces, spans, errors, time, tokens, cost
  report [QUERY]               one self-contained HTML file: summary, latency histograms,
                               the selected traces as interactive waterfalls, tokens and cost
                               (no QUERY: the errored traces and the slowest per span name)
      -o, --out FILE             where to write it (default report.html)
      --limit N                  at most N traces drawn (default 20)
      --prices FILE              as for stats
      --title TEXT               the report's title
  show TRACE_ID                text waterfall of one trace (a unique prefix of the id is enough)
  show --conversation ID       every trace of a conversation, in start order
      --color / --no-color       highlight errors (default: when stdout is a terminal)
      --width N                  bar width (default 40)
  select QUERY                 ids of the matching traces and why they matched
      --otlp FILE                also write the selected traces as OTLP-JSON lines
      --json                     one JSON object per trace
  dataset eval QUERY           JSONL: call tree + judge prompt per selected trace
      --template FILE            judge prompt template ({{tree}}, {{reasons}}, {{rubric}}, ...)
      --rubric FILE              rubric text for the template
      --all-attributes           keep every attribute in the tree (default: the key ones)
  dataset finetune QUERY       chat JSONL {"messages":[...]} from LLM spans with captured content,
                               with correction pairs (failed attempt's input, later success's output)
      --metadata                 add trace/span ids and the kind of example
      --no-corrections / --no-plain
  dataset preference QUERY     preference JSONL (OpenAI DPO: input, preferred_output,
                               non_preferred_output) from correction pairs with captured content
      --metadata                 add trace and span ids
  judge QUERY                  ask an OpenAI-compatible model for a verdict on each selected trace
      --endpoint URL             base URL such as http://127.0.0.1:8080/v1 (or $OPENAI_BASE_URL)
      --model M                  model name; the key comes from $OPENAI_API_KEY
      --rubric FILE, --template FILE
      --telemetry FILE           write gen_ai.evaluation.result log records (OTLP-JSON) linked to
                                 the judged spans; OTEL_LOGS_EXPORTER, OTEL_TRACES_EXPORTER,
                                 AGENTRACE_OTLP_FILE and OTEL_EXPORTER_OTLP_[LOGS_|TRACES_]ENDPOINT
                                 also work; without any of them, no telemetry is sent anywhere
      --evaluation-spans         also write them as gen_ai.evaluation.result spans parented to the
                                 judged spans (for backends without OTLP logs)
      --evaluation-name NAME     gen_ai.evaluation.name (default agent_task)
      --concurrency N            requests in flight (default 4)
      --timeout-ms N             per request (default 60000)
      --retries N                retries on 429 / 5xx / timeouts (default 2)
      --max-retry-after-ms N     longest Retry-After (429, 503) waited for; a server asking
                                 more fails that evaluation (default 30000)
      --no-json-mode             do not send response_format json_object
      --dry-run                  print the requests instead of sending them

common options:
  --out FILE        write the output there instead of stdout (dataset, judge)
  --limit N         at most N traces (select, dataset, judge)
  --max-errors N    print at most N input problems (default 20; all are counted)
  -q, --quiet       print no input problems
  --no-progress     no progress line (shown on stderr when it is a terminal and reading takes
                    more than a second)
  --strict          exit 2 when the input had problems

queries (each predicate asks whether some span of the trace satisfies it):
  errors                           db.query > p95          duration > 200ms
  "chat gpt-4o" > 2s               duration > p99          gen_ai.usage.input_tokens > 4000
  db.query.text ~ orders           error.type exists       resource.service.name = sql-agent
  name = "SELECT orders"           status = ok             kind = client
  conversation = conv-42           (gen_ai.conversation.id, else session.id)
  start >= 2026-01-01T00:00:00Z    end < 2026-01-02T00:00:00Z
  combined with and, or, not and parentheses

exit codes: 0 ok, 1 nothing matched / trace not found, 2 bad usage or input,
            3 judge: at least one evaluation failed (the count is printed)
)";

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct options {
  std::string command, subcommand, argument;
  std::vector<std::string> files;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  std::size_t max_errors = 20;
  bool quiet = false, strict = false;

  bool flag(const std::string& f) const { return flags.count(f) != 0; }
  std::optional<std::string> value(const std::string& k) const {
    auto it = values.find(k);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
  std::size_t number(const std::string& k, std::size_t def) const {
    auto v = value(k);
    if (!v) return def;
    std::size_t out = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || p != v->data() + v->size())
      throw usage_error("--" + k + " wants a number, got '" + *v + "'");
    return out;
  }
};

const std::set<std::string> value_options = {
    "otlp",       "out",      "limit", "max-errors",      "template",
    "rubric",     "endpoint", "model", "telemetry",       "concurrency",
    "timeout-ms", "retries",  "width", "evaluation-name", "max-retry-after-ms",
    "prices",     "title",    "by",    "conversation"};
const std::set<std::string> flag_options = {
    "json",           "color",    "no-color", "all-attributes", "metadata",
    "no-corrections", "no-plain", "dry-run",  "no-json-mode",   "evaluation-spans",
    "quiet",          "strict",   "help",     "no-progress"};

options parse_args(int argc, char** argv) {
  options o;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-q") a = "--quiet";
    if (a == "-h") a = "--help";
    if (a == "-o") a = "--out";
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string name = a.substr(2), val;
      const auto eq = name.find('=');
      const bool has_eq = eq != std::string::npos;
      if (has_eq) {
        val = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      if (value_options.count(name)) {
        if (!has_eq) {
          if (i + 1 >= argc) throw usage_error("--" + name + " needs a value");
          val = argv[++i];
        }
        o.values[name] = val;
      } else if (flag_options.count(name) && !has_eq) {
        o.flags.insert(name);
      } else {
        throw usage_error("unknown option '" + a + "'");
      }
    } else {
      pos.push_back(a);
    }
  }
  if (o.flag("help")) return o;
  if (pos.empty()) throw usage_error("no command given");
  o.command = pos[0];
  std::size_t p = 1;
  if (o.command == "dataset") {
    if (pos.size() < 2) throw usage_error("dataset needs 'eval', 'finetune' or 'preference'");
    o.subcommand = pos[1];
    if (o.subcommand != "eval" && o.subcommand != "finetune" && o.subcommand != "preference")
      throw usage_error("dataset needs 'eval', 'finetune' or 'preference', got '" + o.subcommand +
                        "'");
    p = 2;
  }
  const bool wants_argument = (o.command == "show" && !o.value("conversation")) ||
                              o.command == "select" || o.command == "dataset" ||
                              o.command == "judge";
  if (o.command == "report" && pos.size() >= 3) {
    // report [QUERY] FILE...: the first of several arguments is the query unless it is a file.
    std::FILE* f = pos[1] == "-" ? nullptr : std::fopen(pos[1].c_str(), "rb");
    if (f)
      std::fclose(f);
    else if (pos[1] != "-")
      o.argument = pos[p++];
  }
  if (o.command != "stats" && o.command != "report" && o.command != "show" && !wants_argument)
    throw usage_error("unknown command '" + o.command + "'");
  if (wants_argument) {
    if (pos.size() <= p)
      throw usage_error(o.command + (o.command == "show" ? " needs a TRACE_ID" : " needs a QUERY"));
    o.argument = pos[p++];
  }
  o.files.assign(pos.begin() + static_cast<std::ptrdiff_t>(p), pos.end());
  if (o.files.empty()) throw usage_error("no input FILE given");
  o.quiet = o.flag("quiet");
  o.strict = o.flag("strict");
  o.max_errors = o.number("max-errors", 20);
  return o;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw usage_error("cannot read '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Output to --out FILE or stdout.
class output {
 public:
  explicit output(const options& o) {
    if (auto p = o.value("out")) {
      f_ = std::fopen(p->c_str(), "wb");
      if (!f_) throw usage_error("cannot write '" + *p + "'");
      owned_ = true;
    }
  }
  ~output() {
    if (owned_)
      std::fclose(f_);
    else
      std::fflush(f_);
  }
  output(const output&) = delete;
  output& operator=(const output&) = delete;
  void write(std::string_view s) { std::fwrite(s.data(), 1, s.size(), f_); }
  void line(std::string_view s) {
    write(s);
    std::fputc('\n', f_);
  }

 private:
  std::FILE* f_ = stdout;
  bool owned_ = false;
};

// The progress line: bytes read of the total, spans/s and the time left, redrawn on stderr
// at most 5 times a second once a pass has taken longer than a second (the delay is
// AGENTRACE_EVAL_PROGRESS_DELAY_MS). Only when stderr is a terminal.
class progress {
 public:
  using clock = std::chrono::steady_clock;
  progress(bool on, std::vector<std::uint64_t> sizes) : on_(on), sizes_(std::move(sizes)) {
    for (auto n : sizes_) total_ += n;
    if (auto d = agentrace::detail::env("AGENTRACE_EVAL_PROGRESS_DELAY_MS"))
      delay_ = std::chrono::milliseconds(std::strtoll(d->c_str(), nullptr, 10));
  }
  bool enabled() const noexcept { return on_; }
  void begin(int pass) {
    pass_ = pass;
    start_ = last_ = clock::now();
    spans_ = 0;
    done_before_ = 0;
    file_ = 0;
    shown_ = false;
  }
  void span() noexcept { ++spans_; }
  void bytes(std::uint32_t file, std::uint64_t n) {
    while (file_ < file && file_ < sizes_.size()) done_before_ += sizes_[file_++];
    const auto now = clock::now();
    if (now - start_ < delay_ || (shown_ && now - last_ < std::chrono::milliseconds(200))) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const std::uint64_t done = std::min(total_, done_before_ + n);
    const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    std::string line = fmt::format(
        "\ragentrace-eval: pass {}: {:.1f} of {:.1f} MB ({:.0f}%), {:.0f} spans/s", pass_,
        static_cast<double>(done) / 1e6, static_cast<double>(total_) / 1e6,
        total_ ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0,
        secs > 0 ? static_cast<double>(spans_) / secs : 0.0);
    if (rate > 0 && done < total_)
      line += fmt::format(", ETA {:.0f} s", static_cast<double>(total_ - done) / rate);
    line += "\x1b[K";
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
    shown_ = true;
  }
  void end() {
    if (shown_) std::fputs("\r\x1b[K", stderr);
    shown_ = false;
  }

 private:
  bool on_;
  std::vector<std::uint64_t> sizes_;
  std::uint64_t total_ = 0, done_before_ = 0, spans_ = 0;
  std::size_t file_ = 0;
  int pass_ = 0;
  clock::duration delay_ = std::chrono::seconds(1);
  clock::time_point start_{}, last_{};
  bool shown_ = false;
};

// Runs reading passes over the inputs; problems are printed during the first pass only.
// Commands that read their input more than once (statistics, then selection, then the selected
// traces) first copy standard input, pipes, FIFOs and process substitutions (`<(zcat f.gz)`)
// whole into a temporary file; one-pass commands read them directly. A directory is refused.
class input {
 public:
  input(const options& o, bool several_passes) : o_(o), files_(o.files) {
    for (auto& f : files_) {
      if (f == "-" && !several_passes) continue;
      if (f == "-") {
        f = spool(stdin, "<stdin>");
        continue;
      }
      struct stat st {};
      if (::stat(f.c_str(), &st) != 0) continue;  // the reader reports what is missing
      if (S_ISDIR(st.st_mode))
        throw usage_error("'" + f + "' is a directory; give the trace files in it");
      if (!S_ISREG(st.st_mode) && several_passes) {
        std::FILE* in = std::fopen(f.c_str(), "rb");
        if (!in) throw usage_error("cannot read '" + f + "': " + std::strerror(errno));
        const std::string name = f;
        try {
          f = spool(in, name);
        } catch (...) {
          std::fclose(in);
          throw;
        }
        std::fclose(in);
      }
    }
    std::vector<std::uint64_t> sizes;
    for (const auto& f : files_) {
      struct ::stat st {};
      sizes.push_back(f != "-" && ::stat(f.c_str(), &st) == 0 && S_ISREG(st.st_mode)
                          ? static_cast<std::uint64_t>(st.st_size)
                          : 0);
    }
    progress_.emplace(!o.flag("no-progress") && ::isatty(2) == 1, std::move(sizes));
  }
  ~input() {
    for (const auto& t : temps_) std::remove(t.c_str());
  }
  input(const input&) = delete;
  input& operator=(const input&) = delete;

  /// One pass. `attrs`: keep span attributes; `keep`: attribute names kept even when not.
  /// `want_line`: JSON-lines input, the lines worth parsing (others are skipped unparsed).
  ev::read_counts pass(const ev::reader::span_callback& cb, bool attrs = true,
                       std::vector<std::string> keep = {},
                       std::function<bool(std::uint32_t, std::uint64_t)> want_line = {}) {
    ev::reader_options ro;
    ro.want_line = std::move(want_line);
    ro.attributes = attrs;
    ro.keep_attributes = std::move(keep);
    if (passes_++ == 0) {
      ro.find_parent_cycles = true;  // reported with the input's other problems
      ro.display_name = [this](const std::string& path) { return display(path); };
      ro.on_diagnostic = [this](const ev::diagnostic& d) {
        ++problems_;
        if (o_.quiet) return;
        if (printed_ < o_.max_errors) {
          progress_->end();
          std::fprintf(stderr, "%s\n", d.to_string().c_str());
          ++printed_;
        }
      };
    }
    progress& pr = *progress_;
    if (pr.enabled()) {
      ro.on_progress = [&pr](std::uint32_t file, std::uint64_t n) { pr.bytes(file, n); };
      pr.begin(passes_);
    }
    ev::reader r(ro);
    if (pr.enabled())
      r.read_files(files_, [&](ev::read_span&& s) {
        pr.span();
        cb(std::move(s));
      });
    else
      r.read_files(files_, cb);
    pr.end();
    if (passes_ == 1) {
      first_ = r.counts();
      if (!o_.quiet && problems_ > printed_)
        std::fprintf(stderr, "agentrace-eval: %llu more input problems not shown (--max-errors)\n",
                     static_cast<unsigned long long>(problems_ - printed_));
      if (first_.files_unreadable) throw usage_error("cannot read every input file");
      if (!o_.quiet && (first_.lines_bad || first_.spans_bad))
        std::fprintf(stderr, "agentrace-eval: skipped %llu bad line(s) and %llu bad span(s)\n",
                     static_cast<unsigned long long>(first_.lines_bad),
                     static_cast<unsigned long long>(first_.spans_bad));
      if (o_.strict && problems_) throw usage_error("the input has problems (--strict)");
    }
    return r.counts();
  }
  const ev::read_counts& counts() const { return first_; }
  const options& opts() const { return o_; }

 private:
  // How problems name an input: the name given, not its temporary copy; "-" is <stdin>.
  std::string display(const std::string& path) const {
    for (std::size_t i = 0; i < temps_.size(); ++i)
      if (path == temps_[i]) return temp_names_[i];
    return path == "-" ? "<stdin>" : path;
  }
  // Copies `in` to a new temporary file ($TMPDIR or /tmp) and returns its path; diagnostics
  // name `name` instead.
  std::string spool(std::FILE* in, const std::string& name) {
    const char* dir = std::getenv("TMPDIR");
    std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/agentrace-eval-input-XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0)
      throw usage_error("cannot create a temporary file for '" + name +
                        "': " + std::strerror(errno));
    temps_.push_back(tmpl);
    temp_names_.push_back(name);
    std::FILE* out = ::fdopen(fd, "wb");
    if (!out) {
      ::close(fd);
      throw usage_error("cannot write a temporary file for '" + name + "'");
    }
    char buf[1 << 16];
    std::size_t n;
    bool ok = true;
    while ((n = std::fread(buf, 1, sizeof buf, in)) > 0)
      if (std::fwrite(buf, 1, n, out) != n) ok = false;
    if (std::ferror(in)) {
      std::fclose(out);
      throw usage_error("error reading '" + name + "': " + std::strerror(errno));
    }
    if (std::fclose(out) != 0 || !ok)
      throw usage_error("cannot write a temporary copy of '" + name + "' to " + tmpl +
                        " (disk full?)");
    return tmpl;
  }

  const options& o_;
  std::vector<std::string> files_;
  std::vector<std::string> temps_, temp_names_;
  int passes_ = 0;
  std::optional<progress> progress_;
  std::uint64_t problems_ = 0, printed_ = 0;
  ev::read_counts first_{};
};

std::string ms(std::uint64_t ns) { return fmt::format("{:.3f}", static_cast<double>(ns) / 1e6); }

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

std::string usd(double v) { return ev::detail::report_usd(v); }

// --prices FILE, read before any input.
std::optional<ev::price_table> load_prices(const options& o) {
  auto path = o.value("prices");
  if (!path) return std::nullopt;
  try {
    return ev::price_table::load(*path);
  } catch (const ev::price_error& e) {
    throw usage_error(e.what());
  }
}

void report_unpriced(const ev::span_stats& st) {
  const auto unpriced = st.unpriced_models();
  if (!unpriced.empty())
    std::fprintf(stderr, "agentrace-eval: no price for %zu model(s), not counted in the cost: %s\n",
                 unpriced.size(), join(unpriced, ", ").c_str());
}

// ------------------------------------------------------------------------ stats

int cmd_stats_by_conversation(const options& o, const ev::price_table* prices) {
  input in(o, false);
  ev::conversation_stats cs(prices);
  std::vector<std::string> keep = ev::usage_attribute_keys();
  for (const auto& k : ev::conversation_attribute_keys()) keep.push_back(k);
  in.pass([&](ev::read_span&& s) { cs.add(s); }, false, keep);
  const auto rows = cs.rows();
  output out(o);
  if (o.flag("json")) {
    nlohmann::ordered_json j = {{"conversations", nlohmann::ordered_json::array()}};
    for (const auto& r : rows) {
      nlohmann::ordered_json c = {
          {"conversation", r.id.empty() ? nullptr : nlohmann::ordered_json(r.id)},
          {"traces", r.traces},
          {"spans", r.spans},
          {"errors", r.errors},
          {"start", agentrace::detail::rfc3339_text(r.first_start_unix_ns)},
          {"end", agentrace::detail::rfc3339_text(r.last_end_unix_ns)},
          {"input_tokens", r.input_tokens},
          {"output_tokens", r.output_tokens}};
      if (prices) {
        c["cost_usd"] = r.cost_usd;
        c["unpriced_usage"] = r.unpriced;
      }
      j["conversations"].push_back(std::move(c));
    }
    out.line(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    std::size_t w = 12;
    for (const auto& r : rows) w = std::max(w, std::min<std::size_t>(r.id.size(), 48));
    std::string s = fmt::format("{} conversation{}\n\n", rows.size(), rows.size() == 1 ? "" : "s");
    s += fmt::format("{:<{}}  {:>7}  {:>7}  {:>6}  {:<24}  {:>12}  {:>12}  {:>12}", "conversation",
                     w, "traces", "spans", "errors", "first start", "span ms", "input tok",
                     "output tok");
    s += prices ? fmt::format("  {:>12}\n", "cost") : "\n";
    for (const auto& r : rows) {
      s += fmt::format("{:<{}}  {:>7}  {:>7}  {:>6}  {:<24}  {:>12}  {:>12}  {:>12}",
                       r.id.empty() ? "(none)" : r.id, w, r.traces, r.spans, r.errors,
                       agentrace::detail::rfc3339_text(r.first_start_unix_ns),
                       ms(r.last_end_unix_ns - std::min(r.last_end_unix_ns, r.first_start_unix_ns)),
                       r.input_tokens, r.output_tokens);
      s += prices ? fmt::format("  {:>12}\n", usd(r.cost_usd) + (r.unpriced ? "+" : "")) : "\n";
    }
    if (prices) s += "\n(+: the conversation also used a model without a price)\n";
    out.write(s);
  }
  return rows.empty() ? exit_no_match : exit_ok;
}

int cmd_stats(const options& o) {
  const auto prices = load_prices(o);
  if (auto by = o.value("by")) {
    if (*by != "conversation") throw usage_error("--by wants 'conversation', got '" + *by + "'");
    return cmd_stats_by_conversation(o, prices ? &*prices : nullptr);
  }
  input in(o, false);
  ev::span_stats st;
  if (prices) st.set_prices(&*prices);
  in.pass([&](ev::read_span&& s) { st.add(s.span); }, false, ev::stats_attribute_keys());
  st.finish();
  auto rows = st.by_name();
  auto models = st.by_model();
  output out(o);
  if (o.flag("json")) {
    fmt::memory_buffer b;
    fmt::format_to(std::back_inserter(b),
                   "{{\"spans\":{},\"traces\":{},\"errors\":{},\"duplicates\":{},\"names\":[",
                   st.spans(), st.traces(), st.errors(), st.duplicates());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      if (i) b.push_back(',');
      agentrace::detail::append(b, "{\"name\":");
      agentrace::detail::write_json_string(b, r.name);
      fmt::format_to(
          std::back_inserter(b),
          ",\"count\":{},\"errors\":{},\"error_rate\":{},\"p50_ms\":{},\"p95_ms\":{},\"p99_ms\":{},"
          "\"max_ms\":{}}}",
          r.count, r.errors, r.error_rate, ms(r.p50), ms(r.p95), ms(r.p99), ms(r.max));
      if (prices) {
        b.resize(b.size() - 1);
        fmt::format_to(std::back_inserter(b), ",\"cost_usd\":{}}}", r.cost_usd);
      }
    }
    agentrace::detail::append(b, "],\"models\":[");
    for (std::size_t i = 0; i < models.size(); ++i) {
      if (i) b.push_back(',');
      agentrace::detail::append(b, "{\"model\":");
      agentrace::detail::write_json_string(b, models[i].model);
      const auto& u = models[i].usage;
      fmt::format_to(std::back_inserter(b),
                     ",\"spans\":{},\"input_tokens\":{},\"output_tokens\":{},"
                     "\"cache_read_input_tokens\":{},\"cache_creation_input_tokens\":{},"
                     "\"reasoning_output_tokens\":{}",
                     models[i].spans, u.input, u.output, u.cache_read, u.cache_write, u.reasoning);
      if (prices) {
        agentrace::detail::append(b, ",\"priced\":");
        agentrace::detail::append(b, models[i].priced ? "true" : "false");
        if (models[i].priced)
          fmt::format_to(std::back_inserter(b), ",\"cost_usd\":{}", models[i].cost_usd);
      }
      b.push_back('}');
    }
    agentrace::detail::append(b, "]");
    if (prices) {
      fmt::format_to(std::back_inserter(b), ",\"cost_usd\":{},\"unpriced_models\":[",
                     st.cost_usd());
      const auto unpriced = st.unpriced_models();
      for (std::size_t i = 0; i < unpriced.size(); ++i) {
        if (i) b.push_back(',');
        agentrace::detail::write_json_string(b, unpriced[i]);
      }
      agentrace::detail::append(b, "],\"trace_costs\":[");
      const auto tc = st.by_trace_cost();
      for (std::size_t i = 0; i < tc.size(); ++i) {
        if (i) b.push_back(',');
        fmt::format_to(std::back_inserter(b), "{{\"trace_id\":\"{}\",\"cost_usd\":{}}}",
                       agentrace::to_hex(tc[i].id), tc[i].cost_usd);
      }
      b.push_back(']');
    }
    b.push_back('}');
    out.line(fmt::to_string(b));
  } else {
    std::string s = fmt::format(
        "{} span{} in {} trace{}, {} error{}", st.spans(), st.spans() == 1 ? "" : "s", st.traces(),
        st.traces() == 1 ? "" : "s", st.errors(), st.errors() == 1 ? "" : "s");
    if (st.spans())
      s += fmt::format(", {} .. {}", agentrace::detail::rfc3339_text(st.first_start_unix_ns()),
                       agentrace::detail::rfc3339_text(st.last_end_unix_ns()));
    if (st.duplicates()) s += fmt::format(" ({} duplicate spans counted once)", st.duplicates());
    s += "\n\n";
    std::size_t w = 4;
    for (const auto& r : rows) w = std::max(w, std::min<std::size_t>(r.name.size(), 48));
    s += fmt::format("{:<{}}  {:>8}  {:>6}  {:>6}  {:>10}  {:>10}  {:>10}  {:>10}", "name", w,
                     "count", "errors", "err%", "p50 ms", "p95 ms", "p99 ms", "max ms");
    s += prices ? fmt::format("  {:>12}\n", "cost") : "\n";
    for (const auto& r : rows) {
      s += fmt::format("{:<{}}  {:>8}  {:>6}  {:>5.1f}%  {:>10}  {:>10}  {:>10}  {:>10}", r.name, w,
                       r.count, r.errors, r.error_rate * 100, ms(r.p50), ms(r.p95), ms(r.p99),
                       ms(r.max));
      s += prices ? fmt::format("  {:>12}\n", usd(r.cost_usd)) : "\n";
    }
    if (!models.empty()) {
      std::size_t mw = 5;
      for (const auto& m : models) mw = std::max(mw, m.model.size());
      const bool kinds = std::any_of(models.begin(), models.end(), [](const ev::model_usage& m) {
        return m.usage.cache_read || m.usage.cache_write || m.usage.reasoning;
      });
      s += fmt::format("\n{:<{}}  {:>8}  {:>12}  {:>12}", "model", mw, "spans", "input tok",
                       "output tok");
      if (kinds)
        s += fmt::format("  {:>12}  {:>12}  {:>12}", "cache read", "cache write", "reasoning");
      s += prices ? fmt::format("  {:>12}\n", "cost") : "\n";
      for (const auto& m : models) {
        s += fmt::format("{:<{}}  {:>8}  {:>12}  {:>12}", m.model, mw, m.spans, m.input_tokens,
                         m.output_tokens);
        if (kinds)
          s += fmt::format("  {:>12}  {:>12}  {:>12}", m.usage.cache_read, m.usage.cache_write,
                           m.usage.reasoning);
        s += prices ? fmt::format("  {:>12}\n", m.priced ? usd(m.cost_usd) : "unpriced") : "\n";
      }
    }
    if (prices) {
      s += fmt::format("\ntotal cost {}", usd(st.cost_usd()));
      const auto unpriced = st.unpriced_models();
      if (!unpriced.empty()) s += " (without unpriced models: " + join(unpriced, ", ") + ")";
      s += "\n";
      const auto tc = st.by_trace_cost(10);
      if (!tc.empty()) {
        s += "\nmost expensive traces\n";
        for (const auto& c : tc)
          s += fmt::format("{}  {:>12}\n", agentrace::to_hex(c.id), usd(c.cost_usd));
      }
    }
    out.write(s);
  }
  if (prices) report_unpriced(st);
  return st.spans() ? exit_ok : exit_no_match;
}

// ------------------------------------------------------------------------- show

// Where a trace's spans are: per file, the first and last JSON line holding one.
struct line_range {
  std::uint32_t file;
  std::uint64_t first, last;
};
class trace_lines {
 public:
  void add(const ev::read_span& s) {
    if (s.line == 0) {  // not JSON lines: every line is needed
      usable_ = false;
      return;
    }
    auto& v = at_[s.span.trace_id];
    for (auto& r : v)
      if (r.file == s.file) {
        r.first = std::min(r.first, s.line);
        r.last = std::max(r.last, s.line);
        return;
      }
    v.push_back({s.file, s.line, s.line});
  }
  /// The lines holding the spans of `sel` (empty function: read everything).
  std::function<bool(std::uint32_t, std::uint64_t)> lines_of(
      const std::vector<ev::selection>& sel) const {
    if (!usable_) return {};
    std::vector<line_range> want;
    for (const auto& x : sel) {
      auto it = at_.find(x.id);
      if (it != at_.end()) want.insert(want.end(), it->second.begin(), it->second.end());
    }
    return [want = std::move(want)](std::uint32_t file, std::uint64_t line) {
      for (const auto& r : want)
        if (r.file == file && line >= r.first && line <= r.last) return true;
      return false;
    };
  }

 private:
  std::unordered_map<agentrace::trace_id, std::vector<line_range>, ev::trace_id_hash> at_;
  bool usable_ = true;
};

std::vector<ev::trace> build_selected(input& in, const std::vector<ev::selection>& sel,
                                      const trace_lines* where = nullptr);

int cmd_show_conversation(const options& o, const std::string& id) {
  input in(o, true);
  ev::conversation_stats cs;
  in.pass([&](ev::read_span&& s) { cs.add(s); }, false, ev::conversation_attribute_keys());
  const auto ids = cs.traces_of(id);
  if (ids.empty()) {
    std::fprintf(stderr, "agentrace-eval: no conversation %s in the input\n", id.c_str());
    return exit_no_match;
  }
  std::vector<ev::selection> sel;
  for (const auto& t : ids) sel.push_back({t, {}});
  const auto traces = build_selected(in, sel);
  ev::waterfall_options wo;
  wo.bar_width = std::max<std::size_t>(4, o.number("width", 40));
  wo.all_attributes = o.flag("all-attributes");
  wo.color = o.flag("color") || (!o.flag("no-color") && ::isatty(1) == 1);
  output out(o);
  out.line(
      fmt::format("conversation {}: {} trace{}", id, traces.size(), traces.size() == 1 ? "" : "s"));
  for (std::size_t i = 0; i < traces.size(); ++i) {
    out.line(fmt::format("\n[{}/{}]", i + 1, traces.size()));
    out.write(ev::render_waterfall(traces[i], wo));
  }
  return exit_ok;
}

int cmd_show(const options& o) {
  if (auto c = o.value("conversation")) return cmd_show_conversation(o, *c);
  const std::string want = agentrace::detail::to_lower(o.argument);
  if (want.empty() || want.size() > 32 ||
      want.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw usage_error("'" + o.argument + "' is not a trace id (up to 32 hex digits)");
  input in(o, false);
  ev::trace_builder b;
  std::set<std::string> ids;
  in.pass([&](ev::read_span&& s) {
    std::string hex = agentrace::to_hex(s.span.trace_id);
    if (hex.compare(0, want.size(), want) != 0) return;
    ids.insert(hex);
    b.add(std::move(s));
  });
  if (ids.empty()) {
    std::fprintf(stderr, "agentrace-eval: no trace %s in the input\n", o.argument.c_str());
    return exit_no_match;
  }
  if (ids.size() > 1) {
    std::string list;
    for (const auto& id : ids) list += "\n  " + id;
    throw usage_error("'" + o.argument + "' matches " + std::to_string(ids.size()) +
                      " traces:" + list);
  }
  auto traces = b.finish();
  ev::waterfall_options wo;
  wo.bar_width = o.number("width", 40);
  if (wo.bar_width < 4) wo.bar_width = 4;
  wo.all_attributes = o.flag("all-attributes");
  wo.color = o.flag("color") || (!o.flag("no-color") && ::isatty(1) == 1);
  output out(o);
  out.write(ev::render_waterfall(traces.front(), wo));
  return exit_ok;
}

// ----------------------------------------------------------------- selection

struct selected {
  std::vector<ev::selection> sel;
  std::uint64_t traces_seen = 0;
  std::size_t matched = 0;  // before --limit
};

ev::query parse_query(const std::string& text) {
  try {
    return ev::query::parse(text);
  } catch (const ev::query_error& e) {
    throw usage_error(e.what());
  }
}

// Streaming selection: statistics first when the query needs percentiles.
selected select_traces(input& in, const ev::query& q, std::size_t limit) {
  std::optional<ev::span_stats> st;
  bool attrs_needed = false;
  std::vector<std::string> keep;
  for (const auto& a : q.atoms())
    if (a.k == ev::atom::kind::attribute) {
      attrs_needed = true;
      keep.push_back(a.subject);
    } else if (a.k == ev::atom::kind::conversation) {
      for (const auto& k : ev::conversation_attribute_keys()) keep.push_back(k);
    }
  if (q.needs_stats()) {
    st.emplace();
    in.pass([&](ev::read_span&& s) { st->add(s.span); }, false);
    st->finish();
  }
  ev::selector sel(q, st ? &*st : nullptr);
  in.pass([&](ev::read_span&& s) { sel.add(s); }, false, keep);
  (void)attrs_needed;
  selected out{sel.finish(), sel.traces_seen(), 0};
  out.matched = out.sel.size();
  if (limit && out.sel.size() > limit) out.sel.resize(limit);
  return out;
}

// Builds the selected traces (one more pass, keeping only their spans).
std::vector<ev::trace> build_selected(input& in, const std::vector<ev::selection>& sel,
                                      const trace_lines* where) {
  std::unordered_set<agentrace::trace_id, ev::trace_id_hash> want;
  for (const auto& s : sel) want.insert(s.id);
  ev::trace_builder b;
  in.pass(
      [&](ev::read_span&& s) {
        if (want.count(s.span.trace_id)) b.add(std::move(s));
      },
      true, {}, where ? where->lines_of(sel) : nullptr);
  auto built = b.finish();
  // In selection order.
  std::unordered_map<agentrace::trace_id, std::size_t, ev::trace_id_hash> pos;
  for (std::size_t i = 0; i < built.size(); ++i) pos.emplace(built[i].id(), i);
  std::vector<ev::trace> out;
  out.reserve(sel.size());
  for (const auto& s : sel) out.push_back(std::move(built[pos.at(s.id)]));
  return out;
}

void report_selection(const selected& s) {
  std::fprintf(stderr, "agentrace-eval: %zu of %llu traces matched%s\n", s.matched,
               static_cast<unsigned long long>(s.traces_seen),
               s.matched > s.sel.size()
                   ? fmt::format(" (the first {} kept: --limit)", s.sel.size()).c_str()
                   : "");
}

int cmd_select(const options& o) {
  const ev::query q = parse_query(o.argument);
  input in(o, q.needs_stats() || o.value("otlp"));
  const selected s = select_traces(in, q, o.number("limit", 0));
  {
    output out(o);
    for (const auto& x : s.sel) {
      if (o.flag("json")) {
        nlohmann::ordered_json j = {{"trace_id", agentrace::to_hex(x.id)}, {"reasons", x.reasons}};
        out.line(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      } else {
        out.line(agentrace::to_hex(x.id) + "  " + join(x.reasons, "; "));
      }
    }
  }
  if (auto path = o.value("otlp")) {
    const auto traces = build_selected(in, s.sel);
    std::FILE* f = std::fopen(path->c_str(), "wb");
    if (!f) throw usage_error("cannot write '" + *path + "'");
    fmt::memory_buffer b;
    for (const auto& t : traces) {
      // One request per trace; one resourceSpans per distinct resource and scope.
      std::vector<agentrace::span_data_group> groups;
      std::vector<const ev::resource_info*> keys;
      for (std::size_t i = 0; i < t.spans().size(); ++i) {
        const ev::resource_info* r = t.resource(i);
        std::size_t g = 0;
        while (g < keys.size() && keys[g] != r) ++g;
        if (g == keys.size()) {
          keys.push_back(r);
          agentrace::span_data_group grp;
          if (r) {
            grp.resource_attributes = &r->attributes;
            grp.scope_name = r->scope_name;
            grp.scope_version = r->scope_version;
          }
          groups.push_back(std::move(grp));
        }
        groups[g].spans.push_back(&t.spans()[i]);
      }
      b.clear();
      agentrace::serialize_otlp_json(groups, b);
      b.push_back('\n');
      std::fwrite(b.data(), 1, b.size(), f);
    }
    std::fclose(f);
  }
  report_selection(s);
  return s.sel.empty() ? exit_no_match : exit_ok;
}

// -------------------------------------------------------------------- report

// The default selection: traces with an error (in input order) and, for each span name, the
// trace of its slowest span. Collected during the statistics pass.
struct default_picker {
  std::vector<ev::selection> errored;
  std::unordered_set<agentrace::trace_id, ev::trace_id_hash> errored_ids;
  void add(const agentrace::span_data& s) {
    if (s.status != agentrace::status_code::error) return;
    if (!errored_ids.insert(s.trace_id).second) return;
    std::string why = "errors: span \"" + s.name + "\" has status ERROR";
    if (!s.status_message.empty()) why += ": " + s.status_message;
    errored.push_back({s.trace_id, {std::move(why)}});
  }
  // Errored traces first, then the slowest per name (most frequent names first); a trace
  // picked twice keeps every reason.
  std::vector<ev::selection> finish(const std::vector<ev::name_stats>& rows) {
    std::vector<ev::selection> out = std::move(errored);
    std::unordered_map<agentrace::trace_id, std::size_t, ev::trace_id_hash> at;
    for (std::size_t i = 0; i < out.size(); ++i) at.emplace(out[i].id, i);
    for (const auto& r : rows) {
      std::string why =
          fmt::format("slowest \"{}\" span: {} ms (p95 {} ms)", r.name, ms(r.max), ms(r.p95));
      auto [it, fresh] = at.try_emplace(r.slowest_trace, out.size());
      if (fresh)
        out.push_back({r.slowest_trace, {std::move(why)}});
      else
        out[it->second].reasons.push_back(std::move(why));
    }
    return out;
  }
};

int cmd_report(const options& o) {
  const auto prices = load_prices(o);
  std::optional<ev::query> q;
  if (!o.argument.empty()) q = parse_query(o.argument);
  const std::size_t limit = o.number("limit", 20);
  input in(o, true);
  ev::span_stats st;
  if (prices) st.set_prices(&*prices);
  std::vector<std::string> keep = ev::stats_attribute_keys();
  if (q)
    for (const auto& a : q->atoms()) {
      if (a.k == ev::atom::kind::attribute) keep.push_back(a.subject);
      if (a.k == ev::atom::kind::conversation)
        for (const auto& k : ev::conversation_attribute_keys()) keep.push_back(k);
    }
  std::optional<ev::selector> sel;
  if (q && !q->needs_stats()) sel.emplace(*q);
  default_picker picker;
  trace_lines where;
  in.pass(
      [&](ev::read_span&& s) {
        st.add(s.span);
        where.add(s);
        if (sel)
          sel->add(s);
        else if (!q)
          picker.add(s.span);
      },
      false, keep);
  st.finish();
  if (q && !sel) {  // percentiles in the query: select in a second pass
    sel.emplace(*q, &st);
    in.pass([&](ev::read_span&& s) { sel->add(s); }, false, keep);
  }
  std::vector<ev::selection> chosen = sel ? sel->finish() : picker.finish(st.by_name());
  const std::size_t matched = chosen.size();
  if (limit && chosen.size() > limit) chosen.resize(limit);
  const auto traces = build_selected(in, chosen, &where);
  std::vector<ev::report_trace> drawn;
  drawn.reserve(traces.size());
  for (std::size_t i = 0; i < traces.size(); ++i) drawn.push_back({&traces[i], chosen[i].reasons});

  ev::report_options ro;
  if (auto t = o.value("title")) ro.title = *t;
  ro.inputs = join(o.files, ", ");
  ro.query = o.argument;
  ro.traces_matched = matched;
  fmt::memory_buffer b;
  ev::write_report(b, st, drawn, prices ? &*prices : nullptr, ro);
  const std::string path = o.value("out").value_or("report.html");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw usage_error("cannot write '" + path + "'");
  const bool ok = std::fwrite(b.data(), 1, b.size(), f) == b.size();
  if (std::fclose(f) != 0 || !ok) throw usage_error("cannot write '" + path + "' (disk full?)");
  std::fprintf(
      stderr,
      "agentrace-eval: wrote %s (%zu bytes): %llu spans, %zu of %zu selected traces drawn\n",
      path.c_str(), b.size(), static_cast<unsigned long long>(st.spans()), drawn.size(), matched);
  if (prices) report_unpriced(st);
  return st.spans() ? exit_ok : exit_no_match;
}

// ------------------------------------------------------------------ datasets

int cmd_dataset(const options& o) {
  const ev::query q = parse_query(o.argument);
  input in(o, true);
  const selected s = select_traces(in, q, o.number("limit", 0));
  report_selection(s);
  if (s.sel.empty()) return exit_no_match;
  const auto traces = build_selected(in, s.sel);
  output out(o);
  ev::dataset_options d;
  d.metadata = o.flag("metadata");
  if (o.subcommand == "eval") {
    if (auto t = o.value("template")) d.eval.judge_template = read_text_file(*t);
    if (auto r = o.value("rubric")) d.eval.rubric = read_text_file(*r);
    d.eval.tree.all_attributes = o.flag("all-attributes");
  } else if (o.subcommand == "preference") {
    d.kind = ev::dataset_kind::preference;
  } else {
    d.kind = ev::dataset_kind::finetune;
    d.finetune.corrections = !o.flag("no-corrections");
    d.finetune.plain = !o.flag("no-plain");
  }
  const ev::dataset_counts n = ev::write_dataset(
      traces, s.sel, [&](std::string_view line) { out.line(line); }, d);
  if (d.kind == ev::dataset_kind::eval) return exit_ok;
  if (d.kind == ev::dataset_kind::preference) {
    std::fprintf(
        stderr,
        "agentrace-eval: %zu preference pairs; skipped %zu correction(s) without captured "
        "gen_ai.input.messages/gen_ai.output.messages and %zu with the same answer twice\n",
        n.lines, n.without_content, n.identical);
    return n.lines ? exit_ok : exit_no_match;
  }
  std::fprintf(stderr, "agentrace-eval: %zu examples (%zu correction pairs)\n", n.lines,
               n.corrections);
  if (n.lines == 0) {
    std::fprintf(stderr,
                 "agentrace-eval: no LLM span with captured gen_ai.input.messages and "
                 "gen_ai.output.messages in the selected traces\n");
    return exit_no_match;
  }
  return exit_ok;
}

// --------------------------------------------------------------------- judge

#if AGENTRACE_EVAL_JUDGE
int cmd_judge(const options& o) {
  const ev::query q = parse_query(o.argument);
  ev::judge_options jo;
  if (auto e = o.value("endpoint"))
    jo.endpoint = *e;
  else if (auto env = agentrace::detail::env("OPENAI_BASE_URL"))
    jo.endpoint = *env;
  if (auto m = o.value("model")) jo.model = *m;
  if (jo.model.empty()) throw usage_error("judge needs --model");
  if (!o.value("endpoint") && !agentrace::detail::env("OPENAI_BASE_URL"))
    throw usage_error("judge needs --endpoint URL (or OPENAI_BASE_URL)");
  if (auto k = agentrace::detail::env("OPENAI_API_KEY")) jo.api_key = *k;
  if (auto r = o.value("rubric")) jo.rubric = read_text_file(*r);
  if (auto t = o.value("template")) jo.prompt_template = read_text_file(*t);
  if (auto n = o.value("evaluation-name")) jo.evaluation_name = *n;
  jo.concurrency = std::max<std::size_t>(1, o.number("concurrency", 4));
  jo.timeout = std::chrono::milliseconds(o.number("timeout-ms", 60000));
  jo.max_retries = static_cast<int>(o.number("retries", 2));
  jo.max_retry_after = std::chrono::milliseconds(o.number("max-retry-after-ms", 30000));
  jo.json_mode = !o.flag("no-json-mode");

  input in(o, true);
  const selected s = select_traces(in, q, o.number("limit", 0));
  report_selection(s);
  if (s.sel.empty()) return exit_no_match;
  const auto traces = build_selected(in, s.sel);
  std::vector<ev::judge_item> items;
  for (std::size_t i = 0; i < traces.size(); ++i) items.push_back({&traces[i], s.sel[i].reasons});

  output out(o);
  if (o.flag("dry-run")) {
    const std::string url = agentrace::eval::detail::base_url(jo.endpoint) + "/chat/completions";
    for (const auto& it : items) {
      nlohmann::ordered_json j = {
          {"method", "POST"},
          {"url", url},
          {"trace_id", agentrace::to_hex(it.t->id())},
          {"body", nlohmann::ordered_json::parse(agentrace::llm::chat_request_body(
                       ev::judge_request(*it.t, it.reasons, jo)))}};
      out.line(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    return exit_ok;
  }
  std::vector<agentrace::exporter_ptr> exporters;
  if (auto t = o.value("telemetry")) exporters.push_back(agentrace::otlp_json_file(*t));
  // The environment's exporters only when it names one: the specification's default (OTLP to
  // localhost:4318) would send this tool's telemetry where nobody asked it to go.
  namespace ad = agentrace::detail;
  if (ad::env("OTEL_TRACES_EXPORTER") || ad::env("OTEL_LOGS_EXPORTER") ||
      ad::env("AGENTRACE_OTLP_FILE") || ad::env("OTEL_EXPORTER_OTLP_ENDPOINT") ||
      ad::env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") || ad::env("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"))
    for (auto& e : agentrace::exporters_from_env()) exporters.push_back(std::move(e));

  const auto verdicts = ev::judge_all(items, jo);
  std::size_t ok = 0;
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    out.line(ev::verdict_line(verdicts[i], &traces[i]));
    ok += verdicts[i].ok;
  }
  if (!exporters.empty()) {
    // gen_ai.evaluation.result log records linked to the judged spans; with
    // --evaluation-spans also mirrored as spans for backends without OTLP logs.
    const auto logs = ev::evaluation_log_records(verdicts, jo.evaluation_name);
    const bool spans = o.flag("evaluation-spans");
    const ev::evaluation_records recs(spans ? verdicts : std::vector<ev::verdict>{},
                                      jo.evaluation_name);
    for (auto& e : exporters) {
      bool ok = ev::export_evaluation_logs(*e, logs) == agentrace::export_result::success;
      if (spans) ok = ev::export_evaluations(*e, recs) == agentrace::export_result::success && ok;
      if (!ok)
        std::fprintf(stderr,
                     "agentrace-eval: exporter '%.*s' failed to write the evaluation telemetry\n",
                     static_cast<int>(e->name().size()), e->name().data());
    }
  }
  const std::size_t failed = verdicts.size() - ok;
  std::fprintf(stderr, "agentrace-eval: %zu verdicts, %zu evaluation errors\n", ok, failed);
  if (failed) {
    std::fprintf(stderr, "agentrace-eval: %zu of %zu evaluations failed\n", failed,
                 verdicts.size());
    return exit_evaluation_failed;
  }
  return exit_ok;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  try {
    const options o = parse_args(argc, argv);
    if (o.flag("help")) {
      std::fputs(usage_text, stdout);
      return exit_ok;
    }
    if (o.command == "stats") return cmd_stats(o);
    if (o.command == "show") return cmd_show(o);
    if (o.command == "report") return cmd_report(o);
    if (o.command == "select") return cmd_select(o);
    if (o.command == "dataset") return cmd_dataset(o);
    if (o.command == "judge") {
#if AGENTRACE_EVAL_JUDGE
      return cmd_judge(o);
#else
      throw usage_error("this agentrace-eval was built without libcurl: no judge");
#endif
    }
    throw usage_error("unknown command '" + o.command + "'");
  } catch (const usage_error& e) {
    std::fprintf(stderr, "agentrace-eval: %s\n", e.what());
    if (std::string_view(e.what()).find("bad query") == std::string_view::npos)
      std::fprintf(stderr, "(agentrace-eval --help for usage)\n");
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agentrace-eval: %s\n", e.what());
    return exit_usage;
  }
}
