#pragma once
// Circuit breakers of the HTTP client, one per host (key "scheme://host:port").
//
//   closed    counts consecutive failures (transport errors, timeouts, 5xx responses); a success
//             resets the count. At `failure_threshold` the circuit opens.
//   open      every call is refused at once (ErrorCode::circuit_open) until `cool_down` passed.
//   half-open exactly one probe request goes through, the others are still refused; the probe's
//             success closes the circuit, its failure opens it again for another cool-down.
//
// Outcomes of requests admitted before the circuit opened (still in flight when it opened) and
// of non-probe requests while half-open are ignored. Hosts whose circuit is closed with no
// failures have no entry. Not thread-safe: owned by one HttpClient, used on its loop thread.
//
// The time comes from steady_clock, or from the clock a test injects (to step through the
// cool-down without waiting for it).

#include <atomic>
#include <functional>
#include <string>
#include <unordered_map>

#include "core/logger.hpp"
#include "enrich/deadline.hpp"
#include "enrich/http.hpp"
#include "enrich/log.hpp"

namespace enrich::http {

class CircuitBreakers {
 public:
  enum class State { closed, open, half_open };

  struct Admission {
    enum Kind { allow, probe, reject };
    Kind kind = allow;
    std::string message;  ///< with reject: why, for the circuit_open error
  };

  /// Where the breakers read the time; empty: steady_clock.
  using ClockFn = std::function<Clock::time_point()>;

  CircuitBreakers(HttpBreakerOptions options, Logger logger, ClockFn clock = {});

  /// May a request to `host` go out now? `probe`: it is the half-open circuit's single probe and
  /// its outcome must be reported with probe=true (or on_abandon if it never finishes).
  Admission admit(const std::string& host);
  void on_success(const std::string& host, bool probe);
  void on_failure(const std::string& host, bool probe);
  /// The request was cancelled before its outcome was known: a probe slot becomes free again.
  void on_abandon(const std::string& host, bool probe);

  /// For tests and stats.
  State state(const std::string& host) const;
  /// Thread-safe: transitions to open (first opening and re-opening after a failed probe), and
  /// the hosts whose circuit is not closed now.
  std::uint64_t opened() const { return opened_.load(std::memory_order_relaxed); }
  std::uint64_t not_closed() const { return not_closed_.load(std::memory_order_relaxed); }
  int failures(const std::string& host) const;

 private:
  struct Breaker {
    State state = State::closed;
    int failures = 0;
    Clock::time_point open_until{};
    bool probe_in_flight = false;
  };
  void open(const std::string& host, Breaker& b, Clock::time_point now);
  std::atomic<std::uint64_t> opened_{0}, not_closed_{0};
  Clock::time_point now() const { return clock_ ? clock_() : Clock::now(); }

  HttpBreakerOptions options_;
  Logger logger_;
  ClockFn clock_;
  std::unordered_map<std::string, Breaker> hosts_;
};

std::string_view to_string(CircuitBreakers::State state) noexcept;

}  // namespace enrich::http
