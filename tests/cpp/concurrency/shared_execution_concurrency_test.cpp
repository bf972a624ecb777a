// Single-flight and batching under load: threads issue coalescing (or batching) queries over
// their keys on two I/O threads, cancelling some at random and giving some a very short timeout,
// and close the client while others are in flight. Every future completes once, every answer
// belongs to its own key, and no cancelled caller takes an uncancelled one down with it. Also run
// under ThreadSanitizer.

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "enrich/client.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;

class SharedExecutionConcurrencyTest : public test::PgTest {
 protected:
  /// 4 threads x 400 calls over `keys` keys, with `options_of(rng)`'s options, then a close with
  /// 50 calls in flight.
  void storm(int keys, const std::function<QueryOptions(std::mt19937&)>& options_of) {
    auto opts = test::client_options();
    opts.io_threads = 2;
    opts.pool.max_connections = 4;
    client_ = test::connect(opts);
    ASSERT_TRUE(client_);

    constexpr int kThreads = 4, kPerThread = 400;
    std::atomic<int> wrong{0}, unexpected{0}, ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(t) + 1);
        std::vector<std::pair<int, Future<QueryResult>>> calls;
        std::vector<bool> cancelled(kPerThread, false), short_timeout(kPerThread, false);
        for (int i = 0; i < kPerThread; ++i) {
          int key = static_cast<int>(rng() % static_cast<unsigned>(keys));
          QueryOptions o = options_of(rng);
          if (rng() % 10 == 0) {
            o.timeout = 1ms;
            short_timeout[static_cast<std::size_t>(i)] = true;
          }
          calls.emplace_back(key, client_->query("SELECT $1::int AS k, pg_sleep(0.002)", {key}, o));
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
  }

  /// Closing with such calls in flight completes each of them.
  void close_in_flight(const QueryOptions& o) {
    std::vector<Future<QueryResult>> in_flight;
    for (int i = 0; i < 50; ++i)
      in_flight.push_back(client_->query("SELECT pg_sleep(0.05), $1::int", {i % 7}, o));
    client_->close();
    for (auto& f : in_flight) {
      auto r = test::wait_result(std::move(f));
      if (!r.ok()) {
        EXPECT_TRUE(r.error().code == ErrorCode::cancelled || r.error().code == ErrorCode::closed)
            << r.error().to_string();
      }
    }
  }

  std::unique_ptr<Client> client_;
};

TEST_F(SharedExecutionConcurrencyTest, CoalescingHotKeysWithCancelsAndTimeouts) {
  QueryOptions coalesce;
  coalesce.coalesce = true;
  storm(5, [&](std::mt19937&) { return coalesce; });
  if (HasFatalFailure()) return;
  close_in_flight(coalesce);
}

TEST_F(SharedExecutionConcurrencyTest, BatchingManyKeysWithCancelsAndTimeouts) {
  storm(60, [](std::mt19937& rng) {
    QueryOptions o;
    o.batch = "int";
    o.coalesce = rng() % 2 == 0;  // a call alone in its turn may still join one in flight
    return o;
  });
  if (HasFatalFailure()) return;
  EXPECT_GT(test::metric_value(*client_, "enrich_batches_total"), 0);
  QueryOptions batch;
  batch.batch = "int";
  close_in_flight(batch);
}

}  // namespace
}  // namespace enrich
