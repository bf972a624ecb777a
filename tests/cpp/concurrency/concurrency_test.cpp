// Concurrency: many threads, many queries, cancellation races, destruction under load.
// Built as enrich_concurrency_tests (ctest label `concurrency`), also run under ThreadSanitizer,
// so waits are generous; they still bound every wait so a bug fails instead of hanging.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "enrich/client.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;
using test::Stopwatch;

class ConcurrencyTest : public test::PgTest {};

TEST_F(ConcurrencyTest, TenThousandQueriesFromFourThreadsAllCorrect) {
  auto opts = test::client_options();
  opts.pool.max_connections = 4;
  opts.pool.min_connections = 4;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  std::atomic<int> wrong{0}, failed{0}, timed_out{0};
  std::mutex first_error_mu;
  std::string first_error;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Future<QueryResult>> futures;
      futures.reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) {
        std::int64_t v = static_cast<std::int64_t>(t) * 1000000000LL + i;
        futures.push_back(client->query("SELECT $1::int8 * 2", {v}));
      }
      auto until = std::chrono::steady_clock::now() + 120s;
      for (int i = 0; i < kPerThread; ++i) {
        std::int64_t v = static_cast<std::int64_t>(t) * 1000000000LL + i;
        if (!futures[i].wait_for(until - std::chrono::steady_clock::now())) {
          timed_out++;
          continue;
        }
        auto r = futures[i].get();
        if (!r.ok()) {
          if (failed++ == 0) {
            std::lock_guard lock(first_error_mu);
            first_error = r.error().to_string();
          }
          continue;
        }
        auto got = r->row(0).try_get<std::int64_t>(0);
        if (!got.ok() || *got != 2 * v) wrong++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(timed_out.load(), 0);
  EXPECT_EQ(failed.load(), 0) << "first error: " << first_error;
  EXPECT_EQ(wrong.load(), 0);
  auto s = client->stats();
  EXPECT_LE(s.connections, 4u);
  EXPECT_TRUE(test::eventually([&] { return client->stats().in_flight == 0; }, 5s));
}

TEST_F(ConcurrencyTest, CancelRacingCompletionCompletesEachFutureExactlyOnce) {
  constexpr int kQueries = 2000;
  struct Slot {
    std::atomic<int> completions{0};
    std::atomic<int> outcome{0};  // 1 = correct value, 2 = cancelled, 3 = other
  };
  // Declared before the client: callbacks may still run while the client is destroyed.
  auto slots = std::make_unique<Slot[]>(kQueries);
  std::vector<std::function<void()>> cancellers(kQueries);
  std::atomic<int> published{0};  // cancellers[0, published) are set
  std::atomic<int> done{0};

  auto opts = test::client_options();
  opts.pool.max_connections = 4;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);

  std::vector<std::thread> cancel_threads;
  for (int t = 0; t < 3; ++t) {
    cancel_threads.emplace_back([&, t] {
      std::mt19937 rng(1000 + t);
      int k = 0;
      while (k < kQueries) {
        int n = published.load(std::memory_order_acquire);
        if (n == 0) {
          std::this_thread::yield();
          continue;
        }
        int i = static_cast<int>(rng() % static_cast<unsigned>(n));
        if (rng() % 2) cancellers[i]();
        if (k % 100 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
        ++k;
      }
    });
  }

  for (int i = 0; i < kQueries; ++i) {
    auto f =
        client->query(i % 3 == 0 ? "SELECT pg_sleep(0.001), $1::int4" : "SELECT 0, $1::int4", {i});
    cancellers[i] = f.canceller();
    published.store(i + 1, std::memory_order_release);
    f.subscribe([&slots, &done, i](Result<QueryResult> r) {
      Slot& s = slots[i];
      if (r.ok()) {
        auto v = r->row(0).try_get<int>(1);
        s.outcome = (v.ok() && *v == i) ? 1 : 3;
      } else {
        s.outcome = r.error().code == ErrorCode::cancelled ? 2 : 3;
      }
      s.completions++;
      done++;
    });
  }
  for (auto& th : cancel_threads) th.join();

  bool all_done = test::eventually([&] { return done.load() >= kQueries; }, 60s, 10ms);
  ASSERT_TRUE(all_done) << "only " << done.load() << " of " << kQueries << " futures completed";

  // The client is still healthy, and nothing is stuck in the pool.
  auto r = test::run(*client, "SELECT 1", {}, {}, 30s);
  ASSERT_OK(r);
  EXPECT_TRUE(test::eventually(
      [&] {
        auto s = client->stats();
        return s.in_flight == 0 && s.waiting == 0;
      },
      10s));

  // Destroying the client joins its I/O threads (the cancelling threads are joined already):
  // a duplicate completion would have been delivered by then.
  client.reset();
  int values = 0, cancelled = 0, other = 0;
  for (int i = 0; i < kQueries; ++i) {
    EXPECT_EQ(slots[i].completions.load(), 1) << "future " << i;
    switch (slots[i].outcome.load()) {
      case 1:
        ++values;
        break;
      case 2:
        ++cancelled;
        break;
      default:
        ++other;
    }
  }
  EXPECT_EQ(other, 0) << "values=" << values << " cancelled=" << cancelled;
  EXPECT_EQ(done.load(), kQueries);
  EXPECT_GT(values, 0);
  EXPECT_GT(cancelled, 0) << "the cancel threads never won a race: the test did not test much";
}

// A cancel storm on a client of `opts` with 2 connections: each round queues `kQueries`
// statements (every other one a slow one), then cancels half of them at random while they wait or
// run. `sql_of(round, i)` gives the text of query i; each returns its own i in column 1.
struct CancelStorm {
  int uncancelled_failures = 0;  // failures of queries nobody cancelled (must be none)
  int cancelled = 0;             // cancelled queries that failed with `cancelled`
  std::string first_failure;
};

CancelStorm cancel_storm(ClientOptions opts, unsigned seed,
                         const std::function<std::string(int, int)>& sql_of) {
  opts.pool.max_connections = 2;
  opts.pool.acquire_timeout = 30s;
  auto client = test::connect(opts);
  CancelStorm out;
  if (!client) {
    out.first_failure = "no client";
    ++out.uncancelled_failures;
    return out;
  }
  constexpr int kRounds = 5;
  constexpr int kQueries = 200;
  std::mt19937 rng(seed);
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Future<QueryResult>> futures;
    std::vector<bool> cancel_requested(kQueries, false);
    for (int i = 0; i < kQueries; ++i) futures.push_back(client->query(sql_of(round, i), {i}));
    for (int i = 0; i < kQueries; ++i) {
      if (rng() % 2) {
        futures[i].cancel();
        cancel_requested[i] = true;
      }
      if (i % 40 == 0) std::this_thread::sleep_for(5ms);
    }
    for (int i = 0; i < kQueries; ++i) {
      auto r = test::wait_result(std::move(futures[i]), 60s);
      if (r.ok()) {
        EXPECT_EQ(r->row(0).get<int>(1), i);
      } else if (cancel_requested[i]) {
        EXPECT_EQ(r.error().code, ErrorCode::cancelled)
            << "query " << i << ": " << r.error().to_string();
        ++out.cancelled;
      } else if (out.uncancelled_failures++ == 0) {
        out.first_failure = "round " + std::to_string(round) + " query " + std::to_string(i) +
                            ": " + r.error().to_string();
      }
    }
  }
  return out;
}

std::string storm_sql(int i) {
  return i % 2 ? "SELECT pg_sleep(0.01), $1::int4" : "SELECT $1::int4, $1::int4";
}

TEST_F(ConcurrencyTest, CancellingQueriesNeverFailsTheirUncancelledNeighbours) {
  // A cancel request hits whatever runs on the backend when it arrives: a quick statement may
  // finish just before the request aimed at it gets there, and the statement after it is
  // cancelled instead. The client must make sure that a query nobody cancelled never fails
  // because of a neighbour's cancel.
  auto storm = cancel_storm(test::client_options(), 777, [](int, int i) { return storm_sql(i); });
  EXPECT_EQ(storm.uncancelled_failures, 0) << "first: " << storm.first_failure;
  EXPECT_GT(storm.cancelled, 0);
}

// The same storm with every statement a new one: each is prepared by the connection that sends
// it, so a neighbour's cancel can hit a statement whose Parse already succeeded. Sent again, it
// must reuse the prepared statement the server now holds (it once prepared it a second time and
// failed with 42P05, "prepared statement already exists").
TEST_F(ConcurrencyTest, CancelledNeighboursThatPreparedTheirStatementRunAgain) {
  auto opts = test::client_options();
  auto logs = test::LogCapture::make();
  opts.log_sink = logs->sink();
  opts.log_level = LogLevel::debug;
  std::string tag = test::unique_name("prep");
  auto storm = cancel_storm(opts, 4242, [&](int round, int i) {
    return storm_sql(i) + " /* " + tag + "_" + std::to_string(round) + "_" + std::to_string(i) +
           " */";
  });
  EXPECT_EQ(storm.uncancelled_failures, 0) << "first: " << storm.first_failure;
  int neighbour_retries = 0, named_off = 0;
  for (const auto& e : logs->events()) {
    if (e.name == "pg.named_statements_off") ++named_off;
    if (e.name == "pg.statement_retried")
      for (const auto& [k, v] : e.fields)
        neighbour_retries += k == "reason" && v == "neighbour cancel";
  }
  // A statement sent again must not be prepared a second time: that fails with 42P05 and turns
  // named statements off for the whole client.
  EXPECT_EQ(named_off, 0) << neighbour_retries
                          << " statements were sent again after a neighbour's cancel";
}

TEST_F(ConcurrencyTest, ClientDestroyedWhileQueriesAreInFlightFromOtherThreads) {
  auto opts = test::client_options();
  opts.pool.max_connections = 4;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto warm = test::run(*client, "SELECT 1");
  ASSERT_OK(warm);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  std::atomic<int> submitted_threads{0};
  std::atomic<int> ok{0}, cancelled{0}, other{0}, hung{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Future<QueryResult>> futures;
      for (int i = 0; i < kPerThread; ++i) {
        futures.push_back(client->query("SELECT pg_sleep(0.01), $1::int4", {t * kPerThread + i}));
      }
      submitted_threads++;
      for (int i = 0; i < kPerThread; ++i) {
        if (!futures[i].wait_for(30s)) {
          hung++;
          continue;
        }
        auto r = futures[i].get();
        if (r.ok()) {
          auto v = r->row(0).try_get<int>(1);
          if (v.ok() && *v == t * kPerThread + i)
            ok++;
          else
            other++;
        } else if (r.error().code == ErrorCode::cancelled) {
          cancelled++;
        } else {
          other++;
        }
      }
    });
  }
  // Destroy once every thread has submitted (no thread may touch the client afterwards).
  ASSERT_TRUE(test::eventually([&] { return submitted_threads.load() == kThreads; }, 30s));
  ASSERT_TRUE(test::eventually([&] { return client->stats().in_flight > 0; }, 10s))
      << "no query reached the server";
  Stopwatch sw;
  client.reset();
  auto destroy_ms = sw.ms();
  for (auto& th : threads) th.join();
  EXPECT_LT(destroy_ms, 10000);
  EXPECT_EQ(hung.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load() + cancelled.load(), kThreads * kPerThread);
  EXPECT_GT(cancelled.load(), 0) << "1,000 queries of 10 ms on 4 connections cannot all finish in "
                                    "20 ms; some must have been cancelled";
}

TEST_F(ConcurrencyTest, TransactionsFromSeveralThreads) {
  auto opts = test::client_options();
  opts.pool.max_connections = 4;
  opts.pool.acquire_timeout = 30s;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  std::string t = test::unique_name("enrich_t_conc_tx");
  auto create = test::run(*client, "CREATE TABLE " + t + " (id int PRIMARY KEY, n int NOT NULL)");
  ASSERT_OK(create);
  test::TableGuard guard(*client, t);
  auto seed = test::run(*client, "INSERT INTO " + t + " VALUES (1, 0)");
  ASSERT_OK(seed);
  std::string log_table = t + "_log";
  auto create_log = test::run(*client, "CREATE TABLE " + log_table + " (thread int, k int)");
  ASSERT_OK(create_log);
  test::TableGuard log_guard(*client, log_table);

  constexpr int kThreads = 6;
  constexpr int kPerThread = 20;
  std::atomic<int> committed{0}, failures{0};
  std::mutex err_mu;
  std::string first_error;
  auto record = [&](const Error& e) {
    if (failures++ == 0) {
      std::lock_guard lock(err_mu);
      first_error = e.to_string();
    }
  };
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int k = 0; k < kPerThread; ++k) {
        auto tx = test::wait_result(client->transaction(), 60s);
        if (!tx.ok()) {
          record(tx.error());
          continue;
        }
        auto lock = test::run(*tx, "SELECT n FROM " + t + " WHERE id = 1 FOR UPDATE", {}, {}, 60s);
        if (!lock.ok()) {
          record(lock.error());
          continue;
        }
        auto upd = tx->query("UPDATE " + t + " SET n = n + 1 WHERE id = 1");
        auto ins = tx->query("INSERT INTO " + log_table + " VALUES ($1, $2)", {th, k});
        auto ru = test::wait_result(std::move(upd), 60s);
        auto ri = test::wait_result(std::move(ins), 60s);
        if (!ru.ok() || !ri.ok()) {
          record(!ru.ok() ? ru.error() : ri.error());
          continue;
        }
        if (k % 4 == 3) {
          auto rb = test::wait_result(tx->rollback(), 60s);
          if (!rb.ok()) record(rb.error());
        } else {
          auto c = test::wait_result(tx->commit(), 60s);
          if (c.ok())
            committed++;
          else
            record(c.error());
        }
      }
    });
  }
  // Plain queries keep flowing meanwhile.
  for (int i = 0; i < 50; ++i) {
    auto r = test::run(*client, "SELECT $1::int4", {i}, {}, 60s);
    ASSERT_OK(r);
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0) << first_error;
  EXPECT_EQ(committed.load(), kThreads * kPerThread * 3 / 4);
  auto n = test::scalar_int(*client, "SELECT n::int8 FROM " + t + " WHERE id = 1");
  ASSERT_OK(n);
  EXPECT_EQ(*n, committed.load());
  auto logged = test::scalar_int(*client, "SELECT count(*) FROM " + log_table);
  ASSERT_OK(logged);
  EXPECT_EQ(*logged, committed.load());
  EXPECT_TRUE(test::eventually([&] { return client->stats().in_transaction == 0; }, 5s));
}

TEST_F(ConcurrencyTest, StatsCanBeReadWhileQueriesRun) {
  auto opts = test::client_options();
  opts.pool.max_connections = 3;
  opts.io_threads = 2;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      auto s = client->stats();
      EXPECT_LE(s.connections, 3u);
      std::this_thread::sleep_for(1ms);
    }
  });
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < 200; ++i) {
        auto r = test::run(*client, "SELECT $1::int4", {w * 1000 + i}, {}, 30s);
        if (!r.ok() || r->row(0).get<int>(0) != w * 1000 + i) failures++;
      }
    });
  }
  for (auto& w : workers) w.join();
  stop = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(ConcurrencyTest, ContinuationsFromManyQueriesRunConcurrentlyWithCallers) {
  std::atomic<std::int64_t> sum{0};  // outlives the client (continuations use it)
  auto opts = test::client_options();
  opts.pool.max_connections = 4;
  opts.io_threads = 2;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  std::vector<Future<Unit>> futures;
  for (int i = 1; i <= 1000; ++i) {
    futures.push_back(client->query("SELECT $1::int8", {i}).then([&sum](Result<QueryResult> r) {
      sum += r.value()[0].get<std::int64_t>(0);
    }));
  }
  auto all = test::wait_result(when_all(std::move(futures)), 60s);
  ASSERT_OK(all);
  for (auto& r : *all) EXPECT_OK(r);
  EXPECT_EQ(sum.load(), 1000 * 1001 / 2);
}

// Futures alone, hammered from several threads (for ThreadSanitizer).
TEST(FutureConcurrencyTest, CompleteSubscribeAndCancelRaceSafely) {
  constexpr int kIterations = 2000;
  std::atomic<int> callbacks{0}, hooks{0};
  for (int i = 0; i < kIterations; ++i) {
    Promise<int> p;
    p.on_cancel([&hooks] { hooks++; });
    auto f = p.get_future();
    auto cancel = f.canceller();
    std::thread producer([&p, i] { p.set_value(i); });
    std::thread canceller([&cancel] { cancel(); });
    std::atomic<int> mine{0};
    f.subscribe([&, i](Result<int> r) {
      mine++;
      callbacks++;
      EXPECT_TRUE(r.ok());
      if (r.ok()) {
        EXPECT_EQ(*r, i);
      }
    });
    producer.join();
    canceller.join();
    EXPECT_EQ(mine.load(), 1);
  }
  EXPECT_EQ(callbacks.load(), kIterations);
  EXPECT_LE(hooks.load(), kIterations);
}

}  // namespace
}  // namespace enrich
