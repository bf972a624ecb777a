#include "http/retry_budget.hpp"

#include <algorithm>

namespace enrich::http {
namespace {
constexpr double kFloorSeconds = 10.0;      // the bucket holds this many seconds of the floor
constexpr double kDepositRequests = 100.0;  // ... plus the deposits of this many requests
}  // namespace

RetryBudget::RetryBudget(double ratio, int min_per_second, Clock::time_point now)
    : ratio_(std::max(0.0, ratio)),
      per_second_(std::max(0, min_per_second)),
      capacity_(per_second_ * kFloorSeconds + ratio_ * kDepositRequests),
      tokens_(capacity_),
      last_refill_(now) {}

void RetryBudget::refill(Clock::time_point now) {
  if (now <= last_refill_) return;
  double seconds = std::chrono::duration<double>(now - last_refill_).count();
  last_refill_ = now;
  tokens_ = std::min(capacity_, tokens_ + seconds * per_second_);
}

void RetryBudget::on_request(Clock::time_point now) {
  refill(now);
  tokens_ = std::min(capacity_, tokens_ + ratio_);
}

bool RetryBudget::try_withdraw(Clock::time_point now) {
  refill(now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

double RetryBudget::tokens(Clock::time_point now) {
  refill(now);
  return tokens_;
}

}  // namespace enrich::http
