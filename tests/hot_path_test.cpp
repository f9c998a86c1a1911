// SPDX-License-Identifier: MIT
// The hot path's own mechanisms: the record built in place and copied word by word, the cached
// uncaught-exception counter, context save/restore, the id generator, the drop paths.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>
#include <pthread.h>
#include <sys/mman.h>

#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

namespace {

inline constexpr agentrace::key<std::int64_t> k_int{"t.int"};
inline constexpr agentrace::key<double> k_dbl{"t.double"};
inline constexpr agentrace::key<bool> k_bool{"t.bool"};
inline constexpr agentrace::key<std::string> k_str{"t.str"};
inline constexpr agentrace::key<std::string> k_owned{"t.owned"};
// Namespace-scope keys for the demote test: clang 14 crashes on a key temporary (consteval
// constructor) used inside the std::thread lambda there.
inline constexpr agentrace::key<std::int64_t> k_int2{"t.int2"};
inline constexpr agentrace::key<std::int64_t> k_int8{"t.int8"};
inline constexpr agentrace::key<std::int64_t> k_even{"t.even"};
inline constexpr agentrace::key<std::int64_t> k_odd{"t.odd"};
inline constexpr agentrace::key<bool> k_b9{"t.b9"};

agentrace::config memory_config(std::shared_ptr<agentrace::memory_exporter> mem) {
  agentrace::config c;
  c.exporters = {std::move(mem)};
  c.read_environment = false;
  return c;
}

bool has_event(const agentrace::span_data& s, std::string_view name) {
  for (const auto& e : s.events)
    if (e.name == name) return true;
  return false;
}

}  // namespace

TEST_CASE("inline attributes of every slot type survive the copy into the queue") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(memory_config(mem));
  {
    AGENTRACE_SPAN(s, "attrs");
    std::string prompt(1000, 'p');
    s.set(k_int, -42).set(k_dbl, 0.25).set(k_bool, true).set(k_str, "literal");
    s.set(k_owned, std::move(prompt));
  }
  {
    AGENTRACE_SPAN(s, "false_bool");
    s.set(k_bool, false);
  }
  REQUIRE(tracing.force_flush());
  const auto s = *mem->find("attrs");
  REQUIRE(s.attributes.size() == 5);
  CHECK(std::get<std::int64_t>(*s.attr("t.int")) == -42);
  CHECK(std::get<double>(*s.attr("t.double")) == 0.25);
  CHECK(std::get<bool>(*s.attr("t.bool")) == true);
  CHECK(std::get<std::string>(*s.attr("t.str")) == "literal");
  CHECK(std::get<std::string>(*s.attr("t.owned")) == std::string(1000, 'p'));
  CHECK(std::get<bool>(*mem->find("false_bool")->attr("t.bool")) == false);
}

// Records, while an exception unwinds through it, the count the library reads for this thread and
// the count std::uncaught_exceptions() gives.
struct uncaught_probe {
  int& seen;
  int& expected;
  ~uncaught_probe() {
    seen = agentrace::detail::uncaught_exceptions(agentrace::detail::tls.state);
    expected = std::uncaught_exceptions();
  }
};

TEST_CASE("the cached uncaught-exception counter agrees with std::uncaught_exceptions") {
  auto tracing = agentrace::start({.read_environment = false});
  { AGENTRACE_SPAN(s, "creates the thread state"); }
  auto* ts = agentrace::detail::tls.state;
  REQUIRE(ts != nullptr);
#if AGENTRACE_DETAIL_EH_GLOBALS
  CHECK(ts->uncaught != nullptr);  // the ABI self-test passed on this platform
#endif
  CHECK(agentrace::detail::uncaught_exceptions(ts) == 0);
  int seen = -1, expected = -2;
  try {
    uncaught_probe p{seen, expected};
    throw std::runtime_error("x");
  } catch (const std::exception&) {
  }
  CHECK(expected == 1);
  CHECK(seen == expected);
}

// Regression: a thread that takes over an exited thread's state (the exited list) must read its
// own uncaught-exception counter, not the exited thread's, whose thread-local storage is gone.
// The exited thread runs on a stack this test owns (glibc puts its TLS there and never reuses
// it), poisoned once the thread is joined: a stale pointer reads the poison, never this
// thread's counter, whatever glibc's stack cache does. The collector does not drain meanwhile
// (a drained exited state is freed): with max_exited_states exited states waiting, a new thread
// takes over the emptiest, the first to exit among equals.
TEST_CASE("a thread that takes over an exited thread's state reads its own exception count") {
  auto mem = agentrace::memory();
  auto c = memory_config(mem);
  c.max_queue_size = 320;  // no other test's threads leave states of this capacity behind
  c.drain_interval = std::chrono::hours(1);
  c.schedule_delay = std::chrono::hours(1);
  c.drain_on_demand = false;
  auto tracing = agentrace::start(c);
  constexpr std::size_t stack_size = std::size_t{8} << 20;
  void* stack =
      ::mmap(nullptr, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(stack != MAP_FAILED);
  pthread_attr_t attr;
  REQUIRE(::pthread_attr_init(&attr) == 0);
  REQUIRE(::pthread_attr_setstack(&attr, stack, stack_size) == 0);
  agentrace::detail::thread_state* exited_state = nullptr;
  pthread_t exiting;
  REQUIRE(::pthread_create(
              &exiting, &attr,
              [](void* out) -> void* {
                { AGENTRACE_SPAN(s, "exiting.thread"); }  // takes a state, freed at exit
                *static_cast<agentrace::detail::thread_state**>(out) = agentrace::detail::tls.state;
                return nullptr;
              },
              &exited_state) == 0);
  REQUIRE(::pthread_join(exiting, nullptr) == 0);
  ::pthread_attr_destroy(&attr);
  for (std::size_t i = 1; i < agentrace::detail::max_exited_states; ++i)
    std::thread([] { AGENTRACE_SPAN(s, "exiting.thread"); }).join();
  std::memset(stack, 0xab, stack_size);

  agentrace::detail::thread_state* taken = nullptr;
  int outside = -1, inside = -1, expected_inside = -2;
  std::thread([&] {
    { AGENTRACE_SPAN(s, "new.thread"); }
    taken = agentrace::detail::tls.state;
    outside = agentrace::detail::uncaught_exceptions(taken);
    try {
      AGENTRACE_SPAN(s, "throws.on.new.thread");
      uncaught_probe p{inside, expected_inside};
      throw std::runtime_error("x");
    } catch (const std::exception&) {
    }
  }).join();
  ::munmap(stack, stack_size);
  REQUIRE(taken == exited_state);  // the precondition: the state was taken over
  CHECK(outside == 0);
  CHECK(expected_inside == 1);
  CHECK(inside == expected_inside);
  REQUIRE(tracing.force_flush());
  const auto thrown = mem->find("throws.on.new.thread");
  REQUIRE(thrown);
  CHECK(thrown->status == agentrace::status_code::error);
  CHECK(has_event(*thrown, "exception"));
}

TEST_CASE("an exception unwinding through a span marks it, a span begun while unwinding is not") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(memory_config(mem));
  struct cleanup {
    ~cleanup() {
      AGENTRACE_SPAN(s, "cleanup");  // begins and ends during unwinding: not an error
    }
  };
  try {
    AGENTRACE_SPAN(s, "throws");
    cleanup c;
    throw std::runtime_error("boom");
  } catch (const std::exception&) {
  }
  { AGENTRACE_SPAN(s, "after"); }
  REQUIRE(tracing.force_flush());
  const auto t = *mem->find("throws");
  CHECK(t.status == agentrace::status_code::error);
  CHECK(has_event(t, "exception"));
  const auto c = *mem->find("cleanup");
  CHECK(c.status == agentrace::status_code::unset);
  CHECK_FALSE(has_event(c, "exception"));
  CHECK(mem->find("after")->status == agentrace::status_code::unset);
}

// A span compares the recording state with detail::recording_common once; any other byte takes the
// out-of-line path, which tests each bit at run time. Here the byte lacks the ABI-counter bit and
// the thread's counter pointer is cleared, as where the ABI self-test fails: spans take that path
// and read std::uncaught_exceptions().
TEST_CASE("a span in a configuration other than the common one records the same, out of line") {
  namespace d = agentrace::detail;
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(memory_config(mem));
  const std::uint8_t common = d::recording_state.load();
  if (d::invariant_tsc_available() && d::uncaught_counter_slow() != nullptr)
    CHECK(common == d::recording_common);  // the default configuration is the common one
  d::thread_state* ts = d::this_thread();
  REQUIRE(ts != nullptr);
  struct restore_state {
    std::uint8_t byte;
    d::thread_state* ts;
    const unsigned int* counter;
    ~restore_state() {
      d::recording_state.store(byte);
      ts->uncaught = counter;
    }
  } restore{common, ts, ts->uncaught};
  d::recording_state.store(static_cast<std::uint8_t>(common & ~d::recording_eh_abi));
  ts->uncaught = nullptr;
  d::tls.current = {};
  const agentrace::span_context remote{{0x1111, 0x2222}, 0x3333, agentrace::flag_sampled, true};
  agentrace::span_context parent_ctx, child_ctx, explicit_ctx;
  {
    AGENTRACE_SPAN(parent, "generic.parent");
    parent_ctx = parent.context();
    {
      AGENTRACE_SPAN(child, "generic.child");
      child_ctx = child.context();
      AGENTRACE_SPAN_CHILD_OF(other, remote, "generic.explicit");
      explicit_ctx = other.context();
      CHECK(agentrace::current_context() == explicit_ctx);
    }
    CHECK(agentrace::current_context() == parent_ctx);
    try {
      AGENTRACE_SPAN(s, "generic.throws");
      throw std::runtime_error("boom");
    } catch (const std::exception&) {
    }
  }
  CHECK_FALSE(agentrace::current_context().valid());
  d::recording_state.store(common);
  ts->uncaught = restore.counter;
  REQUIRE(tracing.force_flush());
  const auto found_p = mem->find("generic.parent");
  const auto found_c = mem->find("generic.child");
  const auto found_e = mem->find("generic.explicit");
  const auto found_t = mem->find("generic.throws");
  REQUIRE(found_p);
  REQUIRE(found_c);
  REQUIRE(found_e);
  REQUIRE(found_t);
  const auto &p = *found_p, &c = *found_c, &e = *found_e, &t = *found_t;
  CHECK(e.trace_id == remote.trace_id);
  CHECK(e.parent_span_id == remote.span_id);
  CHECK(e.parent_remote);
  CHECK(e.span_id == explicit_ctx.span_id);
  CHECK(p.span_id == parent_ctx.span_id);
  CHECK(p.parent_span_id == 0);
  CHECK(c.span_id == child_ctx.span_id);
  CHECK(c.parent_span_id == p.span_id);
  CHECK(c.trace_id == p.trace_id);
  CHECK(t.parent_span_id == p.span_id);
  CHECK(t.status == agentrace::status_code::error);
  CHECK(has_event(t, "exception"));
  CHECK(p.status == agentrace::status_code::unset);
  CHECK(p.start_unix_ns <= c.start_unix_ns);
  CHECK(p.end_unix_ns >= c.end_unix_ns);
}

TEST_CASE("ending a span restores exactly the context it replaced") {
  auto tracing = agentrace::start({.read_environment = false});
  const agentrace::span_context installed{{0x1111, 0x2222}, 0x3333, 0x01, true};
  agentrace::detail::tls.current = installed;
  {
    AGENTRACE_SPAN(a, "a");
    CHECK(agentrace::current_context() == a.context());
    CHECK(a.context().trace_id == installed.trace_id);
    {
      AGENTRACE_SPAN(b, "b");
      CHECK(agentrace::current_context() == b.context());
    }
    CHECK(agentrace::current_context() == a.context());
  }
  CHECK(agentrace::current_context() == installed);

  // Out of order: the parent ends first and leaves the child current (it restores only while it
  // is itself current); the child then restores what the ended parent had replaced.
  agentrace::detail::tls.current = {};
  {
    auto parent = std::make_unique<agentrace::span<"parent">>();
    const auto parent_ctx = parent->context();
    agentrace::span<"child"> child;
    parent->end();
    CHECK(agentrace::current_context() == child.context());
    child.end();
    CHECK_FALSE(agentrace::current_context() == parent_ctx);
    CHECK_FALSE(agentrace::current_context().valid());
  }
  agentrace::detail::tls.current = {};
}

TEST_CASE("a root span gets fresh non-zero ids, a child inherits the trace and flags") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(memory_config(mem));
  agentrace::detail::tls.current = {};
  std::set<std::uint64_t> span_ids;
  std::set<std::pair<std::uint64_t, std::uint64_t>> trace_ids;
  for (int i = 0; i < 2000; ++i) {
    AGENTRACE_SPAN(root, "root");
    AGENTRACE_SPAN(child, "child");
    CHECK(child.context().trace_id == root.context().trace_id);
    CHECK(child.context().flags == root.context().flags);
    CHECK(root.context().span_id != 0);
    span_ids.insert(root.context().span_id);
    span_ids.insert(child.context().span_id);
    trace_ids.insert({root.context().trace_id.hi, root.context().trace_id.lo});
  }
  CHECK(span_ids.size() == 4000);
  CHECK(trace_ids.size() == 2000);
}

TEST_CASE("the portable 128-bit multiply of the id generator matches __int128") {
  agentrace::detail::id_generator g;
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t a = g.next(), b = g.next();
#if defined(__SIZEOF_INT128__)
    __extension__ using u128 = unsigned __int128;
    const u128 r = static_cast<u128>(a) * b;
    const std::uint64_t want = static_cast<std::uint64_t>(r >> 64) ^ static_cast<std::uint64_t>(r);
    REQUIRE(agentrace::detail::id_generator::mix_portable(a, b) == want);
#endif
  }
}

TEST_CASE("a moved span ends once, with its ids") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(memory_config(mem));
  const auto before = tracing.stats();  // stats are per process, not per session
  agentrace::span_context ctx;
  {
    agentrace::scoped_span outer;
    {
      agentrace::span<"moved"> s;
      s.set(k_int, 7);
      ctx = s.context();
      outer = std::move(s);
      CHECK_FALSE(s.is_recording());
      s.end();  // no effect
    }
    CHECK(outer.is_recording());
    CHECK(outer.context() == ctx);
  }
  REQUIRE(tracing.force_flush());
  REQUIRE(mem->spans().size() == 1);
  CHECK(mem->spans()[0].span_id == ctx.span_id);
  CHECK(std::get<std::int64_t>(*mem->spans()[0].attr("t.int")) == 7);
  CHECK(tracing.stats().spans_ended - before.spans_ended == 1);
}

TEST_CASE("a span that ends on another thread is counted by the ending thread") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(memory_config(mem));
  const auto before = tracing.stats();  // stats are per process, not per session
  auto s = std::make_unique<agentrace::span<"hop">>();
  const auto ctx = s->context();
  std::thread([&] { s.reset(); }).join();
  REQUIRE(tracing.force_flush());
  const auto st = tracing.stats();
  CHECK(st.spans_ended - before.spans_ended == 1);
  CHECK(st.spans_exported - before.spans_exported == 1);
  CHECK(mem->spans().at(0).span_id == ctx.span_id);
  // The beginning thread's context is still the span's (it ended elsewhere); reset it.
  CHECK(agentrace::current_context() == ctx);
  agentrace::detail::tls.current = {};
}

TEST_CASE("a full queue drops and counts exactly, and drops free owned strings") {
  agentrace::config c;
  c.read_environment = false;
  c.max_queue_size = 256;
  c.drain_interval = std::chrono::hours(1);  // the collector does not drain until the flush
  c.drain_on_demand = false;                 // nor when the queue is half full
  c.schedule_delay = std::chrono::hours(1);
  auto mem = agentrace::memory();
  c.exporters = {mem};
  auto tracing = agentrace::start(c);
  const auto before = tracing.stats();  // stats are per process, not per session
  constexpr int n = 5000;
  // On a new thread: a thread's queue keeps the capacity in force at its first span, so this
  // one's is the 256 above whatever tests ran before in this process.
  std::thread([] {
    for (int i = 0; i < n; ++i) {
      AGENTRACE_SPAN(s, "s");
      s.set(k_owned, std::string(100, 'x'));
    }
  }).join();
  const auto mid = tracing.stats();
  CHECK(mid.spans_ended - before.spans_ended == static_cast<std::uint64_t>(n));
  CHECK(mid.dropped_queue_full - before.dropped_queue_full > 0);
  REQUIRE(tracing.force_flush());
  const auto st = tracing.stats();
  const std::uint64_t exported = st.spans_exported - before.spans_exported;
  const std::uint64_t dropped = st.dropped_queue_full - before.dropped_queue_full;
  CHECK(exported + dropped == static_cast<std::uint64_t>(n));
  CHECK(mem->spans().size() == exported);
}

TEST_CASE("the raw JSON string writer matches the buffered one on arbitrary bytes") {
  std::mt19937_64 rng(7);
  const std::string alphabet =
      std::string("ab\"\\\x01\x1f\n\t\x7f") + "\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\xff\xed\xa0";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const std::size_t n = rng() % 40;
    for (std::size_t k = 0; k < n; ++k) s.push_back(alphabet[rng() % alphabet.size()]);
    fmt::memory_buffer a;
    agentrace::detail::write_json_string(a, s);
    std::string b(agentrace::detail::json_string_bound(s.size()), '\0');
    char* end = agentrace::detail::put_json_string(b.data(), s);
    b.resize(static_cast<std::size_t>(end - b.data()));
    REQUIRE(std::string(a.data(), a.size()) == b);
  }
}

TEST_CASE("numbers and ids are written as before") {
  fmt::memory_buffer b;
  agentrace::detail::write_hex64(b, 0x0123456789abcdefull);
  b.push_back(' ');
  agentrace::detail::write_uint(b, 18446744073709551615ull);
  b.push_back(' ');
  agentrace::detail::write_int(b, -9223372036854775807ll - 1);
  b.push_back(' ');
  agentrace::detail::write_double(b, 0.1);
  b.push_back(' ');
  agentrace::detail::write_double(b, -1e300);
  b.push_back(' ');
  agentrace::detail::write_double(b, std::numeric_limits<double>::quiet_NaN());
  b.push_back(' ');
  agentrace::detail::write_double(b, -std::numeric_limits<double>::infinity());
  CHECK(std::string(b.data(), b.size()) ==
        "0123456789abcdef 18446744073709551615 -9223372036854775808 0.1 -1e+300 \"NaN\" "
        "\"-Infinity\"");
}

// The demote hint (context.hpp, thread_locals::demote_records) is on only for threads with large
// queues, which no other test uses: here it is forced on so that every branch of demote_written
// runs.
TEST_CASE("records moved into the queue with the demote hint arrive intact") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(memory_config(mem));
  const std::uint64_t dropped_before = tracing.stats().dropped_queue_full;
  std::thread([] {
    { AGENTRACE_SPAN(warm, "warm"); }  // takes the thread's queue (which sets the flag)
    agentrace::detail::tls.demote_records = true;
    { AGENTRACE_SPAN(s, "d0"); }
    {
      AGENTRACE_SPAN(s, "d3");  // slots in the second line only
      s.set(k_int, 3).set(k_dbl, 0.5).set(k_str, "three");
    }
    {
      AGENTRACE_SPAN(s, "d6");  // six slots, second and third lines, no extension
      s.set(k_int, 6).set(k_dbl, 1.5).set(k_bool, true).set(k_str, "six");
      s.set(k_int2, 62).set(k_owned, std::string(100, 'o'));
    }
    {
      AGENTRACE_SPAN(s, "d7");  // seven slots and an extension (attributes past the seventh)
      for (std::int64_t i = 0; i < 9; ++i) s.set(i % 2 ? k_odd : k_even, i);
      s.set(k_bool, false).set(k_dbl, 2.5).set(k_str, "x").set(k_owned, "y");
      s.set(k_int8, 8).set(k_b9, true);
    }
    {
      AGENTRACE_SPAN(s, "dext");  // the extension pointer only (third line)
      s.event("e1");
    }
  }).join();
  REQUIRE(tracing.force_flush());
  const auto d0 = mem->find("d0");
  REQUIRE(d0);
  CHECK(d0->attributes.empty());
  const auto d3 = mem->find("d3");
  REQUIRE(d3);
  REQUIRE(d3->attributes.size() == 3);
  CHECK(std::get<std::int64_t>(*d3->attr("t.int")) == 3);
  CHECK(std::get<std::string>(*d3->attr("t.str")) == "three");
  const auto d6 = mem->find("d6");
  REQUIRE(d6);
  REQUIRE(d6->attributes.size() == 6);
  CHECK(std::get<std::int64_t>(*d6->attr("t.int2")) == 62);
  CHECK(std::get<std::string>(*d6->attr("t.owned")) == std::string(100, 'o'));
  const auto d7 = mem->find("d7");
  REQUIRE(d7);
  REQUIRE(d7->attributes.size() == 8);
  CHECK(std::get<std::int64_t>(*d7->attr("t.even")) == 8);  // the last value set wins
  CHECK(std::get<std::int64_t>(*d7->attr("t.odd")) == 7);
  CHECK(std::get<bool>(*d7->attr("t.b9")) == true);
  CHECK(std::get<std::string>(*d7->attr("t.owned")) == "y");
  const auto dext = mem->find("dext");
  REQUIRE(dext);
  REQUIRE(dext->events.size() == 1);
  CHECK(dext->events[0].name == "e1");
  CHECK(tracing.stats().dropped_queue_full == dropped_before);
}

TEST_CASE("a thread demotes its records only when its queue's header lines outgrow L2") {
  using agentrace::detail::demote_records_for;
  CHECK_FALSE(demote_records_for(0));
  const std::size_t l2 = agentrace::detail::l2_cache_bytes();
  if (l2 == 0) {
    CHECK_FALSE(demote_records_for(agentrace::detail::max_thread_queue_size));
  } else {
    CHECK(demote_records_for(l2 / 64));
    CHECK_FALSE(demote_records_for(l2 / 64 - 1));
  }
  // The flag a new thread gets follows the capacity in force when it takes its queue.
  for (const std::size_t capacity : {std::size_t{64}, agentrace::detail::max_thread_queue_size}) {
    auto mem = agentrace::memory();
    auto c = memory_config(mem);
    c.max_queue_size = capacity;
    auto tracing = agentrace::start(c);
    bool flag = !demote_records_for(capacity);
    std::thread([&] {
      { AGENTRACE_SPAN(s, "first"); }
      flag = agentrace::detail::tls.demote_records;
    }).join();
    CHECK(flag == demote_records_for(capacity));
    REQUIRE(tracing.force_flush());
    CHECK(mem->find("first"));
  }
}
