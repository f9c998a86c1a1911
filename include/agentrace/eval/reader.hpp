// SPDX-License-Identifier: MIT
// Reads OTLP-JSON (one ExportTraceServiceRequest document, or JSON lines: ours, the Collector's
// file exporter, `otlp-check receive --out`) into read_span objects, streaming. Malformed input
// is reported as `file:line: what is wrong` and skipped; the reader never throws on bad data.
#pragma once

#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/json_write.hpp"
#include "agentrace/eval/trace.hpp"
#include "agentrace/eval/types.hpp"
#include "agentrace/eval/detail/line_source.hpp"
#include "agentrace/eval/detail/otlp_sax.hpp"
#include "agentrace/eval/detail/parent_cycles.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// Streams spans out of OTLP-JSON files. Each file is either JSON lines (one request per line;
/// a bad line is reported and skipped) or one JSON document (pretty-printed is fine).
class reader {
 public:
  using span_callback = std::function<void(read_span&&)>;

  explicit reader(reader_options o = {}) : opt_(std::move(o)) {}

  /// Reads `path` ("-" is standard input), calling `on_span` for each good span. Pipes, FIFOs
  /// and standard input are read once, front to back (JSON lines are streamed; a document is
  /// held whole, as it is from a file). Returns false if the file could not be opened or is a
  /// directory (reported as a diagnostic).
  bool read_file(const std::string& path, const span_callback& on_span) {
    const auto index = file_index(path);
    ++counts_.files;
    std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
    if (!f) {
      ++counts_.files_unreadable;
      add_diag(path, 0, std::string("cannot open: ") + std::strerror(errno));
      return false;
    }
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> guard(f == stdin ? nullptr : f, &std::fclose);
    struct stat st {};
    const bool known = ::fstat(::fileno(f), &st) == 0;
    if (known && S_ISDIR(st.st_mode)) {
      ++counts_.files_unreadable;
      add_diag(path, 0, "is a directory, not a trace file");
      return false;
    }
    read_stream(f, path, index, known && S_ISREG(st.st_mode), on_span);
    return true;
  }

  /// Reads every file in turn.
  bool read_files(const std::vector<std::string>& paths, const span_callback& on_span) {
    bool ok = true;
    for (const auto& p : paths) ok = read_file(p, on_span) && ok;
    report_parent_cycles();
    return ok;
  }

  /// With find_parent_cycles: reports the cycles among the spans read since the last call (one
  /// diagnostic each, at the place of its first span read) and returns how many there were.
  std::size_t report_parent_cycles() {
    const auto found = cycles_.find();
    cycles_.clear();
    for (const auto& c : found) {
      std::string chain;
      for (std::size_t i = 0; i <= c.size(); ++i) {
        const auto& at = c[i % c.size()];
        if (i) chain += " -> ";
        chain += to_hex(at.span_id);
        if (at.file != c.front().file)
          chain +=
              " (" + shown(files_[at.file]) + (at.line ? ":" + std::to_string(at.line) : "") + ")";
        else if (at.line && i && i < c.size())
          chain += " (line " + std::to_string(at.line) + ")";
      }
      ++counts_.parent_cycles;
      add_diag(files_[c.front().file], c.front().line,
               "span " + to_hex(c.front().span_id) + " is its own ancestor, a parent cycle of " +
                   std::to_string(c.size()) + (c.size() == 1 ? " span: " : " spans: ") + chain +
                   "; call trees show it as a root");
    }
    return found.size();
  }

  /// Reads OTLP-JSON held in memory (JSON lines or one document); `name` labels diagnostics.
  void read_string(std::string_view text, const std::string& name, const span_callback& on_span) {
    const auto index = file_index(name);
    ++counts_.files;
    read_text(text, name, index, on_span);
  }

  const read_counts& counts() const noexcept { return counts_; }
  const std::vector<diagnostic>& diagnostics() const noexcept { return diags_; }
  const std::vector<std::string>& files() const noexcept { return files_; }
  const reader_options& options() const noexcept { return opt_; }

 private:
  void read_text(std::string_view text, const std::string& name, std::uint32_t index,
                 const span_callback& on_span) {
    // A first line that is not complete JSON: a document spanning lines, or JSON lines whose
    // first line is broken. Try the document; fall back to lines when it fails at once.
    std::size_t p = 0;
    while (p < text.size()) {
      std::size_t nl = text.find('\n', p);
      if (nl == std::string_view::npos) nl = text.size();
      const std::string_view first = text.substr(p, nl - p);
      if (!detail::is_blank(first)) {
        if (!complete_json(first) &&
            parse_document(text, name, index, on_span, [&] { return has_request_line(text); }))
          return;
        break;
      }
      p = nl + 1;
    }
    std::uint64_t lineno = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      const std::string_view line = text.substr(pos, nl - pos);
      ++lineno;
      pos = nl + 1;
      if (!detail::is_blank(line)) parse_line(line, name, index, lineno, on_span);
    }
  }

  std::uint32_t file_index(const std::string& path) {
    for (std::size_t i = 0; i < files_.size(); ++i)
      if (files_[i] == path) return static_cast<std::uint32_t>(i);
    files_.push_back(path);
    return static_cast<std::uint32_t>(files_.size() - 1);
  }

  std::string shown(const std::string& path) const {
    return opt_.display_name ? opt_.display_name(path) : path;
  }

  void add_diag(const std::string& file, std::uint64_t line, std::string msg) {
    ++counts_.diagnostics;
    diagnostic d{shown(file), line, std::move(msg)};
    if (opt_.on_diagnostic) opt_.on_diagnostic(d);
    if (diags_.size() < opt_.max_kept_diagnostics) diags_.push_back(std::move(d));
  }

  void setup(detail::otlp_sax& h, const std::string& file, std::uint64_t& line_ref,
             const span_callback& emit_fn) {
    h.max_depth = opt_.max_depth;
    h.keep_all_attributes = opt_.attributes;
    h.keep_attributes = &opt_.keep_attributes;
    h.emit = emit_fn;
    h.report = [this, &file, &line_ref](const std::string& path, const std::string& msg,
                                        bool dropped) {
      if (dropped) ++counts_.spans_bad;
      add_diag(
          file, line_ref,
          (path.empty() ? std::string() : path + ": ") + msg + (dropped ? " (span skipped)" : ""));
    };
  }

  static std::string clean_parse_message(const std::string& what) {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..."
    std::string m = what;
    const auto p = m.find(": ");
    if (m.rfind("[json.exception", 0) == 0 && p != std::string::npos) m = m.substr(p + 2);
    // The message quotes input bytes: keep it valid UTF-8.
    std::string out;
    const auto* b = reinterpret_cast<const unsigned char*>(m.data());
    const auto* e = b + m.size();
    while (b < e) {
      const std::size_t n = agentrace::detail::utf8_sequence_length(b, e);
      if (n == 0) {
        out += "\\x";
        out += agentrace::detail::hex_digits[*b >> 4];
        out += agentrace::detail::hex_digits[*b & 0xF];
        ++b;
      } else {
        out.append(reinterpret_cast<const char*>(b), n);
        b += n;
      }
    }
    return out;
  }

  static bool complete_json(std::string_view line) {
    probe_sax p;
    return nlohmann::json::sax_parse(line.begin(), line.end(), &p) && p.depth_ok;
  }
  // Some line among the first 1000 is a whole ExportTraceServiceRequest: the input is JSON lines.
  static bool is_request_line(std::string_view l) {
    return l.find("\"resourceSpans\"") != std::string_view::npos && complete_json(l);
  }
  static bool has_request_line(std::string_view text) {
    std::size_t pos = 0;
    for (int n = 0; n < 1000 && pos < text.size(); ++n) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      if (is_request_line(text.substr(pos, nl - pos))) return true;
      pos = nl + 1;
    }
    return false;
  }
  bool file_has_request_line(std::FILE* f) const {
    std::rewind(f);
    detail::line_source src(f, opt_.max_line_bytes);
    std::string line;
    for (int n = 0; n < 1000; ++n) {
      const auto r = src.next(line);
      if (r == detail::line_source::result::eof) break;
      if (r == detail::line_source::result::line && is_request_line(line)) return true;
    }
    return false;
  }

  // Only checks that a line is one complete JSON value (depth-limited; no values kept).
  struct probe_sax final : nlohmann::json_sax<nlohmann::json> {
    std::size_t depth = 0;
    bool depth_ok = true;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return ++depth <= 256 || (depth_ok = false); }
    bool key(string_t&) override { return true; }
    bool end_object() override {
      --depth;
      return true;
    }
    bool start_array(std::size_t) override { return ++depth <= 256 || (depth_ok = false); }
    bool end_array() override {
      --depth;
      return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
      return false;
    }
  };

  // Collects a line's spans and delivers them only if the whole line parsed.
  void parse_line(std::string_view line, const std::string& file, std::uint32_t index,
                  std::uint64_t lineno, const span_callback& on_span) {
    ++counts_.lines;
    line_spans_.clear();
    std::uint64_t line_ref = lineno;
    setup(sax_, file, line_ref, [&](read_span&& s) {
      s.file = index;
      s.line = lineno;
      line_spans_.push_back(std::move(s));
    });
    sax_.reset();
    bool ok = false;
    std::string error;
    try {
      ok = nlohmann::json::sax_parse(line.begin(), line.end(), &sax_,
                                     nlohmann::json::input_format_t::json, true);
    } catch (const nlohmann::json::exception& e) {
      error = clean_parse_message(e.what());
    }
    if (!ok) {
      ++counts_.lines_bad;
      if (!sax_.parse_error_.empty()) error = clean_parse_message(sax_.parse_error_);
      if (!sax_.abort_reason.empty())
        error = sax_.abort_reason;
      else if (error.empty())
        error = "invalid JSON";
      // An error at the very end of the line: the line was cut short.
      if (sax_.abort_reason.empty() && !sax_.parse_error_.empty() &&
          sax_.parse_error_byte_ >= line.size())
        error = "truncated JSON line (" + error + ")";
      add_diag(file, lineno, error + "; line skipped");
      line_spans_.clear();
      return;
    }
    for (auto& s : line_spans_) {
      ++counts_.spans;
      if (opt_.find_parent_cycles) cycles_.add(s.span, index, lineno);
      on_span(std::move(s));
    }
    line_spans_.clear();
  }

  // One document (possibly pretty-printed) from a FILE* or memory, streamed.
  // Returns false (and counts nothing) when the parse failed before any span and
  // `really_lines` says the input is JSON lines after all.
  template <class Parse>
  bool parse_whole(const std::string& file, std::uint32_t index, const span_callback& on_span,
                   Parse&& parse, const std::function<std::uint64_t(std::size_t)>& line_of,
                   const std::function<bool()>& really_lines) {
    std::uint64_t line_ref = 0;
    std::uint64_t delivered = 0;
    setup(sax_, file, line_ref, [&](read_span&& s) {
      s.file = index;
      if (opt_.find_parent_cycles) cycles_.add(s.span, index, 0);
      ++delivered;
      ++counts_.spans;
      on_span(std::move(s));
    });
    sax_.reset();
    std::string error;
    std::size_t byte = 0;
    bool ok = false;
    try {
      ok = parse(sax_);
    } catch (const nlohmann::json::exception& e) {
      error = clean_parse_message(e.what());
    }
    if (!ok && delivered == 0 && really_lines()) return false;
    ++counts_.lines;
    if (!ok) {
      ++counts_.lines_bad;
      if (!sax_.parse_error_.empty()) {
        error = clean_parse_message(sax_.parse_error_);
        byte = sax_.parse_error_byte_;
      }
      if (!sax_.abort_reason.empty())
        error = sax_.abort_reason;
      else if (error.empty())
        error = "invalid JSON";
      add_diag(file, byte ? line_of(byte) : 0,
               error + "; rest of the document skipped (" + std::to_string(delivered) +
                   " spans before it were kept)");
    }
    return true;
  }

  bool parse_document(std::string_view text, const std::string& file, std::uint32_t index,
                      const span_callback& on_span, const std::function<bool()>& really_lines) {
    return parse_whole(
        file, index, on_span,
        [&](detail::otlp_sax& h) {
          return nlohmann::json::sax_parse(text.begin(), text.end(), &h,
                                           nlohmann::json::input_format_t::json, true);
        },
        [&](std::size_t byte) {
          std::uint64_t l = 1;
          for (std::size_t i = 0; i < byte && i < text.size(); ++i) l += text[i] == '\n';
          return l;
        },
        really_lines);
  }

  void read_stream(std::FILE* f, const std::string& file, std::uint32_t index, bool seekable,
                   const span_callback& on_span) {
    if (seekable) {
      // A first line that is not complete JSON: a pretty-printed document, or JSON lines whose
      // first line is broken. Try the document; fall back to lines when it fails at once and
      // some line is a whole request.
      detail::line_source peek(f, opt_.max_line_bytes);
      std::string first;
      auto r = detail::line_source::result::eof;
      while ((r = peek.next(first)) == detail::line_source::result::line &&
             detail::is_blank(first)) {
      }
      if (r == detail::line_source::result::line && !complete_json(first)) {
        std::rewind(f);
        if (parse_file_document(f, file, index, on_span)) {
          if (opt_.on_progress)
            opt_.on_progress(index, static_cast<std::uint64_t>(std::max(0L, std::ftell(f))));
          return;
        }
      }
      std::rewind(f);
    }
    detail::line_source src(f, opt_.max_line_bytes);
    std::string line;
    std::uint64_t lineno = 0;
    auto r = detail::line_source::result::eof;
    if (!seekable) {
      // Read once: the first non-blank line decides. Complete JSON: JSON lines, streamed from
      // here. Otherwise a document (or a broken first line): what follows is gathered and read
      // as read_string() reads text.
      std::string head;
      while ((r = src.next(line)) == detail::line_source::result::line && detail::is_blank(line)) {
        head += line;
        head += '\n';
      }
      if (r == detail::line_source::result::line && !complete_json(line)) {
        head += line;
        head += '\n';
        std::uint64_t skipped = 0;
        while ((r = src.next(line)) != detail::line_source::result::eof) {
          if (r == detail::line_source::result::too_long) ++skipped;
          head += line;
          head += '\n';
        }
        if (skipped)
          add_diag(file, 0,
                   std::to_string(skipped) + " line(s) longer than " +
                       std::to_string(opt_.max_line_bytes) + " bytes; skipped");
        read_text(head, file, index, on_span);
        return;
      }
      lineno = std::count(head.begin(), head.end(), '\n');
      if (r == detail::line_source::result::eof) return;
    }
    for (bool first = !seekable;; first = false) {
      if (!first) r = src.next(line);
      if (r == detail::line_source::result::eof) break;
      ++lineno;
      if (r == detail::line_source::result::too_long) {
        ++counts_.lines;
        ++counts_.lines_bad;
        add_diag(file, lineno,
                 "line longer than " + std::to_string(opt_.max_line_bytes) + " bytes; skipped");
        continue;
      }
      if (opt_.want_line && !opt_.want_line(index, lineno)) continue;
      if (!detail::is_blank(line)) parse_line(line, file, index, lineno, on_span);
      if (opt_.on_progress) opt_.on_progress(index, src.consumed());
    }
  }

  bool parse_file_document(std::FILE* f, const std::string& file, std::uint32_t index,
                           const span_callback& on_span) {
    return parse_whole(
        file, index, on_span,
        [&](detail::otlp_sax& h) {
          return nlohmann::json::sax_parse(f, &h, nlohmann::json::input_format_t::json, true);
        },
        [&](std::size_t byte) {
          std::rewind(f);
          std::uint64_t l = 1;
          for (std::size_t i = 0; i < byte; ++i) {
            const int c = std::fgetc(f);
            if (c == EOF) break;
            l += c == '\n';
          }
          return l;
        },
        [&] { return file_has_request_line(f); });
  }

  reader_options opt_;
  read_counts counts_;
  std::vector<diagnostic> diags_;
  std::vector<std::string> files_;
  detail::otlp_sax sax_;
  std::vector<read_span> line_spans_;
  detail::parent_cycles cycles_;
};

/// Reads every span of `paths` into whole traces (for small inputs, tests and tools that want
/// everything; large inputs should stream with reader + a selection first).
inline std::vector<trace> read_traces(const std::vector<std::string>& paths, reader& r) {
  trace_builder b;
  r.read_files(paths, [&](read_span&& s) { b.add(std::move(s)); });
  return b.finish();
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
