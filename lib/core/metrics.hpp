#pragma once
// The counters and histograms of one client, shared by its I/O threads: updated there with
// relaxed atomics (a few increments per statement), read by Client::metrics() as a snapshot.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/event_loop.hpp"
#include "enrich/client.hpp"
#include "enrich/error.hpp"
#include "enrich/metrics.hpp"

namespace enrich {

class LatencyHistogram {
 public:
  /// Upper bounds in seconds (Prometheus' `le`), the same for every latency family.
  static constexpr std::array<double, 14> kBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  void observe(Clock::duration d) noexcept;
  /// Appends `<name>_bucket{le=...}`, `<name>_sum` and `<name>_count` samples.
  void append(MetricFamily& family) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};  // the last: +Inf
  std::atomic<std::uint64_t> sum_ns_{0}, count_{0};
};

/// What the pools and HTTP clients count themselves, summed over the I/O threads.
struct MetricSources {
  PoolStats pool;
  std::uint64_t http_retries = 0, http_short_circuited = 0;
  std::uint64_t breakers_opened = 0, breakers_open = 0;
};

struct Metrics {
  std::atomic<std::uint64_t> statements{0}, statement_timeouts{0}, statement_retries{0};
  /// Single-flight: calls that joined an identical statement in flight, and of those, calls
  /// sent on their own after all because the shared result was over coalesce_max_result_bytes.
  std::atomic<std::uint64_t> statements_coalesced{0}, coalesce_too_large{0};
  /// Batching (pg/batcher.hpp): statements answered from a batch, batched statements sent, and
  /// statements sent on their own after their batch failed.
  std::atomic<std::uint64_t> statements_batched{0}, batches{0}, batch_fallbacks{0};
  std::atomic<std::uint64_t> plans_ok{0}, plans_failed{0};
  std::atomic<std::uint64_t> http_by_class[6] = {};  // [0]: transport errors, [1..5]: 1xx..5xx
  LatencyHistogram pool_wait, statement, http, plan;

  /// A failed statement, by kind and SQLSTATE class (rare: a mutex is fine).
  void statement_failed(ErrorCode code, const std::string& sqlstate);
  void http_done(long status, bool ok, Clock::duration elapsed) noexcept;

  /// Every family (docs/observability.md): these counters and histograms plus `sources`.
  std::vector<MetricFamily> families(const MetricSources& sources) const;

 private:
  mutable std::mutex errors_mu_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> errors_;
};

}  // namespace enrich
