// SPDX-License-Identifier: MIT
// A program whose only agentrace header is <agentrace/span.hpp>: it never includes the setup
// side (start(), the collector, the thread registry), so nothing installs the hooks through
// which spans reach their uncommon paths (registry_hooks, detail/span_cold.hpp). It must link,
// and its spans must record nothing and leave no context behind, whatever the recording state
// says (set here by hand as start() would: a span begun in another configuration than the
// common one looks for the hooks). Run by the CTest test span_only_program; exits 1 and names
// what failed.
#include <agentrace/span.hpp>

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

namespace {

int failures = 0;

void check(bool ok, const char* what, unsigned on) {
  if (ok) return;
  std::fprintf(stderr, "span_only_program: recording state %u: %s\n", on, what);
  ++failures;
}

inline constexpr agentrace::key<std::int64_t> rows{"app.rows"};
inline constexpr agentrace::key<std::string> text{"app.text"};

void spans_record_nothing(unsigned on) {
  const agentrace::span_context parent{{1, 2}, 3, agentrace::flag_sampled, true};
  {
    AGENTRACE_SPAN(a, "only.a");
    check(!a.is_recording(), "a span records", on);
    check(!a.context().valid(), "a span has a context", on);
    a.set(rows, 1).set(text, "literal").set(text, std::string(40, 'x'));
    a.event("only.event", {{rows, 2}}).error("failed");
    {
      AGENTRACE_SPAN_CHILD_OF(b, parent, "only.b");
      check(!b.is_recording(), "a span with an explicit parent records", on);
      agentrace::scoped_span moved = std::move(b);
      check(!moved.is_recording(), "a moved span records", on);
      agentrace::span<"only.c", agentrace::span_kind::client> c;
      c.end();
      check(!agentrace::current_context().valid(), "a context is current", on);
    }
    try {
      agentrace::in_span<"only.throws">([] { throw std::runtime_error("thrown"); });
      check(false, "in_span did not rethrow", on);
    } catch (const std::runtime_error&) {
    }
  }
  check(!agentrace::current_context().valid(), "a context is left current", on);
}

}  // namespace

int main() {
  namespace d = agentrace::detail;
  const std::uint8_t states[] = {
      d::recording_off,
      d::recording_common,
      d::recording_steady,
      static_cast<std::uint8_t>(d::recording_steady | d::recording_sample_as_parent),
      static_cast<std::uint8_t>(d::recording_steady | d::recording_tsc | d::recording_eh_abi),
  };
  for (const std::uint8_t on : states) {
    d::recording_state.store(on, std::memory_order_release);
    spans_record_nothing(on);
  }
  d::recording_state.store(d::recording_off, std::memory_order_release);
  check(d::dropped_not_running.load() == 0, "spans were counted as ended while not running", 0);
  if (failures == 0) std::puts("span_only_program: spans without the setup side record nothing");
  return failures == 0 ? 0 : 1;
}
