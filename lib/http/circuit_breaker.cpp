#include "http/circuit_breaker.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace enrich::http {

std::string_view to_string(CircuitBreakers::State state) noexcept {
  switch (state) {
    case CircuitBreakers::State::closed:
      return "closed";
    case CircuitBreakers::State::open:
      return "open";
    case CircuitBreakers::State::half_open:
      return "half_open";
  }
  return "unknown";
}

CircuitBreakers::CircuitBreakers(HttpBreakerOptions options, Logger logger, ClockFn clock)
    : options_(options), logger_(std::move(logger)), clock_(std::move(clock)) {
  options_.failure_threshold = std::max(1, options_.failure_threshold);
  if (options_.cool_down.count() < 0) options_.cool_down = Milliseconds(0);
}

CircuitBreakers::Admission CircuitBreakers::admit(const std::string& host) {
  if (!options_.enabled) return {};
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return {};
  Breaker& b = it->second;
  switch (b.state) {
    case State::closed:
      return {};
    case State::open: {
      auto now = this->now();
      if (now < b.open_until) {
        auto left = std::chrono::ceil<Milliseconds>(b.open_until - now).count();
        return {Admission::reject,
                fmt::format("circuit open for {} after {} consecutive failures; retry after {} ms",
                            host, b.failures, left)};
      }
      b.state = State::half_open;
      b.probe_in_flight = false;
      logger_.log(LogLevel::debug, "http.circuit_half_open", {{"host", host}});
      [[fallthrough]];
    }
    case State::half_open:
      if (b.probe_in_flight)
        return {Admission::reject,
                fmt::format("circuit open for {} after {} consecutive failures; a probe request "
                            "is in flight, retry after it completes",
                            host, b.failures)};
      b.probe_in_flight = true;
      return {Admission::probe, {}};
  }
  return {};
}

void CircuitBreakers::open(const std::string& host, Breaker& b, Clock::time_point now) {
  if (b.state == State::closed) not_closed_.fetch_add(1, std::memory_order_relaxed);
  opened_.fetch_add(1, std::memory_order_relaxed);
  b.state = State::open;
  b.open_until = now + options_.cool_down;
  b.probe_in_flight = false;
  logger_.log(LogLevel::warning, "http.circuit_open",
              {{"host", host},
               {"failures", std::to_string(b.failures)},
               {"cool_down_ms", std::to_string(options_.cool_down.count())}});
}

void CircuitBreakers::on_success(const std::string& host, bool probe) {
  if (!options_.enabled) return;
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return;
  Breaker& b = it->second;
  if (b.state == State::closed) {
    hosts_.erase(it);  // closed with no failures: the default, no entry needed
    return;
  }
  if (b.state == State::half_open && probe) {
    int failures = b.failures;
    hosts_.erase(it);
    not_closed_.fetch_sub(1, std::memory_order_relaxed);
    logger_.log(LogLevel::info, "http.circuit_closed",
                {{"host", host}, {"failures_before", std::to_string(failures)}});
  }
  // open, or a non-probe while half-open: admitted before the circuit opened; ignored.
}

void CircuitBreakers::on_failure(const std::string& host, bool probe) {
  if (!options_.enabled) return;
  Breaker& b = hosts_[host];
  switch (b.state) {
    case State::closed:
      if (++b.failures >= options_.failure_threshold) open(host, b, now());
      return;
    case State::half_open:
      if (probe) {
        ++b.failures;
        open(host, b, now());
      }
      return;
    case State::open:
      return;
  }
}

void CircuitBreakers::on_abandon(const std::string& host, bool probe) {
  if (!options_.enabled || !probe) return;
  auto it = hosts_.find(host);
  if (it != hosts_.end() && it->second.state == State::half_open)
    it->second.probe_in_flight = false;
}

CircuitBreakers::State CircuitBreakers::state(const std::string& host) const {
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return State::closed;
  if (it->second.state == State::open && now() >= it->second.open_until) return State::half_open;
  return it->second.state;
}

int CircuitBreakers::failures(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? 0 : it->second.failures;
}

}  // namespace enrich::http
