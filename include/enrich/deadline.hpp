#pragma once
/// @file
/// Deadlines: a point in time on the monotonic clock after which an operation fails with
/// `ErrorCode::timeout`. Deadlines are enforced on the I/O thread (the server-side query is
/// cancelled), never by a caller waiting on a future with a timeout.

#include <algorithm>
#include <chrono>

namespace enrich {

using Clock = std::chrono::steady_clock;
using Milliseconds = std::chrono::milliseconds;

/// A point on the steady clock, or "no deadline".
class Deadline {
 public:
  /// No deadline.
  constexpr Deadline() = default;
  static constexpr Deadline none() { return Deadline(); }
  static Deadline at(Clock::time_point when) { return Deadline(when); }
  /// `timeout` from now; a zero or negative timeout means "no deadline".
  static Deadline after(Milliseconds timeout) {
    return timeout.count() > 0 ? Deadline(Clock::now() + timeout) : Deadline();
  }

  bool is_set() const { return when_ != Clock::time_point::max(); }
  Clock::time_point when() const { return when_; }
  bool expired(Clock::time_point now = Clock::now()) const { return is_set() && now >= when_; }
  /// Time left, zero once expired; `Milliseconds::max()` when there is no deadline.
  Milliseconds remaining(Clock::time_point now = Clock::now()) const {
    if (!is_set()) return Milliseconds::max();
    if (now >= when_) return Milliseconds(0);
    return std::chrono::ceil<Milliseconds>(when_ - now);
  }

  /// The earlier of two deadlines.
  friend Deadline earliest(Deadline a, Deadline b) { return a.when_ <= b.when_ ? a : b; }
  friend bool operator==(Deadline a, Deadline b) { return a.when_ == b.when_; }

 private:
  explicit Deadline(Clock::time_point when) : when_(when) {}
  Clock::time_point when_ = Clock::time_point::max();
};

}  // namespace enrich
