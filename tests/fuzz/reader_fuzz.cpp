// SPDX-License-Identifier: MIT
// libFuzzer target: the OTLP-JSON reader over arbitrary bytes (one document or JSON lines), the
// call trees built from what it read, and the text renderings of each tree. Any input must give
// spans and/or diagnostics, never a crash, a hang, a leak or undefined behaviour.
#include <agentrace/eval/dataset.hpp>
#include <agentrace/eval/reader.hpp>
#include <agentrace/eval/trace.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace ev = agentrace::eval;
  ev::reader_options ro;
  std::size_t chars = 0;
  ro.on_diagnostic = [&](const ev::diagnostic& d) { chars += d.to_string().size(); };
  ev::reader r(ro);
  ev::trace_builder b;
  r.read_string(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz",
                [&](ev::read_span&& s) { b.add(std::move(s)); });
  for (const auto& t : b.finish()) {
    chars += ev::render_waterfall(t).size();
    chars += ev::render_tree_text(t).size();
  }
  (void)chars;  // the renderings ran; their size does not matter
  return 0;
}
