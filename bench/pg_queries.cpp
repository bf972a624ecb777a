// The article's enrichment workload against the seeded tables (scripts/seed): per enrichment,
// three independent queries for one random user id, run concurrently through the pooled,
// pipelined client:
//
//   SELECT * FROM users WHERE id = $1
//   SELECT * FROM user_preferences WHERE user_id = $1
//   SELECT * FROM activity_log WHERE user_id = $1 ORDER BY created_at DESC LIMIT 10
//
// C callers (--concurrency) each start their next enrichment as soon as the previous one
// finished: a closed loop built from future continuations (when_all(...).subscribe), so no
// thread per caller. Continuations run on the client's I/O thread and never block; the main
// thread only sleeps and reads counters.
//
// Measured over the window after --warmup: enrichments/s, queries/s, latency per enrichment
// (p50/p90/p99/max), errors, and the process's CPU time (getrusage user+sys) per enrichment.
// Prints a human readable line, then one JSON line (starting with '{'). Exit status 1 when any
// error occurred.
//
//   enrich_bench_pg_queries [--dsn DSN] [--concurrency 64] [--connections 16] [--io-threads 1]
//                           [--duration 10] [--warmup 3] [--users 100000] [--pipeline-depth 64]

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <enrich/enrich.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr const char* kUserSql = "SELECT * FROM users WHERE id = $1";
constexpr const char* kPrefsSql = "SELECT * FROM user_preferences WHERE user_id = $1";
constexpr const char* kActivitySql =
    "SELECT * FROM activity_log WHERE user_id = $1 ORDER BY created_at DESC LIMIT 10";

struct Options {
  std::string dsn;
  std::size_t concurrency = 64;
  std::size_t connections = 16;
  std::size_t io_threads = 1;
  std::size_t pipeline_depth = 64;
  double duration = 10;
  double warmup = 3;
  std::int64_t users = 100000;
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--dsn DSN] [--concurrency N] [--connections N] [--io-threads N]\n"
               "          [--duration SECONDS] [--warmup SECONDS] [--users N] "
               "[--pipeline-depth N]\n"
               "DSN defaults to $DATABASE_URL, else the scripts/pg server.\n",
               argv0);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  if (const char* env = std::getenv("DATABASE_URL"); env && *env) o.dsn = env;
  if (o.dsn.empty()) o.dsn = "postgresql://enrich:enrich@127.0.0.1:54329/enrich";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (arg == "-h" || arg == "--help") {
      usage(argv[0]);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      usage(argv[0]);
    }
    auto count = [&]() -> std::size_t {
      char* end = nullptr;
      unsigned long long v = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || v == 0) usage(argv[0]);
      return static_cast<std::size_t>(v);
    };
    auto seconds = [&]() -> double {
      char* end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || v < 0) usage(argv[0]);
      return v;
    };
    if (arg == "--dsn")
      o.dsn = value;
    else if (arg == "--concurrency")
      o.concurrency = count();
    else if (arg == "--connections")
      o.connections = count();
    else if (arg == "--io-threads")
      o.io_threads = count();
    else if (arg == "--pipeline-depth")
      o.pipeline_depth = count();
    else if (arg == "--duration")
      o.duration = seconds();
    else if (arg == "--warmup")
      o.warmup = seconds();
    else if (arg == "--users")
      o.users = static_cast<std::int64_t>(count());
    else
      usage(argv[0]);
  }
  if (o.duration <= 0) usage(argv[0]);
  return o;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

/// Shared by all callers. Counters are touched from the I/O thread(s), read by main.
struct Bench {
  enrich::Client* client = nullptr;
  std::int64_t users = 0;
  std::atomic<bool> stop{false};
  std::atomic<bool> recording{false};
  std::atomic<std::uint64_t> enrichments{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> rows{0};
  std::atomic<std::size_t> active{0};
  std::mutex mu;  // guards the fields below and the wake-up of main at the end
  std::condition_variable all_done;
  std::map<std::string, std::uint64_t> error_kinds;
};

/// One closed-loop caller. Only one of its enrichments is in flight at a time, so its fields
/// are touched by one thread at a time (handed over through the future's completion).
struct Caller {
  Bench* bench = nullptr;
  std::mt19937_64 rng;
  std::vector<std::uint32_t> latencies_us;
  bool completed_inline = false;
};

// The caller whose enrichment this thread is starting right now: a continuation that runs
// inline (future already complete) must not recurse into start() but let the loop in run() go on.
thread_local Caller* t_starting = nullptr;

void record_error(Bench& b, const enrich::Error& e) {
  b.errors.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(b.mu);
  ++b.error_kinds[e.to_string()];
}

void finish_caller(Bench& b) {
  if (b.active.fetch_sub(1) == 1) {
    std::lock_guard lock(b.mu);
    b.all_done.notify_all();
  }
}

void on_done(Caller& c, SteadyClock::time_point started,
             std::tuple<enrich::Result<enrich::QueryResult>, enrich::Result<enrich::QueryResult>,
                        enrich::Result<enrich::QueryResult>>& results) {
  Bench& b = *c.bench;
  auto& [user, prefs, activity] = results;
  bool ok = true;
  std::uint64_t rows = 0;
  for (auto* r : {&user, &prefs, &activity}) {
    if (!r->ok()) {
      record_error(b, r->error());
      ok = false;
    } else {
      rows += r->value().size();
    }
  }
  // Every id in [1, users] exists (scripts/seed); a missing user means a wrong --users or seed.
  if (ok && user.value().size() != 1) {
    record_error(b, enrich::Error{enrich::ErrorCode::not_found,
                                  "users query returned " + std::to_string(user.value().size()) +
                                      " rows (seeded with fewer users than --users?)"});
    ok = false;
  }
  if (ok) {
    b.enrichments.fetch_add(1, std::memory_order_relaxed);
    b.rows.fetch_add(rows, std::memory_order_relaxed);
    if (b.recording.load(std::memory_order_relaxed)) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started)
                    .count();
      c.latencies_us.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(us, UINT32_MAX)));
    }
  }
}

void start(Caller& c);

/// Starts enrichments for `c` until one completes asynchronously (or the bench stops).
void run(Caller& c) {
  do {
    c.completed_inline = false;
    Caller* outer = t_starting;
    t_starting = &c;
    start(c);
    t_starting = outer;
  } while (c.completed_inline);
}

void start(Caller& c) {
  Bench& b = *c.bench;
  if (b.stop.load(std::memory_order_relaxed)) {
    finish_caller(b);
    return;
  }
  std::uniform_int_distribution<std::int64_t> pick(1, b.users);
  std::int64_t id = pick(c.rng);
  auto started = SteadyClock::now();
  enrich::when_all(b.client->query(kUserSql, {id}), b.client->query(kPrefsSql, {id}),
                   b.client->query(kActivitySql, {id}))
      .subscribe([&c, started](auto results) {
        if (!results.ok()) {
          record_error(*c.bench, results.error());
        } else {
          on_done(c, started, results.value());
        }
        if (t_starting == &c) {
          c.completed_inline = true;  // run() loops instead of recursing
          return;
        }
        run(c);
      });
}

double percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_options(argc, argv);

  std::atomic<std::uint64_t> log_warnings{0};
  enrich::ClientOptions co;
  co.dsn = opt.dsn;
  co.io_threads = opt.io_threads;
  co.pool.max_connections = opt.connections;
  co.pool.min_connections = opt.connections;  // all open from the start
  co.pool.max_pipeline_depth = opt.pipeline_depth;
  co.log_level = enrich::LogLevel::warning;
  co.log_sink = [&log_warnings, sink = enrich::stderr_json_sink()](const enrich::LogEvent& e) {
    log_warnings.fetch_add(1, std::memory_order_relaxed);
    sink(e);
  };
  auto created = enrich::Client::create(co);
  if (!created.ok()) {
    std::fprintf(stderr, "error: %s\n", created.error().to_string().c_str());
    return 2;
  }
  auto client = std::move(created).value();

  // Check the data first, so a missing seed fails clearly instead of as millions of errors.
  auto check =
      client->query("SELECT count(*) FROM users WHERE id BETWEEN 1 AND $1", {opt.users}).get();
  if (!check.ok()) {
    std::fprintf(stderr, "error: %s (did you run scripts/seed?)\n",
                 check.error().to_string().c_str());
    return 2;
  }
  if (check->row(0).get<std::int64_t>(0) != opt.users) {
    std::fprintf(
        stderr, "error: users 1..%lld are not all there (%s rows); run scripts/seed --users %lld\n",
        static_cast<long long>(opt.users), std::string(check->row(0).text(0)).c_str(),
        static_cast<long long>(opt.users));
    return 2;
  }

  Bench bench;
  bench.client = client.get();
  bench.users = opt.users;
  std::vector<std::unique_ptr<Caller>> callers;
  std::seed_seq seeds{20240611u};
  std::vector<std::uint32_t> caller_seeds(opt.concurrency);
  seeds.generate(caller_seeds.begin(), caller_seeds.end());
  for (std::size_t i = 0; i < opt.concurrency; ++i) {
    auto c = std::make_unique<Caller>();
    c->bench = &bench;
    c->rng.seed(caller_seeds[i]);
    c->latencies_us.reserve(1 << 16);
    callers.push_back(std::move(c));
  }

  auto t0 = SteadyClock::now();
  bench.active = callers.size();
  for (auto& c : callers) run(*c);

  auto sleep_until = [&](double seconds) {
    std::this_thread::sleep_until(t0 + std::chrono::duration_cast<SteadyClock::duration>(
                                           std::chrono::duration<double>(seconds)));
  };
  sleep_until(opt.warmup);
  bench.recording = true;
  auto w_start = SteadyClock::now();
  double cpu_start = cpu_seconds();
  std::uint64_t n_start = bench.enrichments.load();
  std::uint64_t e_start = bench.errors.load();
  std::uint64_t rows_start = bench.rows.load();

  sleep_until(opt.warmup + opt.duration);
  auto w_end = SteadyClock::now();
  double cpu_end = cpu_seconds();
  std::uint64_t n_end = bench.enrichments.load();
  std::uint64_t e_end = bench.errors.load();
  std::uint64_t rows_end = bench.rows.load();
  bench.recording = false;
  auto stats = client->stats();

  // Let every caller finish its current enrichment, then read what they recorded.
  bench.stop = true;
  {
    std::unique_lock lock(bench.mu);
    if (!bench.all_done.wait_for(lock, std::chrono::seconds(30),
                                 [&] { return bench.active == 0; })) {
      std::fprintf(stderr, "error: %zu callers did not finish within 30 s of the end\n",
                   bench.active.load());
      std::_Exit(3);
    }
  }
  std::vector<std::uint32_t> lat;
  for (auto& c : callers) lat.insert(lat.end(), c->latencies_us.begin(), c->latencies_us.end());
  std::sort(lat.begin(), lat.end());
  std::uint64_t total_errors = bench.errors.load();
  client->close();

  double window = std::chrono::duration<double>(w_end - w_start).count();
  double n = static_cast<double>(n_end - n_start);
  double eps = n / window;
  double cpu = cpu_end - cpu_start;
  double cpu_us = n > 0 ? cpu * 1e6 / n : 0;
  double p50 = percentile(lat, 50), p90 = percentile(lat, 90), p99 = percentile(lat, 99);
  double pmax = lat.empty() ? 0 : lat.back();
  double rows_per = n > 0 ? static_cast<double>(rows_end - rows_start) / n : 0;

  std::printf(
      "enrich pg_queries: %.0f enrichments/s (%.0f queries/s) over %.1f s, concurrency %zu, "
      "%zu connections (%zu open), %zu io thread(s); latency p50 %.0f us, p90 %.0f us, p99 %.0f "
      "us, max %.0f us; client CPU %.1f us/enrichment (%.2f cores); %.1f rows/enrichment; errors "
      "%llu (window %llu)\n",
      eps, 3 * eps, window, opt.concurrency, opt.connections, stats.connections, opt.io_threads,
      p50, p90, p99, pmax, cpu_us, cpu / window, rows_per,
      static_cast<unsigned long long>(total_errors),
      static_cast<unsigned long long>(e_end - e_start));
  std::printf(
      "{\"bench\":\"pg_queries\",\"concurrency\":%zu,\"connections\":%zu,\"io_threads\":%zu,"
      "\"pipeline_depth\":%zu,\"users\":%lld,\"warmup_s\":%.3f,\"window_s\":%.3f,"
      "\"enrichments\":%llu,\"enrichments_per_s\":%.1f,\"queries_per_s\":%.1f,"
      "\"latency_us\":{\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"max\":%.0f},"
      "\"client_cpu_s\":%.4f,\"client_cpu_us_per_enrichment\":%.2f,\"rows_per_enrichment\":%.2f,"
      "\"errors\":%llu,\"log_warnings\":%llu}\n",
      opt.concurrency, opt.connections, opt.io_threads, opt.pipeline_depth,
      static_cast<long long>(opt.users), opt.warmup, window,
      static_cast<unsigned long long>(n_end - n_start), eps, 3 * eps, p50, p90, p99, pmax, cpu,
      cpu_us, rows_per, static_cast<unsigned long long>(total_errors),
      static_cast<unsigned long long>(log_warnings.load()));
  std::fflush(stdout);

  if (total_errors > 0) {
    std::fprintf(stderr, "\n!!! %llu ERRORS during the benchmark !!!\n",
                 static_cast<unsigned long long>(total_errors));
    for (auto& [what, count] : bench.error_kinds)
      std::fprintf(stderr, "  %llu x %s\n", static_cast<unsigned long long>(count), what.c_str());
    return 1;
  }
  if (n == 0) {
    std::fprintf(stderr, "error: no enrichment completed in the measurement window\n");
    return 1;
  }
  return 0;
}
