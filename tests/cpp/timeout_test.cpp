// Timeouts and deadlines: enforced on the I/O thread, the server-side query is cancelled, the
// connection is kept, and pipelined neighbours are unaffected.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "enrich/client.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;
using test::Stopwatch;

class TimeoutTest : public test::PgTest {
 protected:
  // Active backends of `app` still running a query whose text contains `needle`.
  static Result<std::int64_t> active_queries(Client& monitor, const std::string& app,
                                             const std::string& needle) {
    return test::scalar_int(
        monitor,
        "SELECT count(*)::int8 FROM pg_stat_activity WHERE application_name = $1 AND pid <> "
        "pg_backend_pid() AND state = 'active' AND strpos(query, $2) > 0",
        {app, needle});
  }
};

QueryOptions with_timeout(std::chrono::milliseconds t) {
  QueryOptions o;
  o.timeout = t;
  return o;
}

QueryOptions with_deadline(Deadline d, std::chrono::milliseconds t = 0ms) {
  QueryOptions o;
  o.deadline = d;
  o.timeout = t;
  return o;
}

TEST_F(TimeoutTest, QueryTimeoutFailsFastCancelsOnServerAndKeepsTheConnection) {
  const std::string app = test::unique_name("enrich_timeout");
  auto opts = test::client_options(app);
  opts.pool.max_connections = 1;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto monitor = test::connect(test::client_options());
  ASSERT_TRUE(monitor);

  auto pid_before = test::scalar_int(*client, "SELECT pg_backend_pid()");
  ASSERT_OK(pid_before);
  // Positive control: the monitor can see this client's backend by its application_name.
  auto visible = test::count_backends(*monitor, app);
  ASSERT_OK(visible);
  ASSERT_EQ(*visible, 1) << "the client's backend is not visible under application_name " << app;

  Stopwatch sw;
  auto r = test::run(*client, "SELECT pg_sleep(10)", {}, with_timeout(200ms), 10s);
  auto elapsed = sw.ms();
  ASSERT_ERROR_CODE(r, ErrorCode::timeout);
  EXPECT_TRUE(r.error().retriable());
  EXPECT_GE(elapsed, 150) << "timed out before the timeout";
  EXPECT_LT(elapsed, 1200) << "the timeout was not enforced promptly";

  Result<std::int64_t> active = 0;
  EXPECT_TRUE(test::eventually(
      [&] {
        active = active_queries(*monitor, app, "pg_sleep(10)");
        return active.ok() && *active == 0;
      },
      2s))
      << "pg_sleep(10) still running on the server after the timeout: "
      << (active.ok() ? std::to_string(*active) : active.error().to_string());

  auto pid_after = test::scalar_int(*client, "SELECT pg_backend_pid()");
  ASSERT_OK(pid_after);
  EXPECT_EQ(*pid_after, *pid_before)
      << "after a timeout the query is cancelled and the connection kept";
}

TEST_F(TimeoutTest, ClientDefaultQueryTimeoutAppliesAndPerCallTimeoutOverridesIt) {
  auto opts = test::client_options();
  opts.query_timeout = 200ms;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);

  Stopwatch sw;
  auto r = test::run(*client, "SELECT pg_sleep(10)", {}, {}, 10s);
  ASSERT_ERROR_CODE(r, ErrorCode::timeout);
  EXPECT_LT(sw.ms(), 1500);

  auto longer = test::run(*client, "SELECT pg_sleep(0.5), 7", {}, with_timeout(5s), 10s);
  ASSERT_OK(longer) << "a per-call timeout replaces the client's query_timeout";
  EXPECT_EQ((*longer)[0].get<int>(1), 7);

  auto quick = test::run(*client, "SELECT 1");
  ASSERT_OK(quick);
}

TEST_F(TimeoutTest, DeadlineInThePastFailsAtOnce) {
  auto client = test::connect(test::client_options());
  ASSERT_TRUE(client);
  auto warm = test::run(*client, "SELECT 1");
  ASSERT_OK(warm);
  Stopwatch sw;
  auto r = test::run(*client, "SELECT pg_sleep(2)", {},
                     with_deadline(Deadline::at(Clock::now() - 1s)), 10s);
  ASSERT_ERROR_CODE(r, ErrorCode::timeout);
  EXPECT_LT(sw.ms(), 1000);
  auto after = test::run(*client, "SELECT 1");
  ASSERT_OK(after);
}

TEST_F(TimeoutTest, NearDeadlineIsEnforced) {
  auto client = test::connect(test::client_options());
  ASSERT_TRUE(client);
  auto warm = test::run(*client, "SELECT 1");
  ASSERT_OK(warm);
  Stopwatch sw;
  auto r = test::run(*client, "SELECT pg_sleep(5)", {}, with_deadline(Deadline::after(300ms)), 10s);
  ASSERT_ERROR_CODE(r, ErrorCode::timeout);
  EXPECT_GE(sw.ms(), 250);
  EXPECT_LT(sw.ms(), 1500);

  auto fine = test::run(*client, "SELECT 5", {}, with_deadline(Deadline::after(5s)));
  ASSERT_OK(fine) << "a deadline that is not reached changes nothing";
  EXPECT_EQ((*fine)[0].get<int>(0), 5);
}

TEST_F(TimeoutTest, TheEarlierOfTimeoutAndDeadlineApplies) {
  auto client = test::connect(test::client_options());
  ASSERT_TRUE(client);
  auto warm = test::run(*client, "SELECT 1");
  ASSERT_OK(warm);
  {
    Stopwatch sw;
    auto r = test::run(*client, "SELECT pg_sleep(5)", {}, with_deadline(Deadline::after(200ms), 5s),
                       10s);
    ASSERT_ERROR_CODE(r, ErrorCode::timeout);
    EXPECT_LT(sw.ms(), 1500) << "deadline earlier than timeout";
  }
  {
    Stopwatch sw;
    auto r = test::run(*client, "SELECT pg_sleep(5)", {}, with_deadline(Deadline::after(5s), 200ms),
                       10s);
    ASSERT_ERROR_CODE(r, ErrorCode::timeout);
    EXPECT_LT(sw.ms(), 1500) << "timeout earlier than deadline";
  }
}

TEST_F(TimeoutTest, TimedOutQueryPipelinedBehindOthersDoesNotBreakItsNeighbours) {
  const std::string app = test::unique_name("enrich_timeout_pipe");
  auto opts = test::client_options(app);
  opts.pool.max_connections = 1;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto warm = test::run(*client, "SELECT 1");
  ASSERT_OK(warm);

  Stopwatch sw;
  auto first = client->query("SELECT pg_sleep(0.3), 1");
  auto second = client->query("SELECT pg_sleep(5), 2", {}, with_timeout(100ms));
  auto third = client->query("SELECT 42");

  auto r1 = test::wait_result(std::move(first), 10s);
  ASSERT_OK(r1) << "the query in front of the timed-out one must not be cancelled instead";
  EXPECT_EQ((*r1)[0].get<int>(1), 1);
  auto r2 = test::wait_result(std::move(second), 10s);
  ASSERT_ERROR_CODE(r2, ErrorCode::timeout);
  auto r3 = test::wait_result(std::move(third), 10s);
  ASSERT_OK(r3) << "the query behind the timed-out one must still run";
  EXPECT_EQ((*r3)[0].get<int>(0), 42);
  EXPECT_LT(sw.ms(), 3000) << "the timed-out pg_sleep(5) must not run to completion";

  auto after = test::run(*client, "SELECT 'still fine'::text");
  ASSERT_OK(after);
}

TEST_F(TimeoutTest, ManyPipelinedTimeoutsAllExpireAndLeaveNothingRunning) {
  const std::string app = test::unique_name("enrich_timeout_many");
  auto opts = test::client_options(app);
  opts.pool.max_connections = 2;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto monitor = test::connect(test::client_options());
  ASSERT_TRUE(monitor);

  Stopwatch sw;
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 20; ++i) {
    futures.push_back(client->query("SELECT pg_sleep(10), $1::int4", {i}, with_timeout(150ms)));
  }
  // Positive control: the sleeps are visible on the server while they run.
  Result<std::int64_t> running = 0;
  EXPECT_TRUE(test::eventually(
      [&] {
        running = active_queries(*monitor, app, "pg_sleep(10)");
        return running.ok() && *running >= 1;
      },
      2s, 5ms))
      << "never saw the sleeps running under application_name " << app;
  for (auto& f : futures) {
    auto r = test::wait_result(std::move(f), 15s);
    EXPECT_ERROR_CODE(r, ErrorCode::timeout);
  }
  EXPECT_LT(sw.ms(), 5000) << "all 20 should have expired soon after 150 ms";

  Result<std::int64_t> active = 0;
  EXPECT_TRUE(test::eventually(
      [&] {
        active = active_queries(*monitor, app, "pg_sleep(10)");
        return active.ok() && *active == 0;
      },
      2s))
      << (active.ok() ? std::to_string(*active) : active.error().to_string());

  std::vector<Future<QueryResult>> quick;
  for (int i = 0; i < 20; ++i) quick.push_back(client->query("SELECT $1::int4", {i}));
  for (int i = 0; i < 20; ++i) {
    auto r = test::wait_result(std::move(quick[i]), 5s);
    ASSERT_OK(r);
    EXPECT_EQ((*r)[0].get<int>(0), i);
  }
  auto s = client->stats();
  EXPECT_LE(s.connections, 2u);
}

TEST_F(TimeoutTest, TimeoutInsideATransactionLeavesTheConnectionUsable) {
  auto opts = test::client_options();
  opts.pool.max_connections = 1;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  {
    auto tx = test::wait_result(client->transaction());
    ASSERT_OK(tx);
    Stopwatch sw;
    auto r = test::run(*tx, "SELECT pg_sleep(10)", {}, with_timeout(200ms), 10s);
    ASSERT_ERROR_CODE(r, ErrorCode::timeout);
    EXPECT_LT(sw.ms(), 1500);
    auto rb = test::wait_result(tx->rollback(), 10s);
    ASSERT_OK(rb);
  }
  auto after = test::run(*client, "SELECT 3", {}, {}, 10s);
  ASSERT_OK(after);
  EXPECT_EQ((*after)[0].get<int>(0), 3);
}

}  // namespace
}  // namespace enrich
