#include "core/metrics.hpp"

#include <fmt/format.h>

namespace enrich {

void LatencyHistogram::observe(Clock::duration d) noexcept {
  double seconds = std::chrono::duration<double>(d).count();
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(
                        0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count())),
                    std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void LatencyHistogram::append(MetricFamily& family) const {
  // Cumulative, as Prometheus wants them; read once each so that the buckets add up.
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = i < kBounds.size() ? fmt::format("{}", kBounds[i]) : "+Inf";
    family.samples.push_back({family.name + "_bucket", {{"le", le}}, double(cumulative)});
  }
  family.samples.push_back(
      {family.name + "_sum", {}, double(sum_ns_.load(std::memory_order_relaxed)) / 1e9});
  family.samples.push_back({family.name + "_count", {}, double(cumulative)});
}

void Metrics::statement_failed(ErrorCode code, const std::string& sqlstate) {
  std::lock_guard lock(errors_mu_);
  ++errors_[{std::string(to_string(code)), sqlstate.size() >= 2 ? sqlstate.substr(0, 2) : ""}];
}

void Metrics::http_done(long status, bool ok, Clock::duration elapsed) noexcept {
  std::size_t cls =
      ok && status >= 100 && status < 600 ? static_cast<std::size_t>(status / 100) : 0;
  http_by_class[cls].fetch_add(1, std::memory_order_relaxed);
  http.observe(elapsed);
}

std::map<std::pair<std::string, std::string>, std::uint64_t> Metrics::errors() const {
  std::lock_guard lock(errors_mu_);
  return errors_;
}

}  // namespace enrich
