// The HTTP client (lib/http): libcurl's multi-socket interface on an EventLoop, deadlines,
// retries with a budget, per-host circuit breakers, cancellation and shutdown. Each test starts
// its own analytics stub server (examples/stub) on a free port and kills it in TearDown.

#include "http/http_client.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/event_loop.hpp"
#include "core/logger.hpp"
#include "http/circuit_breaker.hpp"
#include "http/retry_budget.hpp"
#include "support/stub_server.hpp"
#include "support/test_support.hpp"

namespace enrich::http {
namespace {

using namespace std::chrono_literals;
using test::Stopwatch;

using test::closed_port;
using test::json_int;
using test::StubServer;

/// A clock the test moves by hand, for the circuit breakers: a cool-down passes when the test
/// says so, not after a wait. Thread-safe (an HttpClient reads it on its loop thread).
class FakeClock {
 public:
  Clock::time_point now() const { return start_ + Clock::duration(offset_.load()); }
  void advance(Clock::duration d) { offset_ += d.count(); }
  CircuitBreakers::ClockFn fn() {
    return [this] { return now(); };
  }

 private:
  const Clock::time_point start_ = Clock::now();
  std::atomic<Clock::rep> offset_{0};
};

// ---- fixture ------------------------------------------------------------------------------------

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stub_.start());
    make_client(base_options());
  }
  void TearDown() override {
    stop_client();
    stub_.stop();
  }

  static HttpOptions base_options() {
    HttpOptions o;
    o.default_timeout = 10s;
    o.retry.backoff_initial = 10ms;
    o.retry.backoff_max = 50ms;
    return o;
  }

  /// `breaker_clock`: the breakers' time (a FakeClock's fn()); empty: steady_clock.
  void make_client(HttpOptions options, CircuitBreakers::ClockFn breaker_clock = {}) {
    stop_client();
    options_ = options;
    loop_ = std::make_shared<EventLoop>();
    loop_->start("http-test");
    Logger logger(
        [this](const LogEvent& e) {
          std::lock_guard lock(log_mu_);
          events_.push_back(e);
        },
        LogLevel::debug);
    client_ = std::make_shared<HttpClient>(*loop_, options, logger, std::move(breaker_clock));
  }

  void stop_client() {
    if (!loop_) return;
    auto client = client_;
    loop_->stop([client] { client->shutdown(); });
    client_.reset();
    loop_.reset();
  }

  int logged_count(const std::string& name) {
    std::lock_guard lock(log_mu_);
    int n = 0;
    for (const auto& e : events_)
      if (e.name == name) ++n;
    return n;
  }
  bool logged(const std::string& name) { return logged_count(name) > 0; }

  HttpRequest get(const std::string& path) {
    HttpRequest r;
    r.url = stub_.url(path);
    return r;
  }

  HttpOpPtr make_op(HttpRequest request) {
    auto op = std::make_shared<HttpOp>();
    op->deadline = HttpClient::effective_deadline(request, options_);
    op->request = std::move(request);
    return op;
  }

  /// What Client::http will do: post submit to the loop, cancel hook posts abort.
  Future<HttpResponse> send(const HttpOpPtr& op) {
    Future<HttpResponse> f = op->promise.get_future();
    std::weak_ptr<EventLoop> weak_loop = loop_;
    std::weak_ptr<HttpClient> weak_client = client_;
    op->promise.on_cancel([weak_loop, weak_client, weak = std::weak_ptr<HttpOp>(op)] {
      auto loop = weak_loop.lock();
      if (!loop) return;
      loop->post([weak_client, weak] {
        auto client = weak_client.lock();
        auto op = weak.lock();
        if (client && op) client->abort(op, ErrorCode::cancelled, "request cancelled");
      });
    });
    loop_->post([client = client_, op] { client->submit(op); });
    return f;
  }
  Future<HttpResponse> send(HttpRequest request) { return send(make_op(std::move(request))); }

  Result<HttpResponse> fetch(HttpRequest request, std::chrono::milliseconds wait = 15s) {
    return test::wait_result(send(std::move(request)), wait);
  }

  /// Runs `fn` on the loop thread and waits for it.
  void on_loop(std::function<void()> fn) {
    Promise<Unit> done;
    auto f = done.get_future();
    loop_->post([&fn, &done] {
      fn();
      done.set_value(Unit{});
    });
    ASSERT_TRUE(f.wait_for(10s));
  }

  StubServer stub_;
  HttpOptions options_;
  std::shared_ptr<EventLoop> loop_;
  std::shared_ptr<HttpClient> client_;
  std::mutex log_mu_;
  std::vector<LogEvent> events_;
};

// ---- plain requests -----------------------------------------------------------------------------

TEST_F(HttpClientTest, GetReturnsStatusBodyAndHeaders) {
  auto r = fetch(get("/users/42/summary"));
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"userId\":42,"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"lastSeen\":\"2026-"), std::string::npos) << r->body;
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_EQ(r->header("x-stub"), "enrich-analytics-stub");
  EXPECT_EQ(r->header("x-user-id"), "42");
  EXPECT_EQ(r->header("content-length"), std::to_string(r->body.size()));
  for (const auto& [name, value] : r->headers)
    for (char ch : name)
      EXPECT_FALSE(ch >= 'A' && ch <= 'Z') << "header name not lower-cased: " << name;
  EXPECT_EQ(r->effective_url, stub_.url("/users/42/summary"));
  EXPECT_EQ(r->http_version, 11);  // cleartext stays HTTP/1.1
  EXPECT_EQ(r->attempts, 1);
  EXPECT_LT(r->elapsed.count(), 5000);

  auto again = fetch(get("/users/42/summary"));
  ASSERT_OK(again);
  EXPECT_EQ(again->body, r->body) << "the stub's answer is deterministic per id";
  auto other = fetch(get("/users/43/summary"));
  ASSERT_OK(other);
  EXPECT_NE(other->body, r->body);
}

TEST_F(HttpClientTest, NotFoundIsAResponse) {
  auto r = fetch(get("/nope"));
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(HttpClientTest, PostPutPatchDeleteSendBodyAndHeaders) {
  std::string big(200 * 1024, 'b');  // large enough that curl would otherwise send Expect
  for (std::string method : {"POST", "PUT", "PATCH"}) {
    HttpRequest req;
    req.method = method;
    req.url = stub_.url("/echo");
    req.headers = {{"Content-Type", "text/plain"}, {"X-Test", "hello " + method}};
    req.body = method == "POST" ? big : "body of " + method;
    Stopwatch sw;
    auto r = fetch(req);
    ASSERT_OK(r);
    EXPECT_LT(sw.ms(), 900) << "no Expect: 100-continue wait";
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, req.body) << method;
    EXPECT_EQ(r->header("x-echo-method"), method);
    EXPECT_EQ(r->header("x-echo-test"), "hello " + method);
    EXPECT_EQ(r->header("content-type"), "text/plain");
  }
  HttpRequest del;
  del.method = "delete";  // case-insensitive
  del.url = stub_.url("/echo");
  auto r = fetch(del);
  ASSERT_OK(r);
  EXPECT_EQ(r->header("x-echo-method"), "DELETE");
  EXPECT_EQ(r->header("x-echo-length"), "0");
}

TEST_F(HttpClientTest, HeadHasHeadersButNoBody) {
  HttpRequest req = get("/users/7/summary");
  req.method = "HEAD";
  auto r = fetch(req);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());
  EXPECT_NE(r->header("content-length"), "");
  EXPECT_NE(r->header("content-length"), "0");
}

TEST_F(HttpClientTest, BadInputsFailWithInvalidArgumentWithoutANetworkCall) {
  HttpRequest bad_method = get("/users/1/summary");
  bad_method.method = "BREW";
  auto r1 = fetch(bad_method);
  EXPECT_ERROR_CODE(r1, ErrorCode::invalid_argument);
  HttpRequest bad_scheme;
  bad_scheme.url = "ftp://127.0.0.1/x";
  auto r2 = fetch(bad_scheme);
  EXPECT_ERROR_CODE(r2, ErrorCode::invalid_argument);
  HttpRequest no_url;
  auto r3 = fetch(no_url);
  EXPECT_ERROR_CODE(r3, ErrorCode::invalid_argument);
  HttpRequest injection = get("/users/1/summary");
  injection.headers = {{"X-Evil", "a\r\nX-Injected: 1"}};
  auto r4 = fetch(injection);
  EXPECT_ERROR_CODE(r4, ErrorCode::invalid_argument);
  EXPECT_EQ(stub_.stat("requests"), 0);
}

TEST_F(HttpClientTest, KeepAliveReusesConnections) {
  stub_.control("reset=1");
  for (int i = 0; i < 50; ++i) {
    auto r = fetch(get("/users/" + std::to_string(i) + "/summary"));
    ASSERT_OK(r);
    ASSERT_EQ(r->status, 200);
  }
  EXPECT_LE(client_->stats().connects, 2u);
  EXPECT_EQ(client_->stats().requests, 50u);
  // Our connection(s) plus the one of this stats call.
  EXPECT_LE(stub_.stat("connections_accepted"), 3);
  EXPECT_EQ(stub_.stat("summary"), 50);
}

// ---- timeouts and deadlines ---------------------------------------------------------------------

TEST_F(HttpClientTest, SlowServerTimesOutAtTheTimeout) {
  stub_.control("mode=slow&delay_ms=2000");
  HttpRequest req = get("/users/1/summary");
  req.timeout = 200ms;
  Stopwatch sw;
  auto r = fetch(req);
  auto elapsed = sw.ms();
  ASSERT_ERROR_CODE(r, ErrorCode::timeout);
  EXPECT_GE(elapsed, 180);
  EXPECT_LT(elapsed, 1000) << "timeout not enforced promptly";
  EXPECT_NE(r.error().message.find("timed out after"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(stub_.url("/users/1/summary")), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(r.error().retriable());
}

TEST_F(HttpClientTest, CallerDeadlineIsTheEarlierOfDeadlineAndTimeout) {
  stub_.control("mode=slow&delay_ms=2000");
  HttpRequest req = get("/users/1/summary");
  req.timeout = 5s;
  req.deadline = Deadline::after(150ms);
  Stopwatch sw;
  auto r = fetch(req);
  ASSERT_ERROR_CODE(r, ErrorCode::timeout);
  EXPECT_LT(sw.ms(), 1000);
}

TEST_F(HttpClientTest, QueuedBehindTheConnectionLimitTheDeadlineStillHolds) {
  // curl does not time out a transfer waiting for a free connection; the client does.
  auto options = base_options();
  options.max_connections_per_host = 1;
  make_client(options);
  stub_.control("mode=hang");
  HttpRequest holder = get("/users/1/summary");
  holder.timeout = 5s;
  HttpRequest queued = get("/users/2/summary");
  queued.timeout = 200ms;
  auto holder_future = send(holder);
  Stopwatch sw;
  auto r = test::wait_result(send(queued), 5s);
  ASSERT_ERROR_CODE(r, ErrorCode::timeout);
  EXPECT_LT(sw.ms(), 1000);
  EXPECT_NE(r.error().message.find("waiting for a free connection"), std::string::npos)
      << r.error().message;
  holder_future.cancel();
  auto h = test::wait_result(std::move(holder_future), 2s);
  EXPECT_ERROR_CODE(h, ErrorCode::cancelled);
}

TEST_F(HttpClientTest, ExpiredDeadlineFailsAtOnceWithoutSending) {
  HttpRequest req = get("/users/1/summary");
  req.deadline = Deadline::at(Clock::now() - 1ms);
  Stopwatch sw;
  auto r = fetch(req);
  ASSERT_ERROR_CODE(r, ErrorCode::timeout);
  EXPECT_LT(sw.ms(), 200);
  EXPECT_NE(r.error().message.find("before the request was sent"), std::string::npos);
  EXPECT_EQ(stub_.stat("requests"), 0);
}

// ---- server misbehaviour ------------------------------------------------------------------------

TEST_F(HttpClientTest, Status500IsAResponseNotAnError) {
  stub_.control("mode=error");
  auto r = fetch(get("/users/1/summary"));
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("\"error\":\"internal\""), std::string::npos);
}

TEST_F(HttpClientTest, RedirectLoopIsAnHttpError) {
  stub_.control("mode=redirect");
  auto r = fetch(get("/users/1/summary?token=secret"));
  ASSERT_ERROR_CODE(r, ErrorCode::http);
  EXPECT_NE(r.error().message.find("too many redirects"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("secret"), std::string::npos)
      << "query values must not appear in messages: " << r.error().message;
  EXPECT_EQ(stub_.stat("redirects"), options_.max_redirects + 1);
}

TEST_F(HttpClientTest, BodyOverTheCapIsAnHttpError) {
  auto options = base_options();
  options.max_response_bytes = 1024 * 1024;
  make_client(options);
  stub_.control("mode=big");
  auto r = fetch(get("/users/1/summary"));
  ASSERT_ERROR_CODE(r, ErrorCode::http);
  EXPECT_NE(r.error().message.find("response body exceeds 1048576 bytes"), std::string::npos)
      << r.error().message;

  options.max_response_bytes = 32 * 1024 * 1024;
  make_client(options);
  auto ok = fetch(get("/users/1/summary"));
  ASSERT_OK(ok);
  EXPECT_EQ(ok->body.size(), 20u * 1024 * 1024);
}

TEST_F(HttpClientTest, GarbageBodyIsJustA200) {
  stub_.control("mode=garbage");
  auto r = fetch(get("/users/1/summary"));
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("this is not JSON"), std::string::npos);
}

TEST_F(HttpClientTest, ConnectionClosedWithoutAnswerIsAnError) {
  stub_.control("mode=close");
  auto r = fetch(get("/users/1/summary"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().code == ErrorCode::connection || r.error().code == ErrorCode::http)
      << r.error().to_string();
}

TEST_F(HttpClientTest, NothingListeningIsAConnectionErrorFast) {
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/users/1/summary";
  Stopwatch sw;
  auto r = fetch(req);
  ASSERT_ERROR_CODE(r, ErrorCode::connection);
  EXPECT_LT(sw.ms(), 1000);
  EXPECT_NE(r.error().message.find("127.0.0.1"), std::string::npos) << r.error().message;
}

// ---- circuit breaker ----------------------------------------------------------------------------

// The state machine itself is tested below (HttpCircuitBreakerTest) on a fake clock. This is the
// same path through the HTTP client, against the stub: what counts as a failure, that refused
// calls never reach the server, the probe flag carried by a real transfer. The breakers' clock is
// a fake one too: the cool-down passes when the test advances it, never by waiting.
TEST_F(HttpClientTest, BreakerOpensShortCircuitsProbesAndClosesThroughTheClient) {
  FakeClock clock;
  auto options = base_options();
  options.breaker.failure_threshold = 2;
  options.breaker.cool_down = 1h;
  make_client(options, clock.fn());
  stub_.control("mode=error&reset=1");
  for (int i = 0; i < 2; ++i) {
    auto r = fetch(get("/users/1/summary"));
    ASSERT_OK(r);
    EXPECT_EQ(r->status, 500);
  }
  EXPECT_EQ(logged_count("http.circuit_open"), 1);

  // Open: refused at once, without a request to the server.
  for (int i = 0; i < 3; ++i) {
    auto r = fetch(get("/users/1/summary"));
    ASSERT_ERROR_CODE(r, ErrorCode::circuit_open);
    EXPECT_NE(r.error().message.find("circuit open for " + stub_.base() +
                                     " after 2 consecutive failures; retry after"),
              std::string::npos)
        << r.error().message;
  }
  EXPECT_EQ(stub_.stat("requests"), 2) << "short-circuited calls must not reach the server";
  EXPECT_EQ(client_->stats().short_circuited, 3u);

  // After the cool-down one probe goes out; a 500 opens the circuit again.
  clock.advance(1h);
  auto failed_probe = fetch(get("/users/1/summary"));
  ASSERT_OK(failed_probe);
  EXPECT_EQ(failed_probe->status, 500);
  EXPECT_EQ(logged_count("http.circuit_open"), 2);
  auto refused = fetch(get("/users/1/summary"));
  ASSERT_ERROR_CODE(refused, ErrorCode::circuit_open);
  EXPECT_EQ(stub_.stat("requests"), 3);

  // Two requests admitted in one turn of the loop: the first is the probe, the second is
  // refused while the probe is in flight; the probe's 200 closes the circuit.
  stub_.control("mode=healthy");
  clock.advance(1h);
  auto probe_op = make_op(get("/users/1/summary"));
  auto other_op = make_op(get("/users/2/summary"));
  auto probe = probe_op->promise.get_future();
  auto other = other_op->promise.get_future();
  on_loop([&] {
    client_->submit(probe_op);
    client_->submit(other_op);
  });
  auto other_result = test::wait_result(std::move(other), 10s);
  ASSERT_ERROR_CODE(other_result, ErrorCode::circuit_open);
  EXPECT_NE(other_result.error().message.find("probe"), std::string::npos)
      << other_result.error().message;
  auto probe_result = test::wait_result(std::move(probe), 10s);
  ASSERT_OK(probe_result);
  EXPECT_EQ(probe_result->status, 200);
  EXPECT_TRUE(logged("http.circuit_closed"));
  for (int i = 0; i < 3; ++i) {
    auto r = fetch(get("/users/1/summary"));
    ASSERT_OK(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(stub_.stat("requests"), 7);
  EXPECT_EQ(client_->stats().short_circuited, 5u);
}

TEST_F(HttpClientTest, BreakerCountsTransportErrorsPerHost) {
  FakeClock clock;  // never advanced: the circuit stays open however slow the test runs
  auto options = base_options();
  options.breaker.failure_threshold = 2;
  options.breaker.cool_down = 10s;
  make_client(options, clock.fn());
  HttpRequest dead;
  dead.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/x";
  auto r1 = fetch(dead);
  EXPECT_ERROR_CODE(r1, ErrorCode::connection);
  auto r2 = fetch(dead);
  EXPECT_ERROR_CODE(r2, ErrorCode::connection);
  auto r3 = fetch(dead);
  EXPECT_ERROR_CODE(r3, ErrorCode::circuit_open);
  // Another host (the stub) is unaffected.
  auto ok = fetch(get("/users/1/summary"));
  ASSERT_OK(ok);
  EXPECT_EQ(ok->status, 200);
}

// ---- retries ------------------------------------------------------------------------------------

TEST_F(HttpClientTest, RetryTurnsA503ThenA200IntoSuccess) {
  stub_.control("flaky=1&reset=1");
  HttpRequest req = get("/users/5/summary");
  req.retry = true;
  auto r = fetch(req);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(stub_.stat("requests"), 2);
  EXPECT_EQ(client_->stats().retries, 1u);
}

TEST_F(HttpClientTest, WithoutRetryA503IsReturned) {
  stub_.control("flaky=1");
  auto r = fetch(get("/users/5/summary"));
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, 1);
}

TEST_F(HttpClientTest, PostIsNeverRetried) {
  stub_.control("flaky=1&reset=1");
  HttpRequest req;
  req.method = "POST";
  req.url = stub_.url("/echo");
  req.body = "x";
  req.retry = true;
  auto r = fetch(req);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(stub_.stat("requests"), 1);
}

TEST_F(HttpClientTest, RetriesStopAtMaxAttempts) {
  stub_.control("flaky=10&reset=1");
  HttpRequest req = get("/users/5/summary");
  req.retry = true;
  auto r = fetch(req);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, options_.retry.max_attempts);
  EXPECT_EQ(stub_.stat("requests"), options_.retry.max_attempts);
}

TEST_F(HttpClientTest, EmptyRetryBudgetStopsRetries) {
  auto options = base_options();
  options.retry.budget_ratio = 0;
  options.retry.budget_min_per_second = 0;
  make_client(options);
  stub_.control("flaky=1&reset=1");
  HttpRequest req = get("/users/5/summary");
  req.retry = true;
  auto r = fetch(req);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(stub_.stat("requests"), 1);
  EXPECT_TRUE(logged("http.retry_budget_exhausted"));
}

TEST_F(HttpClientTest, ConnectionErrorsAreRetried) {
  auto options = base_options();
  options.breaker.enabled = false;
  make_client(options);
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/x";
  req.retry = true;
  auto r = fetch(req);
  ASSERT_ERROR_CODE(r, ErrorCode::connection);
  EXPECT_NE(r.error().message.find("after 3 attempts"), std::string::npos) << r.error().message;
  EXPECT_EQ(client_->stats().attempts, 3u);
}

TEST_F(HttpClientTest, TimeoutThatUsedTheDeadlineIsNotRetried) {
  stub_.control("mode=slow&delay_ms=2000&reset=1");
  HttpRequest req = get("/users/5/summary");
  req.retry = true;
  req.timeout = 200ms;
  Stopwatch sw;
  auto r = fetch(req);
  ASSERT_ERROR_CODE(r, ErrorCode::timeout);
  EXPECT_LT(sw.ms(), 1000);
  EXPECT_EQ(client_->stats().attempts, 1u);
  EXPECT_EQ(stub_.stat("requests"), 1);
}

TEST_F(HttpClientTest, BackoffNeverRunsPastTheDeadline) {
  auto options = base_options();
  options.retry.backoff_initial = 2000ms;
  options.retry.backoff_max = 2000ms;
  make_client(options);
  stub_.control("flaky=10");
  HttpRequest req = get("/users/5/summary");
  req.retry = true;
  req.timeout = 150ms;
  Stopwatch sw;
  auto r = fetch(req);
  EXPECT_LT(sw.ms(), 600);
  ASSERT_OK(r);  // the last 503 (a retry that would end after the deadline is not made)
  EXPECT_EQ(r->status, 503);
}

TEST_F(HttpClientTest, CancelDuringBackoffCompletesWithCancelled) {
  auto options = base_options();
  options.retry.backoff_initial = 5000ms;
  options.retry.backoff_max = 5000ms;
  make_client(options);
  stub_.control("flaky=10&reset=1");
  HttpRequest req = get("/users/5/summary");
  req.retry = true;
  auto f = send(req);
  ASSERT_TRUE(test::eventually([&] { return client_->stats().backing_off == 1; }, 5s));
  f.cancel();
  auto r = test::wait_result(std::move(f), 2s);
  ASSERT_ERROR_CODE(r, ErrorCode::cancelled);
  EXPECT_EQ(client_->stats().backing_off, 0u);
}

// ---- cancellation and shutdown ------------------------------------------------------------------

TEST_F(HttpClientTest, AbortInFlightCompletesWithCancelledAndRemovesTheTransfer) {
  stub_.control("mode=hang&reset=1");
  auto op = make_op(get("/users/1/summary"));
  auto f = send(op);
  ASSERT_TRUE(test::eventually([&] { return stub_.stat("hung") == 1; }, 5s));
  EXPECT_EQ(client_->stats().active, 1u);
  Stopwatch sw;
  f.cancel();
  auto r = test::wait_result(std::move(f), 2s);
  ASSERT_ERROR_CODE(r, ErrorCode::cancelled);
  EXPECT_LT(sw.ms(), 500);
  EXPECT_EQ(client_->stats().active, 0u);
  EXPECT_TRUE(op->completed);
  // A second abort is a no-op; the connection is gone on the server side too.
  on_loop([&] { client_->abort(op, ErrorCode::timeout, "late"); });
  EXPECT_TRUE(test::eventually([&] { return stub_.stat("connections_open") == 1; }, 3s))
      << "only the stats connection should remain";
  // The client keeps working.
  stub_.control("mode=healthy");
  auto after = fetch(get("/users/1/summary"));
  ASSERT_OK(after);
}

TEST_F(HttpClientTest, ShutdownCompletesEveryRequestInFlightWithCancelled) {
  stub_.control("mode=hang&reset=1");
  std::vector<Future<HttpResponse>> futures;
  for (int i = 0; i < 100; ++i)
    futures.push_back(send(get("/users/" + std::to_string(i) + "/summary")));
  // Up to max_connections_per_host are on the wire; the rest are queued inside curl.
  ASSERT_TRUE(test::eventually(
      [&] {
        return stub_.stat("hung") == static_cast<long long>(options_.max_connections_per_host);
      },
      5s));
  ASSERT_TRUE(test::eventually([&] { return client_->stats().active == 100u; }, 5s));
  on_loop([&] { client_->shutdown(); });
  for (auto& f : futures) {
    auto r = test::wait_result(std::move(f), 2s);
    EXPECT_ERROR_CODE(r, ErrorCode::cancelled);
  }
  EXPECT_EQ(client_->stats().active, 0u);
  // Later submits are refused; shutdown twice is fine.
  auto late = fetch(get("/users/1/summary"), 2s);
  EXPECT_ERROR_CODE(late, ErrorCode::cancelled);
  on_loop([&] { client_->shutdown(); });
  EXPECT_TRUE(test::eventually([&] { return stub_.stat("connections_open") == 1; }, 3s));
}

/// A TCP port that accepts connections (the kernel completes the handshake) but never answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 64);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/silent"; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(HttpClientTest, ContinuationsMaySubmitAbortAndShutDownReentrantly) {
  SilentListener silent;
  HttpRequest hanging;
  hanging.url = silent.url();
  auto stuck = make_op(hanging);
  auto stuck_future = send(stuck);
  auto stuck_too = make_op(hanging);
  auto stuck_too_future = send(stuck_too);

  // The first request's continuation (on the loop thread, inside the client) aborts a transfer
  // in flight and submits the next request; that one's continuation shuts the client down with
  // another transfer still in flight.
  auto client = client_;
  auto first = make_op(get("/users/1/summary"));
  auto second = make_op(get("/users/2/summary"));
  Promise<HttpResponse> chained;
  auto chained_future = chained.get_future();
  second->promise.get_future().subscribe([client, &chained](Result<HttpResponse> r) {
    client->shutdown();
    chained.set(std::move(r));
  });
  first->promise.get_future().subscribe([client, second, stuck](Result<HttpResponse> r) {
    EXPECT_TRUE(r.ok());
    client->abort(stuck, ErrorCode::cancelled, "aborted from a continuation");
    client->submit(second);
  });
  loop_->post([client, first] { client->submit(first); });

  auto r = test::wait_result(std::move(chained_future), 10s);
  ASSERT_OK(r);
  EXPECT_NE(r->body.find("\"userId\":2,"), std::string::npos);
  auto a = test::wait_result(std::move(stuck_future), 5s);
  ASSERT_ERROR_CODE(a, ErrorCode::cancelled);
  EXPECT_EQ(a.error().message, "aborted from a continuation");
  auto b = test::wait_result(std::move(stuck_too_future), 5s);
  ASSERT_ERROR_CODE(b, ErrorCode::cancelled);
  EXPECT_EQ(b.error().message, "HTTP client shut down");
  EXPECT_EQ(client_->stats().active, 0u);
}

// ---- load ---------------------------------------------------------------------------------------

TEST_F(HttpClientTest, ThousandConcurrentGetsAllSucceed) {
  constexpr int kRequests = 1000;
  std::vector<Future<HttpResponse>> futures;
  futures.reserve(kRequests);
  for (int i = 0; i < kRequests; ++i)
    futures.push_back(send(get("/users/" + std::to_string(i) + "/summary")));
  int ok = 0;
  for (int i = 0; i < kRequests; ++i) {
    auto r = test::wait_result(std::move(futures[i]), 20s);
    ASSERT_OK(r);
    ASSERT_EQ(r->status, 200);
    ASSERT_NE(r->body.find("\"userId\":" + std::to_string(i) + ","), std::string::npos);
    ++ok;
  }
  EXPECT_EQ(ok, kRequests);
  EXPECT_LE(client_->stats().connects, options_.max_connections_per_host);
  EXPECT_EQ(client_->stats().active, 0u);
}

// ---- the pieces on their own --------------------------------------------------------------------

TEST(HttpRetryBudgetTest, DepositsWithdrawalsAndRefill) {
  auto t0 = Clock::now();
  RetryBudget empty(0.0, 0, t0);
  EXPECT_FALSE(empty.try_withdraw(t0));
  empty.on_request(t0);
  EXPECT_FALSE(empty.try_withdraw(t0 + 10s));

  RetryBudget ratio(0.5, 0, t0);  // capacity 50, starts full
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(ratio.try_withdraw(t0)) << i;
  EXPECT_FALSE(ratio.try_withdraw(t0));
  ratio.on_request(t0);
  EXPECT_FALSE(ratio.try_withdraw(t0)) << "half a token is not a retry";
  ratio.on_request(t0);
  EXPECT_TRUE(ratio.try_withdraw(t0));

  RetryBudget floor(0.0, 2, t0);  // 2 per second, at most 20
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(floor.try_withdraw(t0));
  EXPECT_FALSE(floor.try_withdraw(t0));
  EXPECT_TRUE(floor.try_withdraw(t0 + 500ms));
  EXPECT_FALSE(floor.try_withdraw(t0 + 500ms));
  EXPECT_NEAR(floor.tokens(t0 + 60s), 20.0, 1e-9) << "capped";
}

// ---- circuit breaker state machine, on a fake clock
// ----------------------------------------------

class HttpCircuitBreakerTest : public ::testing::Test {
 protected:
  using S = CircuitBreakers::State;
  using A = CircuitBreakers::Admission;

  CircuitBreakers make(int failure_threshold = 3, Milliseconds cool_down = 1000ms,
                       bool enabled = true) {
    HttpBreakerOptions o;
    o.enabled = enabled;
    o.failure_threshold = failure_threshold;
    o.cool_down = cool_down;
    Logger logger([this](const LogEvent& e) { events_.push_back(e.name); }, LogLevel::debug);
    return CircuitBreakers(o, logger, clock_.fn());
  }
  /// Reports `n` failures of requests admitted as ordinary ones (not probes).
  static void fail(CircuitBreakers& b, const std::string& host, int n) {
    for (int i = 0; i < n; ++i) b.on_failure(host, false);
  }
  int logged(const std::string& name) const {
    return static_cast<int>(std::count(events_.begin(), events_.end(), name));
  }

  const std::string h_ = "http://a:80";
  FakeClock clock_;
  std::vector<std::string> events_;
};

TEST_F(HttpCircuitBreakerTest, OpensAfterThresholdConsecutiveFailuresOnly) {
  auto b = make(3);
  EXPECT_EQ(b.admit(h_).kind, A::allow);
  fail(b, h_, 2);
  EXPECT_EQ(b.state(h_), S::closed);
  EXPECT_EQ(b.failures(h_), 2);
  EXPECT_EQ(b.admit(h_).kind, A::allow);
  b.on_success(h_, false);  // not consecutive any more
  EXPECT_EQ(b.failures(h_), 0);
  fail(b, h_, 2);
  EXPECT_EQ(b.state(h_), S::closed) << "2 failures after a success are not 3 in a row";
  EXPECT_EQ(logged("http.circuit_open"), 0);
  fail(b, h_, 1);
  EXPECT_EQ(b.state(h_), S::open);
  EXPECT_EQ(logged("http.circuit_open"), 1);
  auto refused = b.admit(h_);
  EXPECT_EQ(refused.kind, A::reject);
  EXPECT_EQ(refused.message,
            "circuit open for http://a:80 after 3 consecutive failures; retry after 1000 ms");
}

TEST_F(HttpCircuitBreakerTest, StaysOpenForTheCoolDownThenLetsExactlyOneProbeThrough) {
  auto b = make(2, 1000ms);
  fail(b, h_, 2);
  clock_.advance(10ms);
  auto refused = b.admit(h_);
  EXPECT_EQ(refused.kind, A::reject);
  EXPECT_NE(refused.message.find("retry after 990 ms"), std::string::npos) << refused.message;
  fail(b, h_, 1);  // admitted before the circuit opened: does not extend the cool-down
  clock_.advance(989ms);
  EXPECT_EQ(b.state(h_), S::open);
  refused = b.admit(h_);
  EXPECT_EQ(refused.kind, A::reject);
  EXPECT_NE(refused.message.find("retry after 1 ms"), std::string::npos) << refused.message;
  clock_.advance(1ms);  // the cool-down is over
  EXPECT_EQ(b.state(h_), S::half_open);
  EXPECT_EQ(b.admit(h_).kind, A::probe);
  EXPECT_EQ(logged("http.circuit_half_open"), 1);
  auto second = b.admit(h_);
  EXPECT_EQ(second.kind, A::reject) << "one probe at a time";
  EXPECT_NE(second.message.find("a probe request is in flight"), std::string::npos)
      << second.message;
  clock_.advance(1h);  // however long the probe takes
  EXPECT_EQ(b.admit(h_).kind, A::reject);
}

TEST_F(HttpCircuitBreakerTest, ASuccessfulProbeClosesTheCircuit) {
  auto b = make(2, 1000ms);
  fail(b, h_, 2);
  clock_.advance(1000ms);
  ASSERT_EQ(b.admit(h_).kind, A::probe);
  b.on_success(h_, false);  // a request admitted before the circuit opened decides nothing
  EXPECT_EQ(b.state(h_), S::half_open);
  b.on_failure(h_, false);
  EXPECT_EQ(b.state(h_), S::half_open);
  b.on_success(h_, true);
  EXPECT_EQ(b.state(h_), S::closed);
  EXPECT_EQ(b.failures(h_), 0);
  EXPECT_EQ(logged("http.circuit_closed"), 1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.admit(h_).kind, A::allow);
  fail(b, h_, 1);
  EXPECT_EQ(b.state(h_), S::closed) << "the count starts again from zero";
}

TEST_F(HttpCircuitBreakerTest, AFailedProbeOpensTheCircuitForAnotherFullCoolDown) {
  auto b = make(2, 1000ms);
  fail(b, h_, 2);
  clock_.advance(1000ms);
  ASSERT_EQ(b.admit(h_).kind, A::probe);
  clock_.advance(300ms);  // the probe took a while
  b.on_failure(h_, true);
  EXPECT_EQ(b.state(h_), S::open);
  EXPECT_EQ(logged("http.circuit_open"), 2);
  EXPECT_EQ(b.failures(h_), 3);
  clock_.advance(999ms);  // counted from the probe's failure, not from the first opening
  EXPECT_EQ(b.admit(h_).kind, A::reject);
  clock_.advance(1ms);
  EXPECT_EQ(b.admit(h_).kind, A::probe);
  b.on_success(h_, true);
  EXPECT_EQ(b.state(h_), S::closed);
}

TEST_F(HttpCircuitBreakerTest, AnAbandonedProbeFreesTheSlot) {
  auto b = make(1, 1000ms);
  fail(b, h_, 1);
  clock_.advance(1000ms);
  ASSERT_EQ(b.admit(h_).kind, A::probe);
  EXPECT_EQ(b.admit(h_).kind, A::reject);
  b.on_abandon(h_, false);  // not the probe: nothing changes
  EXPECT_EQ(b.admit(h_).kind, A::reject);
  b.on_abandon(h_, true);
  EXPECT_EQ(b.state(h_), S::half_open);
  EXPECT_EQ(b.admit(h_).kind, A::probe);
  EXPECT_EQ(b.admit(h_).kind, A::reject);
}

TEST_F(HttpCircuitBreakerTest, CircuitsArePerHostAndADisabledBreakerNeverRefuses) {
  auto b = make(1, 1000ms);
  fail(b, h_, 1);
  EXPECT_EQ(b.admit(h_).kind, A::reject);
  EXPECT_EQ(b.admit("http://b:80").kind, A::allow);
  EXPECT_EQ(b.state("http://b:80"), S::closed);

  auto off = make(1, 1000ms, /*enabled=*/false);
  fail(off, h_, 10);
  EXPECT_EQ(off.admit(h_).kind, A::allow);
  EXPECT_EQ(off.state(h_), S::closed);
}

}  // namespace
}  // namespace enrich::http
