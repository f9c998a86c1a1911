// SPDX-License-Identifier: MIT
// The default redactor of GenAI content: masks API keys, bearer tokens, password-style
// assignments and email addresses in a string, in place.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::genai {

namespace detail {

struct redaction {
  std::size_t begin, end;
  std::string_view mask;
};

// ASCII classes (locale-independent, inlined: the redactor scans every content byte).
inline bool is_alpha(unsigned char c) noexcept { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
inline bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_word(unsigned char c) noexcept { return is_alpha(c) || is_digit(c) || c == '_'; }
inline bool is_key_char(unsigned char c) noexcept { return is_word(c) || c == '-'; }
inline bool is_upper_or_digit(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || is_digit(c);
}
inline bool is_token_char(unsigned char c) noexcept {
  return is_word(c) || c == '-' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
}
inline bool is_email_local(unsigned char c) noexcept {
  return is_word(c) || c == '.' || c == '%' || c == '+' || c == '-';
}
inline bool is_email_domain(unsigned char c) noexcept {
  return is_alpha(c) || is_digit(c) || c == '.' || c == '-';
}
inline bool is_value_char(unsigned char c) noexcept {
  // A secret value in `password=...`: stops at whitespace, quotes and JSON/markup structure, so
  // masking it keeps JSON text valid.
  return c > 0x20 && c != '"' && c != '\'' && c != '`' && c != ',' && c != ';' && c != '{' &&
         c != '}' && c != '[' && c != ']' && c != '<' && c != '>' && c != '\\';
}
inline bool iequals_at(std::string_view s, std::size_t i, std::string_view w) noexcept {
  if (i + w.size() > s.size()) return false;
  for (std::size_t k = 0; k < w.size(); ++k) {
    auto x = static_cast<unsigned char>(s[i + k]);
    if (x >= 'A' && x <= 'Z') x |= 0x20;
    if (x != static_cast<unsigned char>(w[k])) return false;
  }
  return true;
}
inline bool starts_at(std::string_view s, std::size_t i, std::string_view w) noexcept {
  return s.size() - i >= w.size() && s.compare(i, w.size(), w) == 0;
}

/// Length of a run of chars satisfying `pred` from i.
template <class Pred>
std::size_t run(std::string_view s, std::size_t i, Pred pred) noexcept {
  std::size_t n = 0;
  while (i + n < s.size() && pred(static_cast<unsigned char>(s[i + n]))) ++n;
  return n;
}

/// The secret starting at word start i, if any: its [begin, end) and mask.
inline bool match_secret(std::string_view s, std::size_t i, redaction& r) {
  const std::size_t n = s.size();
  const auto c = static_cast<unsigned char>(s[i]);
  auto key_after = [&](std::size_t prefix_len, std::size_t min_len, auto pred) -> bool {
    const std::size_t len = run(s, i + prefix_len, pred);
    if (len < min_len) return false;
    r = {i, i + prefix_len + len, "[REDACTED:api_key]"};
    return true;
  };
  switch (c) {  // case-sensitive key prefixes
    case 's':
    case 'p':
    case 'r':
      if (i + 2 < n && s[i + 1] == 'k' && s[i + 2] == '-') return key_after(3, 16, is_key_char);
      if (starts_at(s, i, "sk_live_") || starts_at(s, i, "sk_test_") || starts_at(s, i, "rk_live_"))
        return key_after(8, 10, is_key_char);
      break;
    case 'A':
      if (starts_at(s, i, "AKIA") || starts_at(s, i, "ASIA"))
        return key_after(4, 16, is_upper_or_digit);
      if (starts_at(s, i, "AIza")) return key_after(4, 30, is_key_char);
      break;
    case 'g':
      if (starts_at(s, i, "github_pat_")) return key_after(11, 20, is_key_char);
      if (i + 3 < n && s[i + 1] == 'h' &&
          std::string_view("psoru").find(s[i + 2]) != std::string_view::npos && s[i + 3] == '_')
        return key_after(4, 20, is_key_char);
      break;
    case 'x':
      if (starts_at(s, i, "xox") && i + 4 < n && s[i + 4] == '-')
        return key_after(5, 10, is_key_char);
      break;
    case 'e':
      if (starts_at(s, i, "eyJ")) {  // JWT: three base64url segments
        const std::size_t a = run(s, i, is_key_char);
        if (a >= 10 && i + a < n && s[i + a] == '.') {
          const std::size_t b = run(s, i + a + 1, is_key_char);
          if (b >= 10 && i + a + 1 + b < n && s[i + a + 1 + b] == '.') {
            r = {i, i + a + 2 + b + run(s, i + a + 2 + b, is_key_char), "[REDACTED:token]"};
            return true;
          }
        }
      }
      break;
    default: break;
  }
  const unsigned char lc = c | 0x20;
  if (lc == 'b' && iequals_at(s, i, "bearer") && i + 6 < n &&
      (s[i + 6] == ' ' || s[i + 6] == '\t')) {
    std::size_t j = i + 6;
    while (j < n && (s[j] == ' ' || s[j] == '\t')) ++j;
    const std::size_t t = run(s, j, is_token_char);
    if (t < 8) return false;
    r = {j, j + t, "[REDACTED]"};
    return true;
  }
  if (lc != 'p' && lc != 'a' && lc != 's') return false;
  for (std::string_view w :
       {std::string_view("password"), std::string_view("passwd"), std::string_view("api_key"),
        std::string_view("api-key"), std::string_view("apikey"), std::string_view("secret"),
        std::string_view("access_token")}) {
    if (static_cast<unsigned char>(w[0]) != lc || !iequals_at(s, i, w) ||
        (i + w.size() < n && is_word(static_cast<unsigned char>(s[i + w.size()]))))
      continue;
    std::size_t j = i + w.size();
    while (j < n && s[j] == ' ') ++j;
    if (j >= n || (s[j] != '=' && s[j] != ':')) return false;
    ++j;
    while (j < n && s[j] == ' ') ++j;
    const std::size_t t = run(s, j, is_value_char);
    if (t == 0) return false;
    r = {j, j + t, "[REDACTED]"};
    return true;
  }
  return false;
}

inline void find_redactions(std::string_view s, std::vector<redaction>& out) {
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '@') {
      // email: local@domain.tld
      std::size_t b = i;
      while (b > 0 && is_email_local(static_cast<unsigned char>(s[b - 1]))) --b;
      std::size_t e = i + 1 + run(s, i + 1, is_email_domain);
      while (e > i + 1 && (s[e - 1] == '.' || s[e - 1] == '-')) --e;  // trailing punctuation
      const std::string_view domain = s.substr(i + 1, e - i - 1);
      const std::size_t dot = domain.rfind('.');
      if (b < i && dot != std::string_view::npos && dot > 0 && domain.size() - dot - 1 >= 2 &&
          std::all_of(domain.begin() + static_cast<std::ptrdiff_t>(dot) + 1, domain.end(),
                      [](char ch) { return is_alpha(static_cast<unsigned char>(ch)); }))
        out.push_back({b, e, "[REDACTED:email]"});
      ++i;
      continue;
    }
    if (!is_word(c)) {
      ++i;
      continue;
    }
    // The start of a word (the previous char is not a word char): secrets start only here.
    redaction r{};
    if (is_alpha(c) && match_secret(s, i, r)) {
      out.push_back(r);
      i = r.end;
      continue;
    }
    i += run(s, i, is_word);
  }
}

}  // namespace detail

/// Masks secrets in `s` in place: API keys (sk-..., sk_live_..., AKIA..., ghp_..., xox?-...,
/// AIza..., JWTs), bearer tokens (`Bearer xyz` -> `Bearer [REDACTED]`), `password=`/`api_key:`
inline void default_redactor(std::string& s) {
  std::vector<detail::redaction> found;
  detail::find_redactions(s, found);
  if (found.empty()) return;
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;  // the longer one wins
  });
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  for (const auto& r : found) {
    if (r.begin < pos) continue;  // overlaps one already masked
    out.append(s, pos, r.begin - pos);
    out.append(r.mask);
    pos = r.end;
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

}  // namespace agentrace::genai

AGENTRACE_DETAIL_VISIBILITY_END
