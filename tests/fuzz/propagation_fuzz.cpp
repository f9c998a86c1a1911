// SPDX-License-Identifier: MIT
// libFuzzer target: W3C traceparent / tracestate parsing. The input is read as header lines
// ("name: value"); extraction must never crash, and whatever it accepts must survive
// inject -> extract unchanged. The whole input is also parsed as one traceparent and as one
// tracestate, whose normalised forms must parse again to themselves.
#include <agentrace/propagation.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto ctx = agentrace::parse_traceparent(in)) {
    const std::string again = agentrace::format_traceparent(*ctx);
    const auto back = agentrace::parse_traceparent(again);
    check(back && back->trace_id == ctx->trace_id && back->span_id == ctx->span_id);
  }
  if (auto ts = agentrace::parse_tracestate(in)) {
    const auto again = agentrace::parse_tracestate(*ts);
    check(again && *again == *ts);
  }

  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view rest = in;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  const agentrace::extracted_context got = agentrace::extract(headers);
  if (got.valid()) {
    std::vector<std::pair<std::string, std::string>> out;
    agentrace::inject(out, got.context, got.trace_state);
    const agentrace::extracted_context back = agentrace::extract(out);
    check(back.valid() && back.context.trace_id == got.context.trace_id &&
          back.context.span_id == got.context.span_id && back.context.flags == got.context.flags &&
          back.trace_state == got.trace_state);
  }
  return 0;
}
