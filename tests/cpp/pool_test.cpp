// Connection pool: acquire timeout, bounded wait queue, stats, idle timeout, min connections,
// cancellation of waiting and running queries.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
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

class PoolTest : public test::PgTest {};

std::string stats_string(const PoolStats& s) {
  return "connections=" + std::to_string(s.connections) + " idle=" + std::to_string(s.idle) +
         " in_transaction=" + std::to_string(s.in_transaction) +
         " in_flight=" + std::to_string(s.in_flight) + " waiting=" + std::to_string(s.waiting) +
         " connects=" + std::to_string(s.connects) +
         " connect_failures=" + std::to_string(s.connect_failures) +
         " cancels_sent=" + std::to_string(s.cancels_sent);
}

TEST_F(PoolTest, InvalidOptionsAreRejectedByCreate) {
  {
    auto opts = test::client_options();
    opts.pool.max_connections = 0;
    auto r = Client::create(opts);
    EXPECT_ERROR_CODE(r, ErrorCode::invalid_argument);
  }
  {
    auto opts = test::client_options();
    opts.pool.min_connections = 5;
    opts.pool.max_connections = 2;
    auto r = Client::create(opts);
    EXPECT_ERROR_CODE(r, ErrorCode::invalid_argument);
  }
}

TEST_F(PoolTest, ExhaustedPoolFailsWithinAcquireTimeout) {
  auto opts = test::client_options();
  opts.pool.max_connections = 1;
  opts.pool.acquire_timeout = 200ms;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto tx = test::wait_result(client->transaction());
  ASSERT_OK(tx);

  Stopwatch sw;
  auto r = test::run(*client, "SELECT 1", {}, {}, 10s);
  auto elapsed = sw.ms();
  ASSERT_ERROR_CODE(r, ErrorCode::pool_timeout);
  EXPECT_TRUE(r.error().retriable());
  EXPECT_GT(elapsed, 150) << "must wait for the acquire timeout";
  EXPECT_LT(elapsed, 1500) << "must fail soon after the acquire timeout";

  // A transaction cannot get a connection either.
  sw.reset();
  auto tx2 = test::wait_result(client->transaction(), 10s);
  ASSERT_ERROR_CODE(tx2, ErrorCode::pool_timeout);
  EXPECT_LT(sw.ms(), 1500);

  auto commit = test::wait_result(tx->commit());
  ASSERT_OK(commit);
  auto after = test::run(*client, "SELECT 2");
  ASSERT_OK(after);
  EXPECT_EQ((*after)[0].get<int>(0), 2);
}

TEST_F(PoolTest, QueryTimeoutCoversTimeWaitingForAConnection) {
  auto opts = test::client_options();
  opts.pool.max_connections = 1;
  opts.pool.acquire_timeout = 10s;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto tx = test::wait_result(client->transaction());
  ASSERT_OK(tx);
  QueryOptions qo;
  qo.timeout = 200ms;
  Stopwatch sw;
  auto r = test::run(*client, "SELECT 1", {}, qo, 10s);
  ASSERT_ERROR_CODE(r, ErrorCode::timeout);
  EXPECT_GT(sw.ms(), 150);
  EXPECT_LT(sw.ms(), 1500);
  auto rollback = test::wait_result(tx->rollback());
  ASSERT_OK(rollback);
}

TEST_F(PoolTest, BoundedWaitQueueRefusesExtraRequestsAtOnce) {
  auto opts = test::client_options();
  opts.pool.max_connections = 1;
  opts.pool.max_pipeline_depth = 1;
  opts.pool.max_waiting = 3;
  opts.pool.acquire_timeout = 10s;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto warm = test::run(*client, "SELECT 1");
  ASSERT_OK(warm);

  auto slow = client->query("SELECT pg_sleep(2)");
  EXPECT_TRUE(test::eventually([&] { return client->stats().in_flight == 1; }, 2s))
      << stats_string(client->stats());

  Stopwatch sw;
  std::vector<Future<QueryResult>> flood;
  for (int i = 0; i < 20; ++i) flood.push_back(client->query("SELECT $1::int4", {i}));
  // A refusal must come "at once": long before the slow query ends. One more request, refused
  // too, is handled after the flood: once it completes, every refusal of the flood has.
  auto sentinel = client->query("SELECT 'sentinel'");
  EXPECT_TRUE(test::eventually([&] { return sentinel.ready(); }, 1500ms))
      << "the request after a full wait queue was not refused at once: "
      << stats_string(client->stats());
  if (sentinel.ready()) {
    auto s = sentinel.get();
    EXPECT_ERROR_CODE(s, ErrorCode::pool_queue_full);
  }
  int refused = 0, succeeded = 0;
  for (int i = 0; i < 20; ++i) {
    if (flood[i].ready()) {
      auto r = flood[i].get();
      ASSERT_ERROR_CODE(r, ErrorCode::pool_queue_full);
      EXPECT_TRUE(r.error().retriable());
      ++refused;
    }
  }
  EXPECT_LT(sw.ms(), 1500) << "the test itself was too slow to tell 'at once' from 'later'";
  EXPECT_FALSE(slow.ready()) << "the slow query should still be running";
  EXPECT_GE(refused, 20 - 3 - 1) << "max_waiting=3 allows at most 3 (+1 slack) to wait";
  for (int i = 0; i < 20; ++i) {
    if (!flood[i].valid()) continue;
    auto r = test::wait_result(std::move(flood[i]));
    ASSERT_OK(r) << "a request that was allowed to wait must run";
    EXPECT_EQ((*r)[0].get<int>(0), i);
    ++succeeded;
  }
  EXPECT_GE(succeeded, 1) << "requests within max_waiting must be queued, not refused";
  EXPECT_LE(succeeded, 3);
  auto s = test::wait_result(std::move(slow));
  ASSERT_OK(s);
}

TEST_F(PoolTest, StatsReflectConnectionsTransactionsAndWaiting) {
  auto opts = test::client_options();
  opts.pool.max_connections = 2;
  opts.pool.acquire_timeout = 10s;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto warm = test::run(*client, "SELECT 1");
  ASSERT_OK(warm);
  EXPECT_GE(client->stats().connections, 1u);
  EXPECT_GE(client->stats().connects, 1u);

  auto tx1 = test::wait_result(client->transaction());
  ASSERT_OK(tx1);
  EXPECT_TRUE(test::eventually([&] { return client->stats().in_transaction == 1; }, 2s))
      << stats_string(client->stats());
  auto tx2 = test::wait_result(client->transaction());
  ASSERT_OK(tx2);
  EXPECT_TRUE(test::eventually([&] { return client->stats().in_transaction == 2; }, 2s))
      << stats_string(client->stats());
  EXPECT_EQ(client->stats().connections, 2u) << stats_string(client->stats());

  auto waiting = client->query("SELECT 'waited'::text");
  EXPECT_TRUE(test::eventually([&] { return client->stats().waiting == 1; }, 2s))
      << stats_string(client->stats());
  EXPECT_FALSE(waiting.ready());

  auto running = tx1->query("SELECT pg_sleep(0.3)");
  EXPECT_TRUE(test::eventually([&] { return client->stats().in_flight >= 1; }, 2s))
      << stats_string(client->stats());
  auto rr = test::wait_result(std::move(running));
  ASSERT_OK(rr);

  auto c1 = test::wait_result(tx1->commit());
  ASSERT_OK(c1);
  auto w = test::wait_result(std::move(waiting));
  ASSERT_OK(w);
  EXPECT_EQ((*w)[0].get<std::string>(0), "waited");
  auto c2 = test::wait_result(tx2->rollback());
  ASSERT_OK(c2);

  EXPECT_TRUE(test::eventually(
      [&] {
        auto s = client->stats();
        return s.in_transaction == 0 && s.waiting == 0 && s.in_flight == 0 &&
               s.idle == s.connections && s.connections >= 1;
      },
      2s))
      << stats_string(client->stats());
}

TEST_F(PoolTest, CancellingAWaitingQueryCompletesItPromptly) {
  auto opts = test::client_options();
  opts.pool.max_connections = 1;
  opts.pool.acquire_timeout = 10s;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto tx = test::wait_result(client->transaction());
  ASSERT_OK(tx);
  auto waiting = client->query("SELECT 1");
  ASSERT_TRUE(test::eventually([&] { return client->stats().waiting == 1; }, 2s))
      << stats_string(client->stats());
  Stopwatch sw;
  waiting.cancel();
  auto r = test::wait_result(std::move(waiting), 5s);
  ASSERT_ERROR_CODE(r, ErrorCode::cancelled);
  EXPECT_LT(sw.ms(), 1000);
  EXPECT_TRUE(test::eventually([&] { return client->stats().waiting == 0; }, 2s))
      << stats_string(client->stats());
  auto commit = test::wait_result(tx->commit());
  ASSERT_OK(commit);
}

TEST_F(PoolTest, CancellingARunningQueryCancelsItOnTheServerAndKeepsTheConnection) {
  auto opts = test::client_options();
  opts.pool.max_connections = 1;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto pid_before = test::scalar_int(*client, "SELECT pg_backend_pid()");
  ASSERT_OK(pid_before);

  const std::string marker = test::statement_marker("pool_cancel");
  auto f = client->query("SELECT pg_sleep(10) /* " + marker + " */");
  ASSERT_TRUE(test::wait_running(marker));
  Stopwatch sw;
  f.cancel();
  auto r = test::wait_result(std::move(f), 5s);
  ASSERT_ERROR_CODE(r, ErrorCode::cancelled);
  EXPECT_LT(sw.ms(), 2000) << "cancelled query must not wait for pg_sleep(10)";

  auto pid_after = test::scalar_int(*client, "SELECT pg_backend_pid()");
  ASSERT_OK(pid_after);
  EXPECT_EQ(*pid_after, *pid_before) << "the connection should be kept after a cancel";
  EXPECT_GE(client->stats().cancels_sent, 1u);
}

TEST_F(PoolTest, NoLeakAfterManyCancellations) {
  auto opts = test::client_options();
  opts.pool.max_connections = 2;
  opts.pool.acquire_timeout = 10s;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 200; ++i) {
    futures.push_back(client->query(
        i % 2 ? "SELECT pg_sleep(0.01), $1::int4" : "SELECT $1::int4, $1::int4", {i}));
  }
  std::mt19937 rng(12345);
  std::vector<bool> cancel_requested(200, false);
  for (int i = 0; i < 200; ++i) {
    if (rng() % 2) {
      futures[i].cancel();
      cancel_requested[i] = true;
    }
    if (i % 40 == 0) std::this_thread::sleep_for(5ms);
  }
  int ok = 0, cancelled = 0;
  for (int i = 0; i < 200; ++i) {
    auto r = test::wait_result(std::move(futures[i]));
    if (r.ok()) {
      EXPECT_EQ((*r)[0].get<int>(1), i);
      ++ok;
    } else {
      EXPECT_EQ(r.error().code, ErrorCode::cancelled)
          << "query " << i
          << (cancel_requested[i] ? " (cancelled by the caller): "
                                  : " (NOT cancelled by the caller): ")
          << r.error().to_string();
      EXPECT_TRUE(cancel_requested[i])
          << "query " << i << " was never cancelled: " << r.error().to_string();
      ++cancelled;
    }
  }
  EXPECT_EQ(ok + cancelled, 200);
  EXPECT_TRUE(test::eventually(
      [&] {
        auto s = client->stats();
        return s.in_flight == 0 && s.waiting == 0 && s.in_transaction == 0 && s.connections <= 2 &&
               s.idle == s.connections;
      },
      3s))
      << stats_string(client->stats());

  // Both connections can still be taken by transactions at once: nothing leaked.
  auto tx1 = test::wait_result(client->transaction(), 10s);
  ASSERT_OK(tx1);
  auto tx2 = test::wait_result(client->transaction(), 10s);
  ASSERT_OK(tx2);
  auto a = test::run(*tx1, "SELECT 1");
  ASSERT_OK(a);
  auto b = test::run(*tx2, "SELECT 2");
  ASSERT_OK(b);
  auto c1 = test::wait_result(tx1->commit());
  ASSERT_OK(c1);
  auto c2 = test::wait_result(tx2->commit());
  ASSERT_OK(c2);
}

TEST_F(PoolTest, IdleConnectionsAboveMinimumAreClosed) {
  auto opts = test::client_options();
  opts.pool.min_connections = 0;
  opts.pool.max_connections = 4;
  opts.pool.max_pipeline_depth = 1;
  opts.pool.idle_timeout = 200ms;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  std::vector<Future<QueryResult>> burst;
  for (int i = 0; i < 40; ++i)
    burst.push_back(client->query("SELECT pg_sleep(0.02), $1::int4", {i}));
  std::size_t peak = 0;
  for (auto& f : burst) {
    peak = std::max(peak, client->stats().connections);
    auto r = test::wait_result(std::move(f));
    ASSERT_OK(r);
  }
  EXPECT_GE(peak, 2u) << "a burst with pipeline depth 1 should open several connections";
  Stopwatch sw;
  EXPECT_TRUE(test::eventually([&] { return client->stats().connections == 0; }, 3s))
      << "after " << sw.ms() << " ms: " << stats_string(client->stats());
  auto again = test::run(*client, "SELECT 1");
  ASSERT_OK(again) << "the pool reconnects after idling out";
}

TEST_F(PoolTest, MinConnectionsAreOpenedAtStartAndKept) {
  auto opts = test::client_options();
  opts.pool.min_connections = 2;
  opts.pool.max_connections = 4;
  opts.pool.idle_timeout = 100ms;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  EXPECT_TRUE(test::eventually(
      [&] {
        auto s = client->stats();
        return s.connections == 2 && s.idle == 2;
      },
      3s))
      << stats_string(client->stats());
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(client->stats().connections, 2u)
      << "idle_timeout must not close connections below min_connections";
}

TEST_F(PoolTest, SeveralIoThreadsShareTheWork) {
  auto opts = test::client_options();
  opts.io_threads = 2;
  opts.pool.max_connections = 4;
  opts.pool.min_connections = 2;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 400; ++i) futures.push_back(client->query("SELECT $1::int8 * 3", {i}));
  for (int i = 0; i < 400; ++i) {
    auto r = test::wait_result(std::move(futures[i]));
    ASSERT_OK(r);
    EXPECT_EQ((*r)[0].get<std::int64_t>(0), 3 * i);
  }
  auto s = client->stats();
  EXPECT_GE(s.connections, 2u) << stats_string(s);
  EXPECT_LE(s.connections, 4u) << stats_string(s);
}

}  // namespace
}  // namespace enrich
