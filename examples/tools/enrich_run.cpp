// enrich-run: runs a plan file and prints its JSON document; or, with --repeat, runs it many
// times (or for a timed window) with random integer inputs and prints throughput and latency.
//
//   enrich-run plan.json --dsn postgresql://... --profile node userId=42 includeAnalytics=true
//   enrich-run plan.json --repeat 100000 --concurrency 64 --random userId=1:100000
//   enrich-run examples/plans/user_enriched_coalesce.json --duration 10 --zipf 1.1
//     --random userId=1:100000    (the hot-key workload: Zipf-distributed ids, fixed seed)

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <enrich/enrich.hpp>
#include <limits>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

void usage() {
  std::fprintf(
      stderr,
      "usage: enrich-run PLAN.json [name=value ...] [options]\n"
      "  --dsn DSN             Postgres connection string (default: $DATABASE_URL)\n"
      "  --replica DSN         a read replica, repeatable (default: $DATABASE_REPLICA_URL,\n"
      "                        connection strings separated by whitespace)\n"
      "  --profile P           JSON profile: postgres, node or python (default: the plan's)\n"
      "  --var NAME=VALUE      value for ${NAME} in the plan (default: the environment)\n"
      "  --connections N       pool size (default 8)\n"
      "  --io-threads N        I/O threads (default 1)\n"
      "  --timeout-ms N        caller deadline per run\n"
      "  --repeat N            run N times and print throughput instead of the document\n"
      "  --duration S          like --repeat, but for S seconds after --warmup (timed window)\n"
      "  --warmup S            seconds of runs before the --duration window (default 0)\n"
      "  --concurrency C       runs in flight with --repeat/--duration (default 64)\n"
      "  --random NAME=LO:HI   a random integer input per run, with --repeat\n"
      "  --zipf S              --random values Zipf-distributed with exponent S (LO the most\n"
      "                        frequent; fixed seed): a hot-key workload\n"
      "  --quiet               with --repeat: only the JSON summary line\n");
}

struct RandomInput {
  std::string name;
  std::int64_t lo, hi;
};

/// Ranks 1..n with P(k) proportional to 1/k^s (inverse transform over the cumulative weights).
class Zipf {
 public:
  Zipf(std::int64_t n, double s) : cdf_(static_cast<std::size_t>(n)) {
    double total = 0;
    for (std::size_t k = 0; k < cdf_.size(); ++k)
      cdf_[k] = total += 1.0 / std::pow(static_cast<double>(k + 1), s);
    for (double& c : cdf_) c /= total;
  }
  /// 0-based rank.
  std::int64_t operator()(std::mt19937_64& rng) const {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
    return std::min<std::int64_t>(it - cdf_.begin(), static_cast<std::int64_t>(cdf_.size()) - 1);
  }

 private:
  std::vector<double> cdf_;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::size_t k =
      std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// How --repeat / --duration run: a fixed number of runs, or as many as fit in a timed window
// after a warm-up (only runs that complete inside the window count, and CPU is sampled at the
// window's edges, so connection set-up and the warm-up are left out).
struct RepeatSpec {
  long total = 0;         // > 0: run exactly this many
  double warmup_s = 0;    // with duration_s
  double duration_s = 0;  // > 0: timed window instead of a count
  int concurrency = 64;
  double zipf_s = 0;  // > 0: --random values are Zipf-distributed
};

int repeat(enrich::Client& client, const enrich::Plan& plan, const enrich::Inputs& fixed,
           const std::vector<RandomInput>& randoms, const RepeatSpec& spec,
           const enrich::RunOptions& options, bool quiet) {
  const bool timed = spec.duration_s > 0;
  const long limit = timed ? std::numeric_limits<long>::max() : spec.total;
  std::mutex mu;
  std::vector<double> latencies;
  if (!timed) latencies.reserve(static_cast<std::size_t>(spec.total));
  std::atomic<long> started{0}, done{0}, errors{0};
  std::atomic<bool> stop{false}, window_open{!timed};
  std::string first_error;
  std::mt19937_64 rng(42);
  std::vector<Zipf> zipfs;
  if (spec.zipf_s > 0)
    for (const auto& r : randoms) zipfs.emplace_back(r.hi - r.lo + 1, spec.zipf_s);
  std::mutex done_mu;
  std::condition_variable done_cv;

  // Each "caller" starts its next run from the completion of the previous one (on the I/O
  // thread): no thread per caller.
  std::function<void()> launch = [&] {
    if (stop.load() || started.fetch_add(1) >= limit) return;
    enrich::Inputs inputs = fixed;
    {
      std::lock_guard lock(mu);
      for (std::size_t i = 0; i < randoms.size(); ++i) {
        const auto& r = randoms[i];
        inputs[r.name] = zipfs.empty()
                             ? std::uniform_int_distribution<std::int64_t>(r.lo, r.hi)(rng)
                             : r.lo + zipfs[i](rng);
      }
    }
    auto t0 = std::chrono::steady_clock::now();
    client.run(plan, std::move(inputs), options)
        .subscribe([&, t0](enrich::Result<enrich::PlanOutput> r) {
          double ms =
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                  .count();
          {
            std::lock_guard lock(mu);
            if (window_open.load()) latencies.push_back(ms);
            if (!r.ok()) {
              ++errors;
              if (first_error.empty()) first_error = r.error().to_string();
            }
          }
          launch();
          std::lock_guard lock(done_mu);
          done.fetch_add(1);
          done_cv.notify_all();
        });
  };
  auto clock_start = std::chrono::steady_clock::now();
  double cpu0 = cpu_seconds();
  auto t0 = clock_start;
  for (int i = 0; i < spec.concurrency; ++i) launch();
  if (timed) {
    std::this_thread::sleep_until(clock_start + std::chrono::duration<double>(spec.warmup_s));
    {
      std::lock_guard lock(mu);
      window_open = true;
      cpu0 = cpu_seconds();
      t0 = std::chrono::steady_clock::now();
    }
    std::this_thread::sleep_until(t0 + std::chrono::duration<double>(spec.duration_s));
  }
  double seconds = 0, cpu = 0;
  long counted = 0;
  auto close_window = [&] {
    std::lock_guard lock(mu);
    window_open = false;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu = cpu_seconds() - cpu0;
    counted = static_cast<long>(latencies.size());
  };
  if (timed) {
    close_window();
    stop = true;
  }
  {
    std::unique_lock lock(done_mu);  // every run in flight completes before the client goes
    done_cv.wait(lock, [&] { return done.load() >= std::min(started.load(), limit); });
  }
  if (!timed) close_window();
  std::lock_guard lock(mu);
  double p50 = percentile(latencies, 0.50), p90 = percentile(latencies, 0.90),
         p99 = percentile(latencies, 0.99);
  double rate = seconds > 0 ? static_cast<double>(counted) / seconds : 0;
  double cpu_us = counted > 0 ? cpu * 1e6 / static_cast<double>(counted) : 0;
  long total = done.load();
  if (!quiet)
    std::printf(
        "%ld plans in %.2f s: %.0f plans/s, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
        "client CPU %.1f us/plan, errors %ld\n",
        counted, seconds, rate, p50, p90, p99, cpu_us, errors.load());
  std::printf(
      "{\"plans\":%ld,\"seconds\":%.3f,\"plans_per_s\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"cpu_us_per_plan\":%.2f,\"errors\":%ld,\"runs\":%ld}\n",
      counted, seconds, rate, p50, p90, p99, cpu_us, errors.load(), total);
  if (errors > 0) {
    std::fprintf(stderr, "enrich-run: %ld of %ld runs failed; first error: %s\n", errors.load(),
                 total, first_error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string plan_path, dsn;
  if (const char* env = std::getenv("DATABASE_URL")) dsn = env;
  std::vector<std::string> replicas;
  if (const char* env = std::getenv("DATABASE_REPLICA_URL")) replicas = enrich::split_dsn_list(env);
  bool replicas_from_args = false;
  std::optional<enrich::JsonProfile> profile;
  enrich::PlanVariables vars;
  enrich::Inputs inputs;
  std::vector<RandomInput> randoms;
  RepeatSpec repeat_spec;
  int timeout_ms = 0;
  std::size_t connections = 8, io_threads = 1;
  bool quiet = false;

  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "enrich-run: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--dsn") {
      dsn = next();
    } else if (a == "--replica") {
      if (!replicas_from_args) replicas.clear();  // the command line replaces the environment
      replicas_from_args = true;
      replicas.push_back(next());
    } else if (a == "--profile") {
      auto p = enrich::parse_json_profile(next());
      if (!p.ok()) {
        std::fprintf(stderr, "enrich-run: %s\n", p.error().message.c_str());
        return 2;
      }
      profile = p.value();
    } else if (a == "--var") {
      std::string kv = next();
      auto eq = kv.find('=');
      if (eq == std::string::npos) {
        std::fprintf(stderr, "enrich-run: --var takes NAME=VALUE\n");
        return 2;
      }
      vars[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (a == "--connections") {
      connections = std::stoul(next());
    } else if (a == "--io-threads") {
      io_threads = std::stoul(next());
    } else if (a == "--timeout-ms") {
      timeout_ms = std::stoi(next());
    } else if (a == "--repeat") {
      repeat_spec.total = std::stol(next());
    } else if (a == "--duration") {
      repeat_spec.duration_s = std::stod(next());
    } else if (a == "--warmup") {
      repeat_spec.warmup_s = std::stod(next());
    } else if (a == "--concurrency") {
      repeat_spec.concurrency = std::stoi(next());
    } else if (a == "--zipf") {
      repeat_spec.zipf_s = std::stod(next());
      if (!(repeat_spec.zipf_s > 0)) {
        std::fprintf(stderr, "enrich-run: --zipf takes an exponent above 0\n");
        return 2;
      }
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "--random") {
      std::string spec = next();
      auto eq = spec.find('='), colon = spec.find(':');
      if (eq == std::string::npos || colon == std::string::npos || colon < eq) {
        std::fprintf(stderr, "enrich-run: --random takes NAME=LO:HI\n");
        return 2;
      }
      randoms.push_back({spec.substr(0, eq), std::stoll(spec.substr(eq + 1, colon - eq - 1)),
                         std::stoll(spec.substr(colon + 1))});
    } else if (a.starts_with("--")) {
      std::fprintf(stderr, "enrich-run: unknown option %s\n", a.c_str());
      usage();
      return 2;
    } else if (auto eq = a.find('='); eq != std::string::npos && !plan_path.empty()) {
      inputs[a.substr(0, eq)] = a.substr(eq + 1);  // typed by the plan's declarations
    } else if (plan_path.empty()) {
      plan_path = a;
    } else {
      std::fprintf(stderr, "enrich-run: unexpected argument %s\n", a.c_str());
      return 2;
    }
  }
  if (plan_path.empty()) {
    usage();
    return 2;
  }
  auto plan = enrich::Plan::load(plan_path, vars);
  if (!plan.ok()) {
    std::fprintf(stderr, "enrich-run: %s\n", plan.error().message.c_str());
    return 1;
  }
  enrich::ClientOptions options;
  options.dsn = dsn;
  options.replica_dsns = replicas;
  options.io_threads = io_threads;
  options.pool.max_connections = std::max(connections, io_threads);
  auto client = enrich::Client::create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "enrich-run: %s\n", client.error().to_string().c_str());
    return 1;
  }
  enrich::RunOptions run_options;
  run_options.profile = profile;
  if (timeout_ms > 0)
    run_options.deadline = enrich::Deadline::after(enrich::Milliseconds(timeout_ms));

  if (repeat_spec.total > 0 || repeat_spec.duration_s > 0)
    return repeat(*client.value(), plan.value(), inputs, randoms, repeat_spec, run_options, quiet);

  auto result = client.value()->run(plan.value(), inputs, run_options).get();
  if (!result.ok()) {
    std::fprintf(stderr, "enrich-run: %s\n", result.error().to_string().c_str());
    return 1;
  }
  for (const auto& w : result.value().warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::printf("%s\n", result.value().json.c_str());
  return 0;
}
