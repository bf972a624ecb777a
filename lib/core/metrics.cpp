#include "core/metrics.hpp"

#include <fmt/format.h>

#include <initializer_list>

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

namespace {

double value_of(const std::atomic<std::uint64_t>& a) {
  return static_cast<double>(a.load(std::memory_order_relaxed));
}

MetricFamily family(const char* name, const char* type, const char* help) {
  return MetricFamily{name, type, help, {}};
}

void sample(MetricFamily& f, double value,
            std::vector<std::pair<std::string, std::string>> labels = {}) {
  f.samples.push_back({f.name, std::move(labels), value});
}

}  // namespace

std::vector<MetricFamily> Metrics::families(const MetricSources& s) const {
  std::vector<MetricFamily> out;
  const PoolStats& pool = s.pool;

  auto conns = family("enrich_pool_connections", "gauge", "Connections to Postgres by state");
  sample(conns, double(pool.connections), {{"pool", "primary"}, {"state", "open"}});
  sample(conns, double(pool.idle), {{"pool", "primary"}, {"state", "idle"}});
  sample(conns, double(pool.in_transaction), {{"pool", "primary"}, {"state", "in_transaction"}});
  sample(conns, double(pool.replica_connections), {{"pool", "replica"}, {"state", "open"}});
  out.push_back(std::move(conns));

  // The families with one unlabelled sample, in documentation order.
  struct Single {
    const char* name;
    const char* type;
    const char* help;
    double value;
  };
  auto add_singles = [&out](std::initializer_list<Single> families) {
    for (const Single& f : families) {
      out.push_back(family(f.name, f.type, f.help));
      sample(out.back(), f.value);
    }
  };
  add_singles({
      {"enrich_pool_in_flight", "gauge", "Statements sent and not yet answered",
       double(pool.in_flight)},
      {"enrich_pool_waiting", "gauge", "Statements waiting for a connection", double(pool.waiting)},
      {"enrich_pool_connects_total", "counter", "Connections opened", double(pool.connects)},
      {"enrich_pool_connect_failures_total", "counter", "Connection attempts that failed",
       double(pool.connect_failures)},
      {"enrich_statements_total", "counter", "Statements answered by a server",
       value_of(statements)},
  });

  auto errors = family("enrich_statement_errors_total", "counter",
                       "Failed statements by error kind and SQLSTATE class");
  {
    std::lock_guard lock(errors_mu_);
    for (const auto& [key, n] : errors_)
      sample(errors, double(n), {{"kind", key.first}, {"sqlstate_class", key.second}});
  }
  out.push_back(std::move(errors));

  add_singles({
      {"enrich_statement_timeouts_total", "counter",
       "Statements that timed out (waiting or running)", value_of(statement_timeouts)},
      {"enrich_statement_retries_total", "counter",
       "Statements sent again: stale prepared statement, aborted group, 25006",
       value_of(statement_retries)},
      {"enrich_statements_coalesced_total", "counter",
       "Statements that joined an identical statement in flight instead of being sent",
       value_of(statements_coalesced)},
      {"enrich_statements_coalesce_too_large_total", "counter",
       "Coalesced statements sent on their own: the shared result was over "
       "coalesce_max_result_bytes",
       value_of(coalesce_too_large)},
      {"enrich_statements_batched_total", "counter",
       "Statements answered from one statement over the keys of several callers",
       value_of(statements_batched)},
      {"enrich_batches_total", "counter", "Batched statements sent", value_of(batches)},
      {"enrich_batch_fallbacks_total", "counter",
       "Statements sent on their own after their batch failed", value_of(batch_fallbacks)},
      {"enrich_cancels_sent_total", "counter", "Cancel requests sent to servers",
       double(pool.cancels_sent)},
      {"enrich_replica_reads_total", "counter", "Statements sent to replicas",
       double(pool.replica_reads)},
      {"enrich_replica_fallbacks_total", "counter",
       "Reads that went to the primary instead of a replica", double(pool.replica_fallbacks)},
  });

  auto requests = family("enrich_http_requests_total", "counter",
                         "HTTP requests by status class (error: no response)");
  static constexpr const char* kClasses[] = {"error", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < 6; ++i)
    sample(requests, value_of(http_by_class[i]), {{"status_class", kClasses[i]}});
  out.push_back(std::move(requests));

  add_singles({
      {"enrich_http_retries_total", "counter", "HTTP retries started", double(s.http_retries)},
      {"enrich_http_short_circuited_total", "counter", "HTTP requests refused by an open circuit",
       double(s.http_short_circuited)},
      {"enrich_http_breaker_opened_total", "counter", "Circuit breaker transitions to open",
       double(s.breakers_opened)},
      {"enrich_http_breakers_open", "gauge", "Hosts whose circuit breaker is open or half-open",
       double(s.breakers_open)},
  });

  auto plans = family("enrich_plans_total", "counter", "Plan runs by outcome");
  sample(plans, value_of(plans_ok), {{"outcome", "ok"}});
  sample(plans, value_of(plans_failed), {{"outcome", "error"}});
  out.push_back(std::move(plans));

  struct Latency {
    const char* name;
    const char* help;
    const LatencyHistogram& h;
  };
  const Latency latencies[] = {
      {"enrich_pool_wait_seconds", "Time from the pool taking a statement to sending it",
       pool_wait},
      {"enrich_statement_duration_seconds", "Round trip of a statement, from sending to its result",
       statement},
      {"enrich_http_request_duration_seconds", "HTTP requests, retries included", http},
      {"enrich_plan_duration_seconds", "Plan runs, from start to document or error", plan},
  };
  for (const Latency& l : latencies) {
    out.push_back(family(l.name, "histogram", l.help));
    l.h.append(out.back());
  }
  return out;
}

}  // namespace enrich
