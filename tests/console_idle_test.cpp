// SPDX-License-Identifier: MIT
// The console exporter prints a finished trace on its own, shortly after the trace's local root
// ended (exporter::on_idle), without a flush and without more spans arriving.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <stdio.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>

namespace {

// A FILE* whose writes land in a string, with a condition variable to wait for them.
class captured_stream {
 public:
  captured_stream() {
    cookie_io_functions_t io{};
    io.write = [](void* self, const char* buf, size_t n) -> ssize_t {
      auto* c = static_cast<captured_stream*>(self);
      {
        std::lock_guard<std::mutex> lock(c->mu_);
        c->text_.append(buf, n);
      }
      c->cv_.notify_all();
      return static_cast<ssize_t>(n);
    };
    file_ = fopencookie(this, "w", io);
    REQUIRE(file_ != nullptr);
  }
  ~captured_stream() { std::fclose(file_); }
  captured_stream(const captured_stream&) = delete;
  captured_stream& operator=(const captured_stream&) = delete;

  std::FILE* file() const noexcept { return file_; }

  /// Waits until the text contains every one of `needles`; false on timeout.
  bool wait_for(std::initializer_list<std::string_view> needles, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (auto n : needles)
        if (text_.find(n) == std::string::npos) return false;
      return true;
    });
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  std::FILE* file_{nullptr};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
};

}  // namespace

TEST_CASE("a finished trace is printed without a flush and without further spans") {
  captured_stream out;
  agentrace::console_options o;
  o.out = out.file();
  o.color = 0;
  o.assembly.straggler_wait = std::chrono::milliseconds(50);
  agentrace::config c;
  c.exporters = {agentrace::console(o)};
  c.schedule_delay = std::chrono::milliseconds(20);  // the batch reaches the exporter soon
  c.read_environment = false;
  auto tracing = agentrace::start(c);
  agentrace::trace_id id;
  {
    agentrace::span<"idle.root"> root;
    id = root.context().trace_id;
    agentrace::span<"idle.child"> child;
  }
  // No force_flush, no other span: the collector's idle tick must print the tree.
  const bool printed = out.wait_for({"idle.root", "└─ idle.child"}, std::chrono::seconds(30));
  const std::string text = out.text();
  INFO(text);
  REQUIRE(printed);
  CHECK(text.find("trace " + agentrace::to_hex(id)) != std::string::npos);
  CHECK(text.find("2 spans") != std::string::npos);
  CHECK(text.find("incomplete") == std::string::npos);
  // The root line comes before its child's, which is indented under it.
  CHECK(text.find("idle.root") < text.find("idle.child"));
  CHECK(text.find("   └─ idle.child") != std::string::npos);
  tracing.shutdown();
  CHECK(out.text() == text);  // printed once: nothing left for shutdown to print
}
