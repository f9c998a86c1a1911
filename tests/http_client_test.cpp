// SPDX-License-Identifier: MIT
// http/client.hpp against a real HTTP/1.1 server on 127.0.0.1: what is sent (method, target,
// headers, body, gzip), what is read back (status, headers by any case, body, streamed body),
// and each transport failure class (connect, timeout, too large, cancelled).
#include <agentrace/http/client.hpp>
#include <catch2/catch.hpp>
#include <zlib.h>

#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/http_server.hpp"

namespace http = agentrace::http;
using test_support::http_reply;
using test_support::http_server;

namespace {

std::string gunzip(const std::string& in) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK);
  std::string out;
  char buf[4096];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  CHECK(rc == Z_STREAM_END);
  return out;
}

}  // namespace

TEST_CASE("http client: a POST carries its headers and body; the response is read back") {
  http_server srv({{.status = 201, .body = R"({"ok":true})"}});
  http::client c;
  http::request req;
  req.url = srv.url("/v1/traces");
  req.headers = {{"Content-Type", "application/json"}, {"X-Tenant", "t1"}};
  req.body = R"({"resourceSpans":[]})";
  const http::response r = c.send(req);
  CHECK(r.error == http::transport_error::none);
  CHECK(r.status == 201);
  CHECK(r.ok());
  CHECK(r.body == R"({"ok":true})");
  // Response header names are lowercased; header() finds them by any case.
  REQUIRE(r.header("CONTENT-TYPE"));
  CHECK(*r.header("Content-Type") == "application/json");
  CHECK_FALSE(r.header("x-missing"));

  const auto reqs = srv.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].target == "/v1/traces");
  CHECK(reqs[0].header("x-tenant") == "t1");
  CHECK(reqs[0].header("content-type") == "application/json");
  CHECK(reqs[0].body == req.body);
}

TEST_CASE("http client: a gzip body is sent compressed with Content-Encoding") {
  http_server srv({{.status = 200, .body = "{}"}});
  http::client c;
  http::request req;
  req.url = srv.url("/x");
  req.body = std::string(10000, 'a') + "end";
  req.gzip = true;
  REQUIRE(c.send(req).ok());
  const auto reqs = srv.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].header("content-encoding") == "gzip");
  CHECK(reqs[0].body.size() < req.body.size());
  CHECK(gunzip(reqs[0].body) == req.body);
}

TEST_CASE("http client: a non-2xx status is a response, not a transport error") {
  http_server srv({{.status = 503, .body = "busy"}});
  http::client c;
  http::request req;
  req.url = srv.url("/");
  const auto r = c.send(req);
  CHECK(r.error == http::transport_error::none);
  CHECK(r.status == 503);
  CHECK_FALSE(r.ok());
  CHECK(r.body == "busy");
}

TEST_CASE("http client: connections are reused across requests") {
  http_server srv({{.status = 200, .body = "{}"}});
  http::client c;
  http::request req;
  req.url = srv.url("/");
  for (int i = 0; i < 3; ++i) REQUIRE(c.send(req).ok());
  CHECK(srv.requests().size() == 3);
  CHECK(srv.connections() == 1);
}

TEST_CASE("http client: a streamed 2xx body goes to on_body piece by piece") {
  http_server srv({{.status = 200, .pieces = {"data: 1\n\n", "data: 2\n\n"}}});
  http::client c;
  http::request req;
  req.url = srv.url("/stream");
  std::string seen;
  req.on_body = [&](std::string_view piece) {
    seen.append(piece);
    return true;
  };
  const auto r = c.send(req);
  CHECK(r.status == 200);
  CHECK(seen == "data: 1\n\ndata: 2\n\n");
  CHECK(r.body.empty());
}

TEST_CASE("http client: transport failures are classified") {
  http::client c;
  SECTION("nothing listens: connect") {
    int port = 0;
    {
      http_server gone;  // a port that was free a moment ago
      port = gone.port();
    }
    http::request req;
    req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
    const auto r = c.send(req);
    CHECK(r.error == http::transport_error::connect);
    CHECK(r.status == 0);
    CHECK_FALSE(r.error_message.empty());
  }
  SECTION("no answer in time: timeout") {
    http_server hole({}, /*black_hole=*/true);
    http::request req;
    req.url = hole.url("/");
    req.timeout = std::chrono::milliseconds(200);
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = c.send(req);
    CHECK(r.error == http::transport_error::timeout);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  }
  SECTION("a response over the limit: too_large") {
    http_server srv({{.status = 200, .body = std::string(5000, 'x')}});
    http::request req;
    req.url = srv.url("/");
    req.max_response_bytes = 1000;
    const auto r = c.send(req);
    CHECK(r.error == http::transport_error::too_large);
  }
  SECTION("cancel() from another thread: cancelled, until resume()") {
    http_server srv({{.status = 200, .body = "{}", .delay = std::chrono::milliseconds(1000)}});
    http::request req;
    req.url = srv.url("/");
    std::thread canceller([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      c.cancel();
    });
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = c.send(req);
    canceller.join();
    CHECK(r.error == http::transport_error::cancelled);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(900));
    CHECK(c.send(req).error == http::transport_error::cancelled);  // still cancelled
    c.resume();
  }
}
