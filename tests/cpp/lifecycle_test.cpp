// Client lifecycle: close/destroy with work in flight, use after close, continuations on the I/O
// thread, coroutines over real queries.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "enrich/client.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;
using test::Stopwatch;

class ClientLifecycleTest : public test::PgTest {};

TEST_F(ClientLifecycleTest, DestroyWithWorkInFlightCancelsEverythingAndLeavesNoBackends) {
  const std::string app = test::unique_name("enrich_destroy");
  auto opts = test::client_options(app);
  opts.pool.max_connections = 4;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto monitor = test::connect(test::client_options());
  ASSERT_TRUE(monitor);
  auto warm = test::run(*client, "SELECT 1");
  ASSERT_OK(warm);

  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 500; ++i) futures.push_back(client->query("SELECT pg_sleep(0.5)"));
  // Some are running on the server now (positive control for the check at the end).
  Result<std::int64_t> running = 0;
  EXPECT_TRUE(test::eventually(
      [&] {
        running = test::count_backends(*monitor, app, "state = 'active'");
        return running.ok() && *running >= 1;
      },
      2s, 10ms));

  Stopwatch sw;
  client.reset();
  EXPECT_LT(sw.ms(), 3000) << "destroying the client must not wait for the queries";

  int cancelled = 0, ok = 0;
  for (auto& f : futures) {
    ASSERT_TRUE(f.wait_for(2s)) << "every future completes once the client is destroyed";
    auto r = f.get();
    if (r.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(r.error().code, ErrorCode::cancelled) << r.error().to_string();
      ++cancelled;
    }
  }
  EXPECT_GE(cancelled, 480) << "ok=" << ok;

  Result<std::int64_t> left = 0;
  EXPECT_TRUE(test::eventually(
      [&] {
        left = test::count_backends(*monitor, app);
        return left.ok() && *left == 0;
      },
      3s))
      << "backends of the destroyed client still connected: "
      << (left.ok() ? std::to_string(*left) : left.error().to_string());
}

TEST_F(ClientLifecycleTest, CloseIsIdempotentAndLaterCallsFailWithClosed) {
  auto client = test::connect(test::client_options());
  ASSERT_TRUE(client);
  auto warm = test::run(*client, "SELECT 1");
  ASSERT_OK(warm);
  Stopwatch sw;
  client->close();
  client->close();
  EXPECT_LT(sw.ms(), 2000);
  auto r = test::run(*client, "SELECT 1", {}, {}, 5s);
  ASSERT_ERROR_CODE(r, ErrorCode::closed);
  auto tx = test::wait_result(client->transaction(), 5s);
  ASSERT_ERROR_CODE(tx, ErrorCode::closed);
  auto s = client->stats();
  EXPECT_EQ(s.connections, 0u);
  EXPECT_EQ(s.in_flight, 0u);
}

TEST_F(ClientLifecycleTest, OpenTransactionCompletesWhenTheClientCloses) {
  auto client = test::connect(test::client_options());
  ASSERT_TRUE(client);
  auto tx = test::wait_result(client->transaction());
  ASSERT_OK(tx);
  const std::string marker = test::statement_marker("close_tx");
  auto running = tx->query("SELECT pg_sleep(5) /* " + marker + " */");
  ASSERT_TRUE(test::wait_running(marker));
  Stopwatch sw;
  client->close();
  EXPECT_LT(sw.ms(), 3000);
  ASSERT_TRUE(running.wait_for(2s));
  auto r = running.get();
  ASSERT_ERROR_CODE(r, ErrorCode::cancelled);
  auto after = test::run(*tx, "SELECT 1", {}, {}, 5s);
  EXPECT_FALSE(after.ok());
  // Destroying the transaction after its client closed must be harmless.
}

TEST_F(ClientLifecycleTest, DestroyingAnIdleClientIsQuick) {
  for (int i = 0; i < 10; ++i) {
    auto opts = test::client_options();
    opts.pool.min_connections = 1;
    auto client = test::connect(opts);
    ASSERT_TRUE(client);
    if (i % 2) {
      auto r = test::run(*client, "SELECT 1");
      ASSERT_OK(r);
    }
    Stopwatch sw;
    client.reset();
    EXPECT_LT(sw.ms(), 1000);
  }
}

TEST_F(ClientLifecycleTest, ContinuationsRunOnTheIoThread) {
  std::atomic<bool> ran{false};  // outlives the client (the continuation uses it)
  std::thread::id continuation_thread;
  auto client = test::connect(test::client_options());
  ASSERT_TRUE(client);
  auto f = client->query("SELECT pg_sleep(0.1), 5").then([&](Result<QueryResult> r) {
    continuation_thread = std::this_thread::get_id();
    ran = true;
    return r.value()[0].get<int>(1) * 2;
  });
  auto r = test::wait_result(std::move(f));
  ASSERT_OK(r);
  EXPECT_EQ(*r, 10);
  EXPECT_TRUE(ran);
  EXPECT_NE(continuation_thread, std::this_thread::get_id());
}

TEST_F(ClientLifecycleTest, ContinuationCanIssueTheNextQuery) {
  auto client = test::connect(test::client_options());
  ASSERT_TRUE(client);
  Client* c = client.get();
  auto f = c->query("SELECT 20")
               .then([c](Result<QueryResult> r) {
                 int v = r.value()[0].get<int>(0);
                 return c->query("SELECT $1::int4 + 1", {v});
               })
               .then([](Result<QueryResult> r) { return r.value()[0].get<int>(0) * 2; });
  auto r = test::wait_result(std::move(f));
  ASSERT_OK(r);
  EXPECT_EQ(*r, 42);
}

TEST_F(ClientLifecycleTest, QueryErrorPropagatesThroughContinuations) {
  auto client = test::connect(test::client_options());
  ASSERT_TRUE(client);
  auto f = client->query("SELECT 1/0").then([](Result<QueryResult> r) {
    return r.value().size();  // throws enrich::Exception carrying the query error
  });
  auto r = test::wait_result(std::move(f));
  ASSERT_ERROR_CODE(r, ErrorCode::query);
  EXPECT_EQ(r.error().sqlstate, "22012");
}

Future<std::int64_t> sum_of_squares(Client& c, int n) {
  std::int64_t total = 0;
  for (int i = 1; i <= n; ++i) {
    // The future is built outside the co_await operand: GCC 12 miscompiles ("array used as
    // initializer") literals and braced lists there.
    Future<QueryResult> next = c.query("SELECT $1::int8 * $1::int8", Params{i});
    Result<QueryResult> r = co_await std::move(next);
    if (!r.ok()) co_return std::move(r).error();
    total += (*r)[0].get<std::int64_t>(0);
  }
  co_return total;
}

Future<Unit> transfer(Client& c, std::string table) {
  Result<Transaction> tx = co_await c.transaction();
  if (!tx.ok()) co_return std::move(tx).error();
  Result<QueryResult> a = co_await tx->query("UPDATE " + table + " SET n = n - 10 WHERE id = 1");
  if (!a.ok()) co_return std::move(a).error();
  Result<QueryResult> b = co_await tx->query("UPDATE " + table + " SET n = n + 10 WHERE id = 2");
  if (!b.ok()) co_return std::move(b).error();
  co_return co_await tx->commit();
}

TEST_F(ClientLifecycleTest, CoroutinesAwaitQueriesAndTransactions) {
  auto client = test::connect(test::client_options());
  ASSERT_TRUE(client);
  auto r = test::wait_result(sum_of_squares(*client, 10));
  ASSERT_OK(r);
  EXPECT_EQ(*r, 385);

  std::string t = test::unique_name("enrich_t_coro");
  auto create = test::run(*client, "CREATE TABLE " + t + " (id int PRIMARY KEY, n int)");
  ASSERT_OK(create);
  test::TableGuard guard(*client, t);
  auto ins = test::run(*client, "INSERT INTO " + t + " VALUES (1, 100), (2, 0)");
  ASSERT_OK(ins);
  auto done = test::wait_result(transfer(*client, t));
  ASSERT_OK(done);
  auto check = test::run(*client, "SELECT n FROM " + t + " ORDER BY id");
  ASSERT_OK(check);
  EXPECT_EQ((*check)[0].get<int>(0), 90);
  EXPECT_EQ((*check)[1].get<int>(0), 10);
}

TEST_F(ClientLifecycleTest, DroppedFuturesDoNotLeak) {
  auto opts = test::client_options();
  opts.pool.max_connections = 2;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  for (int i = 0; i < 200; ++i) (void)client->query("SELECT $1::int4", {i});
  EXPECT_TRUE(test::eventually(
      [&] {
        auto s = client->stats();
        return s.in_flight == 0 && s.waiting == 0;
      },
      5s));
  auto r = test::run(*client, "SELECT 1");
  ASSERT_OK(r);
}

}  // namespace
}  // namespace enrich
