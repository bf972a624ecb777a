// Read-only groups (Pool::submit_group, a plan's wave of SQL steps) share one Sync: one implicit
// transaction on the server. Writes keep one Sync per statement. A failing statement of a group
// fails alone: the statements after it, aborted by the server, are sent again one by one.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/event_loop.hpp"
#include "core/logger.hpp"
#include "enrich.h"
#include "pg/canceller.hpp"
#include "pg/pool.hpp"
#include "pg/read_only.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;
using pg::is_read_only_sql;

TEST(ReadOnlySql, ReadsAreRecognised) {
  EXPECT_TRUE(is_read_only_sql("SELECT * FROM users WHERE id = $1"));
  EXPECT_TRUE(is_read_only_sql("  select 1;"));
  EXPECT_TRUE(is_read_only_sql("-- comment\n/* another */ SELECT 1"));
  EXPECT_TRUE(is_read_only_sql("VALUES (1), (2)"));
  EXPECT_TRUE(is_read_only_sql("TABLE users"));
  EXPECT_TRUE(is_read_only_sql("WITH a AS (SELECT 1) SELECT * FROM a"));
}

TEST(ReadOnlySql, AnythingDoubtfulIsNotARead) {
  EXPECT_FALSE(is_read_only_sql("INSERT INTO t VALUES (1)"));
  EXPECT_FALSE(is_read_only_sql("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"));
  EXPECT_FALSE(is_read_only_sql("WITH u AS (update t SET x = 1 RETURNING *) SELECT 1"));
  EXPECT_FALSE(is_read_only_sql("WITH m AS (SELECT 1) MERGE INTO t USING m ON true DO NOTHING"));
  EXPECT_FALSE(is_read_only_sql("SELECT * INTO new_table FROM t"));
  EXPECT_FALSE(is_read_only_sql("SELECT * FROM t FOR UPDATE"));
  EXPECT_FALSE(is_read_only_sql("SELECT * FROM t FOR KEY SHARE"));
  EXPECT_FALSE(is_read_only_sql("SELECT 1; DELETE FROM t"));
  EXPECT_FALSE(is_read_only_sql("SELECT 1; SELECT 2"));
  EXPECT_FALSE(is_read_only_sql("BEGIN"));
  EXPECT_FALSE(is_read_only_sql("(SELECT 1)"));
  EXPECT_FALSE(is_read_only_sql("/* unterminated SELECT 1"));
  EXPECT_FALSE(is_read_only_sql("/* /* nested */ */ SELECT 1"));
  EXPECT_FALSE(is_read_only_sql(""));
  EXPECT_FALSE(is_read_only_sql("SELECTX 1"));
  EXPECT_FALSE(is_read_only_sql("CALL p()"));
}

// db.operation.name, through the C API the bindings call for direct statements.
std::string operation_name(const char* sql) {
  char out[16];
  std::size_t n = enrich_sql_operation_name(sql, std::strlen(sql), out, sizeof out);
  EXPECT_EQ(std::strlen(out), std::min(n, sizeof out - 1)) << sql;
  return out;
}

TEST(OperationName, TheFirstKeywordAfterCommentsInUpperCase) {
  EXPECT_EQ(operation_name("SELECT * FROM users WHERE id = $1"), "SELECT");
  EXPECT_EQ(operation_name("-- comment\n/* another */ with a AS (SELECT 1) TABLE a"), "WITH");
  EXPECT_EQ(operation_name("\n\tinsert into t values (1)"), "INSERT");
  EXPECT_EQ(operation_name("select1"), "SELECT");  // a word is letters only
  EXPECT_EQ(operation_name("(SELECT 1)"), "");
  EXPECT_EQ(operation_name("/* unterminated SELECT 1"), "");
  EXPECT_EQ(operation_name(""), "");
  // Truncated to the buffer, with the whole length returned; NULL and no buffer are fine.
  char small[4];
  EXPECT_EQ(enrich_sql_operation_name("refresh materialized view v", 27, small, sizeof small), 7u);
  EXPECT_STREQ(small, "REF");
  EXPECT_EQ(enrich_sql_operation_name("update t set x = 1", 18, nullptr, 0), 6u);
  EXPECT_EQ(enrich_sql_operation_name(nullptr, 5, small, sizeof small), 0u);
}

// A Pool on its own loop thread: the tests submit groups exactly as a plan run does.
class GroupSyncTest : public test::PgTest {
 protected:
  void SetUp() override {
    test::PgTest::SetUp();
    if (HasFatalFailure()) return;
    start_pool(256);
  }
  void TearDown() override { stop_pool(); }

  void start_pool(std::size_t statement_cache_size) {
    auto params = pg::ConnParams::parse(test::dsn_set(dsn_, "application_name", app_));
    ASSERT_OK(params);
    pg::PoolSettings settings;
    settings.pool.min_connections = 1;
    settings.pool.max_connections = 1;  // every statement on one connection
    settings.connection.statement_cache_size = statement_cache_size;
    settings.params = params.value();
    canceller_ = std::make_unique<pg::Canceller>(Logger());
    loop_ = std::make_unique<EventLoop>();
    pool_ = std::make_unique<pg::Pool>(*loop_, *canceller_, std::move(settings), Logger());
    loop_->start("group-test");
    loop_->post([p = pool_.get()] { p->start(); });
    // A group only goes out as one when a connection is ready for it.
    ASSERT_TRUE(test::eventually([&] { return idle() == 1; }, 10s))
        << "the pool's connection did not come up";
  }
  void stop_pool() {
    if (loop_) loop_->stop([p = pool_.get()] { p->shutdown(); });
    pool_.reset();
    loop_.reset();
    canceller_.reset();
  }
  std::size_t idle() const {
    PoolStats s;
    pool_->add_stats(s);
    return s.idle;
  }

  static pg::QueryOpPtr op(std::string sql, Params params = {},
                           Milliseconds timeout = Milliseconds(0)) {
    auto o = std::make_shared<pg::QueryOp>();
    o->sql = std::move(sql);
    o->read_only = is_read_only_sql(o->sql);  // as a plan sets it for its steps
    o->params = std::move(params);
    if (timeout.count() > 0) o->deadline = Deadline::after(timeout);
    return o;
  }
  std::vector<Future<QueryResult>> submit_group(std::vector<pg::QueryOpPtr> ops) {
    std::vector<Future<QueryResult>> futures;
    for (auto& o : ops) futures.push_back(o->promise.get_future());
    loop_->post(
        [p = pool_.get(), ops = std::move(ops)]() mutable { p->submit_group(std::move(ops)); });
    return futures;
  }
  std::vector<Result<QueryResult>> run_group(std::vector<pg::QueryOpPtr> ops) {
    std::vector<Result<QueryResult>> out;
    for (auto& f : submit_group(std::move(ops))) out.push_back(test::wait_result(std::move(f)));
    return out;
  }
  static std::string text(const Result<QueryResult>& r, std::size_t column = 0) {
    return r.ok() && !r.value().empty() ? r.value()[0].get<std::string>(column) : "<none>";
  }
  // The connection is still in step after whatever a test did: a fresh group works.
  void expect_usable() {
    auto rs = run_group({op("SELECT $1::int4 + 1", {41}), op("SELECT $1::int4 + 2", {40})});
    ASSERT_OK(rs[0]);
    ASSERT_OK(rs[1]);
    EXPECT_EQ(rs[0].value()[0].get<int>(0), 42);
    EXPECT_EQ(rs[1].value()[0].get<int>(0), 42);
  }

  std::string app_ = test::unique_name("group_sync_test");
  std::unique_ptr<pg::Canceller> canceller_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<pg::Pool> pool_;
};

// now() is the start time of the transaction: equal across the group only if it ran in one.
constexpr const char* kNow = "SELECT now()::text, clock_timestamp()::text";

TEST_F(GroupSyncTest, ReadOnlyGroupRunsInOneTransaction) {
  for (int round = 0; round < 2; ++round) {  // fresh prepared statements, then cached ones
    auto rs =
        run_group({op(kNow), op(std::string(kNow) + " -- b"), op(std::string(kNow) + " -- c")});
    for (auto& r : rs) ASSERT_OK(r);
    EXPECT_EQ(text(rs[0]), text(rs[1])) << "round " << round;
    EXPECT_EQ(text(rs[0]), text(rs[2])) << "round " << round;
    // ... while they really were three statements, one after the other.
    EXPECT_NE(text(rs[0], 1), text(rs[2], 1));
  }
}

TEST_F(GroupSyncTest, SeparateGroupsAndSingleStatementsAreSeparateTransactions) {
  auto a = run_group({op(kNow), op(std::string(kNow) + " -- b")});
  auto b = run_group({op(kNow), op(std::string(kNow) + " -- b")});
  ASSERT_OK(a[0]);
  ASSERT_OK(b[0]);
  EXPECT_NE(text(a[0]), text(b[0]));
}

TEST_F(GroupSyncTest, GroupWithAWriteKeepsOneSyncPerStatement) {
  std::string table = test::unique_name("group_write");
  auto created = run_group({op("CREATE TABLE " + table + " (id int)")});
  ASSERT_OK(created[0]);
  auto rs = run_group({op(kNow), op("INSERT INTO " + table + " VALUES (1) RETURNING now()::text"),
                       op(std::string(kNow) + " -- c")});
  for (auto& r : rs) ASSERT_OK(r);
  EXPECT_NE(text(rs[0]), text(rs[1]));
  EXPECT_NE(text(rs[1]), text(rs[2]));
  // A failing write next to reads: the reads are unaffected, the write's row is not there.
  auto failing = run_group({op("SELECT 1"), op("INSERT INTO " + table + " VALUES (2 / 0)"),
                            op("SELECT count(*)::int FROM " + table)});
  ASSERT_OK(failing[0]);
  ASSERT_FALSE(failing[1].ok());
  EXPECT_EQ(failing[1].error().sqlstate, "22012");
  ASSERT_OK(failing[2]);
  EXPECT_EQ(failing[2].value()[0].get<int>(0), 1);
  run_group({op("DROP TABLE " + table)});
}

TEST_F(GroupSyncTest, FailingMiddleStatementFailsAloneAndTheOthersGetTheirRows) {
  for (int round = 0; round < 3; ++round) {  // fresh prepared statements, then cached ones
    auto rs = run_group({op("SELECT $1::int4 * 10", {1}), op("SELECT 1 / ($1::int4 - 2)", {2}),
                         op("SELECT $1::int4 * 10", {3}), op("SELECT $1::int4 * 100", {4})});
    ASSERT_OK(rs[0]) << "round " << round;
    EXPECT_EQ(rs[0].value()[0].get<int>(0), 10);
    ASSERT_FALSE(rs[1].ok()) << "round " << round;
    EXPECT_EQ(rs[1].error().code, ErrorCode::query);
    EXPECT_EQ(rs[1].error().sqlstate, "22012");
    ASSERT_OK(rs[2]) << "round " << round;
    EXPECT_EQ(rs[2].value()[0].get<int>(0), 30);
    ASSERT_OK(rs[3]) << "round " << round;
    EXPECT_EQ(rs[3].value()[0].get<int>(0), 400);
  }
  expect_usable();
}

TEST_F(GroupSyncTest, EveryStatementGetsItsOwnError) {
  std::string missing = test::unique_name("group_missing");
  auto rs = run_group({op("SELECT 1 / 0"), op("SELECT * FROM " + missing),  // fails at Parse
                       op("SELECT $1::int4", {"not an int"}),               // fails at Bind
                       op("SELECT $1::int4 + 1", {1})});
  ASSERT_FALSE(rs[0].ok());
  EXPECT_EQ(rs[0].error().sqlstate, "22012");
  ASSERT_FALSE(rs[1].ok());
  EXPECT_EQ(rs[1].error().sqlstate, "42P01");
  ASSERT_FALSE(rs[2].ok());
  EXPECT_EQ(rs[2].error().sqlstate, "22P02");
  ASSERT_OK(rs[3]);
  EXPECT_EQ(rs[3].value()[0].get<int>(0), 2);
  expect_usable();
}

TEST_F(GroupSyncTest, StatementThatDependsOnAnAbortedPrepareStillRuns) {
  // The second statement's Parse is aborted by the first one's error; the fourth (same SQL as
  // the second) relied on that prepared statement. Both must still run.
  auto rs = run_group({op("SELECT 1 / 0"), op("SELECT $1::int4 + 100", {1}), op("SELECT 7"),
                       op("SELECT $1::int4 + 100", {2})});
  ASSERT_FALSE(rs[0].ok());
  ASSERT_OK(rs[1]);
  EXPECT_EQ(rs[1].value()[0].get<int>(0), 101);
  ASSERT_OK(rs[2]);
  ASSERT_OK(rs[3]);
  EXPECT_EQ(rs[3].value()[0].get<int>(0), 102);
  expect_usable();
}

TEST_F(GroupSyncTest, TimedOutStatementIsCancelledAndItsNeighboursRun) {
  test::Stopwatch sw;
  auto rs =
      run_group({op("SELECT 1"), op("SELECT pg_sleep(5)", {}, Milliseconds(200)), op("SELECT 3")});
  ASSERT_OK(rs[0]);
  EXPECT_EQ(rs[0].value()[0].get<int>(0), 1);
  ASSERT_FALSE(rs[1].ok());
  EXPECT_EQ(rs[1].error().code, ErrorCode::timeout);
  ASSERT_OK(rs[2]);
  EXPECT_EQ(rs[2].value()[0].get<int>(0), 3);
  EXPECT_LT(sw.elapsed(), 2s);
  expect_usable();
}

TEST_F(GroupSyncTest, TimeoutWhileAnEarlierStatementOfTheGroupRunsStopsTheGroup) {
  // The server holds back the first statement's result until the group's Sync, so the client
  // cannot tell which one runs: the cancel goes out at once. It hits the first statement (a
  // neighbour's cancel: sent again alone), the timed-out one never runs, the third is re-sent.
  std::string marker = test::unique_name("group_timeout_marker");
  test::Stopwatch sw;
  auto fs = submit_group({op("SELECT pg_sleep(0.4) IS NULL"),
                          op("SELECT pg_sleep(5), '" + marker + "'", {}, Milliseconds(100)),
                          op("SELECT 3")});
  auto timed_out = test::wait_result(std::move(fs[1]));
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.error().code, ErrorCode::timeout);
  auto first = test::wait_result(std::move(fs[0]));
  ASSERT_OK(first);
  EXPECT_EQ(first.value().size(), 1u);
  auto third = test::wait_result(std::move(fs[2]));
  ASSERT_OK(third);
  EXPECT_EQ(third.value()[0].get<int>(0), 3);
  EXPECT_LT(sw.elapsed(), 2500ms) << "the timed-out statement ran to its end";
  auto observer = test::connect(test::client_options());
  ASSERT_NE(observer, nullptr);
  auto running = test::run(*observer,
                           "SELECT count(*)::int FROM pg_stat_activity WHERE state = "
                           "'active' AND query LIKE '%" +
                               marker +
                               "%' AND pid <> "
                               "pg_backend_pid()");
  ASSERT_OK(running);
  EXPECT_EQ(running.value()[0].get<int>(0), 0);
  expect_usable();
}

TEST_F(GroupSyncTest, TimeoutBehindAnotherSyncIsCancelledOnceItMayRun) {
  // A statement on its own Sync runs first; the group's timed-out statement is cancelled only
  // once the group may run, and the group's other statements still get their rows.
  auto solo = submit_group({op("SELECT pg_sleep(0.3) IS NULL")});
  test::Stopwatch sw;
  auto fs = submit_group(
      {op("SELECT 1"), op("SELECT pg_sleep(5)", {}, Milliseconds(100)), op("SELECT 3")});
  ASSERT_OK(test::wait_result(std::move(solo[0])));
  auto rs1 = test::wait_result(std::move(fs[1]));
  ASSERT_FALSE(rs1.ok());
  EXPECT_EQ(rs1.error().code, ErrorCode::timeout);
  auto rs0 = test::wait_result(std::move(fs[0]));
  ASSERT_OK(rs0);
  EXPECT_EQ(rs0.value()[0].get<int>(0), 1);
  auto rs2 = test::wait_result(std::move(fs[2]));
  ASSERT_OK(rs2);
  EXPECT_EQ(rs2.value()[0].get<int>(0), 3);
  EXPECT_LT(sw.elapsed(), 2500ms) << "the timed-out statement ran to its end";
  expect_usable();
}

TEST_F(GroupSyncTest, TinyStatementCacheEvictsWithinAGroup) {
  stop_pool();
  start_pool(1);  // every lookup evicts the previous statement; DEALLOCATE follows the Sync
  for (int round = 0; round < 3; ++round) {
    auto rs = run_group({op("SELECT $1::int4 + 1", {round}), op("SELECT $1::int4 + 2", {round}),
                         op("SELECT $1::int4 + 3", {round})});
    for (int i = 0; i < 3; ++i) {
      ASSERT_OK(rs[i]) << "round " << round << " statement " << i;
      EXPECT_EQ(rs[i].value()[0].get<int>(0), round + i + 1);
    }
  }
  expect_usable();
}

}  // namespace
}  // namespace enrich
