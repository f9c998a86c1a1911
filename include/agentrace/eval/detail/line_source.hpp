// SPDX-License-Identifier: MIT
// Line-at-a-time input of eval::reader: lines read from a FILE* in blocks, overlong lines
// skipped without being held in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval::detail {

/// Reads one line (without '\n') at a time from a FILE*, in blocks; lines longer than the
/// limit are skipped without being kept.
class line_source {
 public:
  explicit line_source(std::FILE* f, std::size_t max_line) : f_(f), max_(max_line) {}
  enum class result { line, too_long, eof };
  result next(std::string& line) {
    line.clear();
    bool too_long = false;
    for (;;) {
      if (pos_ == len_) {
        len_ = std::fread(buf_.get(), 1, block, f_);
        pos_ = 0;
        read_ += len_;
        if (len_ == 0) {
          if (too_long) return result::too_long;
          return line.empty() && !any_ ? result::eof : (any_ = false, result::line);
        }
      }
      any_ = true;
      const char* start = buf_.get() + pos_;
      const void* nl = std::memchr(start, '\n', len_ - pos_);
      const std::size_t n =
          nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : len_ - pos_;
      if (!too_long) {
        if (line.size() + n > max_) {
          too_long = true;
          line.clear();
          line.shrink_to_fit();
        } else {
          line.append(start, n);
        }
      }
      pos_ += n;
      if (nl) {
        ++pos_;
        any_ = false;
        return too_long ? result::too_long : result::line;
      }
    }
  }

  /// Bytes of the file consumed so far (returned in lines, or skipped).
  std::uint64_t consumed() const noexcept { return read_ - (len_ - pos_); }

 private:
  static constexpr std::size_t block = 1 << 20;
  std::FILE* f_;
  std::size_t max_;
  std::unique_ptr<char[]> buf_{new char[block]};
  std::size_t pos_ = 0, len_ = 0;
  std::uint64_t read_ = 0;
  bool any_ = false;
};

inline bool is_blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}

}  // namespace agentrace::eval::detail

AGENTRACE_DETAIL_VISIBILITY_END
