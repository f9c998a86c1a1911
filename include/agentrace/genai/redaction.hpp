// SPDX-License-Identifier: MIT
// The default redactor of GenAI content: masks API keys, bearer and Basic credentials,
// password-style assignments (plain, quoted and JSON, also JSON inside a string), payment card
// numbers (Luhn-checked) and email addresses in a string, in place.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/detail/ascii.hpp"
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

/// True if `t` is base64 whose decoded bytes are printable ASCII with a ':' (HTTP Basic's
/// "user:password"), so that "Basic knowledge" and the like are left alone.
inline bool is_basic_credentials(std::string_view t) noexcept {
  while (!t.empty() && t.back() == '=') t.remove_suffix(1);
  if (t.size() < 4) return false;
  std::uint32_t acc = 0;
  int bits = 0;
  bool colon = false;
  for (const char ch : t) {
    const auto c = static_cast<unsigned char>(ch);
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else
      return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      const auto byte = static_cast<unsigned char>((acc >> bits) & 0xFF);
      if (byte < 0x20 || byte > 0x7E) return false;
      colon = colon || byte == ':';
    }
  }
  return colon;
}

/// The value of `key: value` / `key=value` / `"key": "value"` starting at j, just after the key
/// word: the key's closing quote (`"`, `'`, or `\"` inside JSON-escaped text), `:` or `=`, then a
/// quoted value (masked up to its closing quote, escapes skipped) or a bare one (up to
/// whitespace or JSON structure). A bare value after a JSON key is masked with a JSON string, so
/// the document stays valid; JSON literals (null, true, false) are not secrets. For
/// `authorization`, a scheme word (Basic, Bearer, ...) is kept.
inline bool match_assignment(std::string_view s, std::size_t j, bool has_scheme, redaction& r) {
  const std::size_t n = s.size();
  bool json_key = false;
  if (j < n && (s[j] == '"' || s[j] == '\'')) {
    json_key = s[j] == '"';
    ++j;
  } else if (j + 1 < n && s[j] == '\\' && s[j + 1] == '"') {
    j += 2;
  }
  while (j < n && (s[j] == ' ' || s[j] == '\t')) ++j;
  if (j >= n || (s[j] != '=' && s[j] != ':')) return false;
  ++j;
  while (j < n && (s[j] == ' ' || s[j] == '\t')) ++j;
  std::size_t b = j, e = j;
  bool quoted = true;
  if (j < n && (s[j] == '"' || s[j] == '\'')) {  // "value" or 'value'
    const char q = s[j];
    b = e = j + 1;
    while (e < n && s[e] != q) e += (s[e] == '\\' && q == '"') ? 2 : 1;
    e = std::min(e, n);
  } else if (j + 1 < n && s[j] == '\\' && s[j + 1] == '"') {  // \"value\" (JSON inside a string)
    b = j + 2;
    const std::size_t close = s.find("\\\"", b);
    e = close == std::string_view::npos ? n : close;
  } else {
    quoted = false;
    e = j + run(s, j, is_value_char);
  }
  if (has_scheme) {  // keep "Basic " / "Bearer " and mask what follows
    const std::size_t w = run(s, b, is_alpha);
    const std::size_t limit = quoted ? e : n;
    std::size_t k = b + w;
    if (w > 0 && k < limit && (s[k] == ' ' || s[k] == '\t')) {
      while (k < limit && (s[k] == ' ' || s[k] == '\t')) ++k;
      b = k;
      if (!quoted) e = b + run(s, b, is_token_char);
    }
  }
  if (e <= b) return false;
  const std::string_view v = s.substr(b, e - b);
  if (!quoted && json_key) {
    if (v == "null" || v == "true" || v == "false") return false;
    r = {b, e, "\"[REDACTED]\""};
    return true;
  }
  r = {b, e, "[REDACTED]"};
  return true;
}

/// A payment card number starting at word start i: 13 to 19 digits, bare or in groups of 4-6
/// split by one kind of separator (' ' or '-'; the last group 3-6), the first digit 2-6 (the
/// card networks' ranges), and a valid Luhn check digit, so that ordinary numbers (ids,
/// timestamps, phone numbers) are left alone.
inline bool match_card(std::string_view s, std::size_t i, redaction& r) noexcept {
  const std::size_t n = s.size();
  unsigned char digits[19];
  std::size_t count = 0, group = 0, k = i;
  char sep = 0;
  while (k < n) {
    const auto c = static_cast<unsigned char>(s[k]);
    if (is_digit(c)) {
      if (count == 19) return false;
      digits[count++] = static_cast<unsigned char>(c - '0');
      ++group;
      ++k;
    } else if ((c == ' ' || c == '-') && (sep == 0 || sep == static_cast<char>(c)) && group >= 4 &&
               group <= 6 && k + 1 < n && is_digit(static_cast<unsigned char>(s[k + 1]))) {
      sep = static_cast<char>(c);
      group = 0;
      ++k;
    } else {
      break;
    }
  }
  if (k < n && is_word(static_cast<unsigned char>(s[k]))) return false;  // part of a longer word
  if (count < 13 || digits[0] < 2 || digits[0] > 6) return false;
  if (sep && (group < 3 || group > 6)) return false;
  unsigned sum = 0;
  for (std::size_t d = 0; d < count; ++d) {
    unsigned v = digits[count - 1 - d];
    if (d % 2 == 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
  }
  if (sum % 10 != 0) return false;
  r = {i, k, "[REDACTED:card]"};
  return true;
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
  if (lc == 'b' && agentrace::detail::istarts_with(s.substr(i), "bearer") && i + 6 < n &&
      (s[i + 6] == ' ' || s[i + 6] == '\t')) {
    std::size_t j = i + 6;
    while (j < n && (s[j] == ' ' || s[j] == '\t')) ++j;
    const std::size_t t = run(s, j, is_token_char);
    if (t < 8) return false;
    r = {j, j + t, "[REDACTED]"};
    return true;
  }
  if (lc == 'b' && agentrace::detail::istarts_with(s.substr(i), "basic") && i + 5 < n &&
      (s[i + 5] == ' ' || s[i + 5] == '\t')) {
    // HTTP Basic credentials anywhere: base64 of "user:password".
    std::size_t j = i + 5;
    while (j < n && (s[j] == ' ' || s[j] == '\t')) ++j;
    const std::size_t t = run(s, j, is_token_char);
    if (!is_basic_credentials(s.substr(j, t))) return false;
    r = {j, j + t, "[REDACTED]"};
    return true;
  }
  if (lc != 'p' && lc != 'a' && lc != 's' && lc != 'c' && lc != 'r') return false;
  for (std::string_view w :
       {std::string_view("password"), std::string_view("passwd"), std::string_view("api_key"),
        std::string_view("api-key"), std::string_view("apikey"), std::string_view("secret"),
        std::string_view("access_token"), std::string_view("authorization"),
        std::string_view("auth_token"), std::string_view("client_secret"),
        std::string_view("refresh_token"), std::string_view("private_key")}) {
    if (static_cast<unsigned char>(w[0]) != lc ||
        !agentrace::detail::istarts_with(s.substr(i), w) ||
        (i + w.size() < n && is_word(static_cast<unsigned char>(s[i + w.size()]))))
      continue;
    return match_assignment(s, i + w.size(), w == "authorization", r);
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
    if (is_alpha(c) ? match_secret(s, i, r) : is_digit(c) && match_card(s, i, r)) {
      out.push_back(r);
      i = r.end;
      continue;
    }
    i += run(s, i, is_word);
  }
}

}  // namespace detail

/// Masks secrets in `s` in place: API keys (sk-..., sk_live_..., AKIA..., ghp_..., xox?-...,
/// AIza..., JWTs), bearer tokens (`Bearer xyz` -> `Bearer [REDACTED]`), HTTP Basic credentials,
/// the values of password / passwd / secret / api_key / access_token / authorization / ... keys
/// written `key=v`, `key: v`, `key: "v"`, `{"key": "v"}` or `{\"key\":\"v\"}` (JSON stays
/// valid), card numbers that pass the Luhn check (`[REDACTED:card]`) and email addresses.
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
