#pragma once
// The HTTP client of one I/O thread: libcurl's multi-socket interface driven by the thread's
// EventLoop. One CURLM per client (its connection cache gives keep-alive reuse and, over TLS,
// HTTP/2 multiplexing), a free list of easy handles, per-request deadlines, opt-in retries with
// backoff bounded by a retry budget, and a circuit breaker per host.
//
// Threading: construct anywhere; every other method (and the destructor, unless the loop has
// stopped) runs on the loop's thread. Promises are completed on the loop thread, running the
// caller's continuations inline; continuations may call submit() and abort() again but must not
// destroy the client.

#include <curl/curl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event_loop.hpp"
#include "core/logger.hpp"
#include "core/metrics.hpp"
#include "enrich/http.hpp"
#include "enrich/log.hpp"
#include "http/circuit_breaker.hpp"
#include "http/http_op.hpp"
#include "http/retry_budget.hpp"

namespace enrich::http {

/// Counters of one client; readable from any thread (a snapshot).
struct HttpClientStats {
  std::uint64_t requests = 0;             ///< ops submitted
  std::uint64_t attempts = 0;             ///< transfers started (requests + retries)
  std::uint64_t retries = 0;              ///< retries started
  std::uint64_t connects = 0;             ///< new connections opened (CURLINFO_NUM_CONNECTS summed)
  std::uint64_t short_circuited = 0;      ///< refused by an open circuit without a transfer
  std::uint64_t active = 0;               ///< transfers in the multi handle now
  std::uint64_t backing_off = 0;          ///< ops waiting for a retry
  std::uint64_t breakers_opened = 0;      ///< circuit transitions to open
  std::uint64_t breakers_not_closed = 0;  ///< hosts whose circuit is open or half-open now
};

class HttpClient {
 public:
  /// `breaker_clock`: where the circuit breakers read the time (tests inject a fake clock; empty:
  /// steady_clock). Deadlines, timers and the retry budget always use steady_clock.
  HttpClient(EventLoop& loop, HttpOptions options, Logger logger,
             CircuitBreakers::ClockFn breaker_clock = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// The earlier of `request.deadline` and now + (`request.timeout`, or `default_timeout` when
  /// zero). What a caller should put in HttpOp::deadline.
  static Deadline effective_deadline(const HttpRequest& request, const HttpOptions& options);

  /// Where request counts and latencies go (the client's metrics); before the first submit.
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }

  /// Starts `op`; its promise completes on the loop thread. Loop thread.
  void submit(HttpOpPtr op);
  /// Completes `op` now with `code` (cancelled, timeout) and removes its transfer or retry timer.
  /// No-op if it already completed. Loop thread.
  void abort(const HttpOpPtr& op, ErrorCode code, std::string message);
  /// Completes everything with ErrorCode::cancelled, cancels timers, unwatches fds and frees the
  /// curl handles. Later submits fail with cancelled. Safe to call twice. Loop thread (or any
  /// thread once the loop has stopped).
  void shutdown();

  HttpClientStats stats() const;
  const HttpOptions& options() const { return options_; }
  /// The circuit breakers (loop thread; for tests).
  const CircuitBreakers& breakers() const { return breakers_; }

 private:
  static int socket_callback(CURL* easy, curl_socket_t fd, int what, void* userp, void* socketp);
  static int timer_callback(CURLM* multi, long timeout_ms, void* userp);
  static std::size_t write_callback(char* data, std::size_t size, std::size_t n, void* userp);
  static std::size_t header_callback(char* data, std::size_t size, std::size_t n, void* userp);

  void on_socket(int fd, std::uint32_t events);
  void on_curl_timer();
  void drain_finished();
  void start_attempt(const HttpOpPtr& op);
  void finish_attempt(HttpOpPtr op, CURLcode code);
  void on_deadline(CURL* easy, HttpOp* raw);
  bool schedule_retry(const HttpOpPtr& op, Result<HttpResponse>& outcome);
  void complete(const HttpOpPtr& op, Result<HttpResponse> result);
  void detach(HttpOp& op);
  Error transfer_error(const HttpOp& op, CURLcode code) const;
  bool configure(HttpOp& op, CURL* easy, Milliseconds remaining);
  CURL* acquire_easy();
  void release_easy(CURL* easy);

  EventLoop& loop_;
  HttpOptions options_;
  Logger logger_;
  CURLM* multi_ = nullptr;
  bool shut_down_ = false;
  bool cleaning_up_ = false;  // curl_multi_cleanup running: ignore its callbacks

  EventLoop::TimerId curl_timer_ = 0;
  std::unordered_map<int, std::uint32_t> sockets_;      // fd -> epoll events watched
  std::unordered_map<CURL*, HttpOpPtr> active_;         // transfers in the multi handle
  std::unordered_map<HttpOp*, HttpOpPtr> backing_off_;  // ops waiting for a retry timer
  std::vector<CURL*> free_easy_;

  RetryBudget budget_;
  CircuitBreakers breakers_;
  std::mt19937_64 rng_;

  struct Counters {
    std::atomic<std::uint64_t> requests{0}, attempts{0}, retries{0}, connects{0},
        short_circuited{0}, active{0}, backing_off{0};
  };
  Counters counters_;
  Metrics* metrics_ = nullptr;
};

}  // namespace enrich::http
