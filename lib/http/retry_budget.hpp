#pragma once
// The HTTP client's retry budget: a token bucket that keeps retries to a fraction of the traffic
// so that a failing service is not hit by a retry storm. Every request deposits `ratio` tokens;
// every retry takes one whole token; on top of that the bucket refills at `min_per_second`
// tokens per second, so that a client with little traffic can still retry. The bucket holds at
// most ten seconds of that floor plus the deposits of 100 requests, and starts full.
// Not thread-safe: owned by one HttpClient and used on its loop thread.

#include "enrich/deadline.hpp"

namespace enrich::http {

class RetryBudget {
 public:
  RetryBudget(double ratio, int min_per_second, Clock::time_point now = Clock::now());

  /// A request was made (first attempts only): deposits `ratio` tokens.
  void on_request(Clock::time_point now = Clock::now());
  /// Takes one token for a retry; false (and nothing taken) when less than one is left.
  bool try_withdraw(Clock::time_point now = Clock::now());
  /// Tokens available now.
  double tokens(Clock::time_point now = Clock::now());
  double capacity() const { return capacity_; }

 private:
  void refill(Clock::time_point now);

  double ratio_;
  double per_second_;
  double capacity_;
  double tokens_;
  Clock::time_point last_refill_;
};

}  // namespace enrich::http
