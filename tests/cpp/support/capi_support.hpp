#pragma once
// Helpers for the tests of the C API (capi/enrich.h) in both test executables: RAII for the
// handles, clients from options, and bounded waits on a completion queue's fd.

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "enrich.h"

namespace enrich::capi_test {

using namespace std::chrono_literals;

// The same values as ENRICH_*_INIT: those designated initializers trip g++'s
// -Wmissing-field-initializers (part of -Wextra) in C++.
inline enrich_client_options client_options_init() {
  enrich_client_options o{};
  o.version = ENRICH_CLIENT_OPTIONS_VERSION;
  return o;
}
inline enrich_call_options call_options_init() {
  enrich_call_options o{};
  o.version = ENRICH_CALL_OPTIONS_VERSION;
  return o;
}
inline enrich_http_request http_request_init() {
  enrich_http_request r{};
  r.version = ENRICH_HTTP_REQUEST_VERSION;
  return r;
}

struct QueueFree {
  void operator()(enrich_queue* q) const { enrich_queue_destroy(q); }
};
struct ClientFree {
  void operator()(enrich_client* c) const { enrich_client_destroy(c); }
};
struct CompletionFree {
  void operator()(enrich_completion* c) const { enrich_completion_free(c); }
};
using QueuePtr = std::unique_ptr<enrich_queue, QueueFree>;
using ClientPtr = std::unique_ptr<enrich_client, ClientFree>;
using CompletionPtr = std::unique_ptr<enrich_completion, CompletionFree>;

inline QueuePtr make_queue() {
  enrich_queue* q = nullptr;
  EXPECT_EQ(enrich_queue_create(&q), ENRICH_OK);
  return QueuePtr(q);
}

inline std::string error_text(const enrich_error* e) {
  if (!e) return "(no error)";
  return std::string(enrich_status_name(enrich_error_code(e))) + ": " + enrich_error_message(e);
}

/// A client on `dsn` with logging off unless `tweak` says otherwise.
inline ClientPtr make_client(const std::string& dsn,
                             const std::function<void(enrich_client_options&)>& tweak = {}) {
  enrich_client_options o = client_options_init();
  o.dsn = dsn.c_str();
  o.log_level = ENRICH_LOG_OFF;
  if (tweak) tweak(o);
  enrich_client* c = nullptr;
  enrich_error* e = nullptr;
  if (enrich_client_create(&c, &o, &e) != ENRICH_OK) {
    ADD_FAILURE() << "enrich_client_create: " << error_text(e);
    enrich_error_free(e);
    return nullptr;
  }
  return ClientPtr(c);
}

/// Waits (poll(2) on the fd, bounded by `timeout`) until `want` completions arrived, draining
/// them as they come.
inline std::vector<CompletionPtr> drain(enrich_queue* q, std::size_t want,
                                        std::chrono::milliseconds timeout = 30s) {
  std::vector<CompletionPtr> out;
  auto until = std::chrono::steady_clock::now() + timeout;
  enrich_completion* batch[64];
  while (out.size() < want) {
    std::size_t n = enrich_queue_poll(q, batch, 64);
    for (std::size_t i = 0; i < n; ++i) out.emplace_back(batch[i]);
    if (n > 0) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left <= 0ms) break;
    pollfd p{enrich_queue_fd(q), POLLIN, 0};
    (void)poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
  }
  EXPECT_EQ(out.size(), want) << "completions within " << timeout.count() << " ms";
  return out;
}

inline CompletionPtr next(enrich_queue* q, std::chrono::milliseconds timeout = 30s) {
  auto v = drain(q, 1, timeout);
  return v.empty() ? nullptr : std::move(v.front());
}

inline std::string json_of(const enrich_completion* c) {
  std::size_t n = 0;
  const char* p = enrich_completion_json(c, &n);
  return p ? std::string(p, n) : std::string();
}

inline long long stat_of(enrich_client* client, const std::string& key) {
  char* json = nullptr;
  if (enrich_client_stats(client, &json) != ENRICH_OK) return -1;
  std::string s(json);
  enrich_free(json);
  auto pos = s.find("\"" + key + "\":");
  return pos == std::string::npos ? -1 : std::atoll(s.c_str() + pos + key.size() + 3);
}

}  // namespace enrich::capi_test
