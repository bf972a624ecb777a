// Batching under load: threads issue batching queries (some also coalescing) over many keys on two
// I/O threads, cancelling some at random and giving some a very short timeout, and close the
// client while others are in flight. Every future completes once, every answer holds exactly its
// own key, and no cancelled caller takes an uncancelled one down with it. Also run under
// ThreadSanitizer.

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "enrich/client.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;

class BatchConcurrencyTest : public test::PgTest {};

TEST_F(BatchConcurrencyTest, ManyKeysFromFourThreadsWithCancelsAndTimeouts) {
  auto opts = test::client_options();
  opts.io_threads = 2;
  opts.pool.max_connections = 4;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);

  constexpr int kThreads = 4, kPerThread = 400, kKeys = 60;
  std::atomic<int> wrong{0}, unexpected{0}, ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) + 1);
      std::vector<std::pair<int, Future<QueryResult>>> calls;
      std::vector<bool> cancelled(kPerThread, false), short_timeout(kPerThread, false);
      for (int i = 0; i < kPerThread; ++i) {
        int key = static_cast<int>(rng() % kKeys);
        QueryOptions o;
        o.batch = "int";
        o.coalesce = rng() % 2 == 0;
        if (rng() % 10 == 0) {
          o.timeout = 1ms;
          short_timeout[static_cast<std::size_t>(i)] = true;
        }
        calls.emplace_back(key, client->query("SELECT $1::int AS k, pg_sleep(0.002)", {key}, o));
        if (rng() % 7 == 0) {
          calls.back().second.cancel();
          cancelled[static_cast<std::size_t>(i)] = true;
        }
      }
      for (std::size_t i = 0; i < calls.size(); ++i) {
        auto r = test::wait_result(std::move(calls[i].second));
        if (r.ok()) {
          ++ok;
          if (r->size() != 1 || r->row(0).get<std::int64_t>(0) != calls[i].first) ++wrong;
        } else if (!(cancelled[i] && r.error().code == ErrorCode::cancelled) &&
                   !(short_timeout[i] && r.error().code == ErrorCode::timeout)) {
          ++unexpected;
          ADD_FAILURE() << "call " << i << ": " << r.error().to_string();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GT(ok.load(), 0);

  EXPECT_GT(test::metric_value(*client, "enrich_batches_total"), 0);

  // Closing with batched calls in flight completes each of them.
  std::vector<Future<QueryResult>> in_flight;
  QueryOptions o;
  o.batch = "int";
  for (int i = 0; i < 50; ++i)
    in_flight.push_back(client->query("SELECT pg_sleep(0.05), $1::int", {i % 7}, o));
  client->close();
  for (auto& f : in_flight) {
    auto r = test::wait_result(std::move(f));
    if (!r.ok()) {
      EXPECT_TRUE(r.error().code == ErrorCode::cancelled || r.error().code == ErrorCode::closed)
          << r.error().to_string();
    }
  }
}

}  // namespace
}  // namespace enrich
