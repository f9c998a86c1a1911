// SPDX-License-Identifier: MIT
// A program that ends spans and then leaves the way a process may: `exit` calls std::exit() with
// the tracing handle local to main, `return` returns from main with a static handle. In both, a
// static object constructed after start() begins and ends a span in its destructor, while
// tracing is still on. Spans go to an OTLP-JSON lines file; lifecycle_test reads it.
// Usage: lifecycle_exit_helper exit|return FILE N
#include <agentrace/agentrace.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

struct span_in_destructor {
  span_in_destructor() = default;
  span_in_destructor(const span_in_destructor&) = delete;
  span_in_destructor& operator=(const span_in_destructor&) = delete;
  ~span_in_destructor() { AGENTRACE_SPAN(s, "static.destructor"); }
};

// Nothing leaves the queues before the process ends unless an exit path sends it.
agentrace::config config_for(const char* path) {
  agentrace::config c;
  c.exporters = {agentrace::otlp_json_file(path)};
  c.read_environment = false;
  c.max_queue_size = 65536;
  c.schedule_delay = std::chrono::hours(1);
  c.drain_interval = std::chrono::hours(1);
  c.drain_on_demand = false;
  return c;
}

// n spans on this thread and n on a thread that has exited before the process ends.
void work(int n) {
  for (int i = 0; i < n; ++i) {
    AGENTRACE_SPAN(s, "work");
  }
  std::thread([n] {
    for (int i = 0; i < n; ++i) {
      AGENTRACE_SPAN(s, "work.thread");
    }
  }).join();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s exit|return FILE N\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const int n = std::atoi(argv[3]);
  if (mode == "exit") {
    auto tracing = agentrace::start(config_for(argv[2]));
    static span_in_destructor late;  // destroyed by exit(), before the collector stops
    work(n);
    std::exit(0);  // `tracing` is never destroyed
  }
  if (mode == "return") {
    static auto tracing = agentrace::start(config_for(argv[2]));
    static span_in_destructor late;  // destroyed before `tracing`
    work(n);
    return 0;
  }
  std::fprintf(stderr, "%s: unknown mode '%s'\n", argv[0], mode.c_str());
  return 2;
}
