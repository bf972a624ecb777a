// Prepared statements: reuse, automatic re-prepare after schema changes, the statement cache
// bound, and running without prepared statements.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "enrich/client.hpp"
#include "pg/statement_cache.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;

class PreparedStatementTest : public test::PgTest {
 protected:
  // One connection, so that session state (pg_prepared_statements) is observable.
  std::unique_ptr<Client> single_connection_client(bool prepared = true,
                                                   std::size_t cache_size = 256) {
    auto opts = test::client_options();
    opts.pool.max_connections = 1;
    opts.prepared_statements = prepared;
    opts.statement_cache_size = cache_size;
    return test::connect(opts);
  }

  /// One connection whose log events `log` captures from `level` up.
  static std::unique_ptr<Client> logged_single_connection_client(
      const std::shared_ptr<test::LogCapture>& log, LogLevel level) {
    auto opts = test::client_options();
    opts.pool.max_connections = 1;
    opts.log_sink = log->sink();
    opts.log_level = level;
    return test::connect(opts);
  }

  /// How many prepared statements of this session have exactly this text.
  static Result<std::int64_t> prepared_count(Client& c, const std::string& sql) {
    return test::scalar_int(c, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
                            {sql});
  }

  static std::string prepared_statements_listing(Client& c) {
    auto r = test::run(c, "SELECT name, statement FROM pg_prepared_statements ORDER BY name");
    if (!r.ok()) return r.error().to_string();
    std::string out;
    for (Row row : *r) {
      out += std::string(row.text(0)) + ": " + std::string(row.text(1)) + "\n";
    }
    return out;
  }
};

TEST_F(PreparedStatementTest, SameSqlManyTimesSequentiallyAndConcurrently) {
  auto client = single_connection_client();
  ASSERT_TRUE(client);
  const std::string sql = "SELECT $1::int8 + 1";
  for (int i = 0; i < 50; ++i) {
    auto r = test::run(*client, sql, {i});
    ASSERT_OK(r);
    EXPECT_EQ((*r)[0].get<std::int64_t>(0), i + 1);
  }
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 300; ++i) futures.push_back(client->query(sql, {i}));
  for (int i = 0; i < 300; ++i) {
    auto r = test::wait_result(std::move(futures[i]));
    ASSERT_OK(r);
    EXPECT_EQ((*r)[0].get<std::int64_t>(0), i + 1);
  }
}

TEST_F(PreparedStatementTest, StatementIsPreparedOncePerConnectionAndReused) {
  auto client = single_connection_client();
  ASSERT_TRUE(client);
  const std::string sql = "SELECT $1::int4 * 3 AS reuse_probe";
  for (int i = 0; i < 10; ++i) {
    auto r = test::run(*client, sql, {i});
    ASSERT_OK(r);
  }
  auto n = prepared_count(*client, sql);
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1) << prepared_statements_listing(*client);
}

TEST_F(PreparedStatementTest, SelectStarAfterAddColumnIsRePrepared) {
  auto client = single_connection_client();
  ASSERT_TRUE(client);
  auto admin = test::connect(test::client_options());
  ASSERT_TRUE(admin);
  std::string t = test::unique_name("enrich_t_reprepare");
  auto create = test::run(*admin, "CREATE TABLE " + t + " (a int)");
  ASSERT_OK(create);
  test::TableGuard guard(*admin, t);
  auto ins = test::run(*admin, "INSERT INTO " + t + " VALUES (1)");
  ASSERT_OK(ins);

  const std::string select_all = "SELECT * FROM " + t;
  const std::string select_where = "SELECT * FROM " + t + " WHERE a = $1";
  for (int i = 0; i < 3; ++i) {
    auto r = test::run(*client, select_all);
    ASSERT_OK(r);
    EXPECT_EQ(r->columns(), 1u);
    auto w = test::run(*client, select_where, {1});
    ASSERT_OK(w);
  }

  // Schema change from another session: the cached plan's result type changes.
  auto alter = test::run(*admin, "ALTER TABLE " + t + " ADD COLUMN b text DEFAULT 'new'");
  ASSERT_OK(alter);

  auto r = test::run(*client, select_all);
  ASSERT_OK(r) << "expected an automatic re-prepare after 'cached plan must not change result "
                  "type'";
  ASSERT_EQ(r->columns(), 2u);
  EXPECT_EQ(r->column_name(1), "b");
  EXPECT_EQ((*r)[0].get<std::string>("b"), "new");
  auto w = test::run(*client, select_where, {1});
  ASSERT_OK(w);
  EXPECT_EQ(w->columns(), 2u);

  // Changing a column's type changes the result type too.
  auto alter2 = test::run(*admin, "ALTER TABLE " + t + " ALTER COLUMN a TYPE bigint");
  ASSERT_OK(alter2);
  auto r2 = test::run(*client, select_all);
  ASSERT_OK(r2);
  EXPECT_EQ(r2->column_type(0), oid::int8);

  // The statement keeps working afterwards.
  auto r3 = test::run(*client, select_all);
  ASSERT_OK(r3);
}

TEST_F(PreparedStatementTest, SelectStarAfterTableIsRecreatedIsRePrepared) {
  auto client = single_connection_client();
  ASSERT_TRUE(client);
  std::string t = test::unique_name("enrich_t_recreate");
  auto create = test::run(*client, "CREATE TABLE " + t + " (a int)");
  ASSERT_OK(create);
  test::TableGuard guard(*client, t);
  auto r1 = test::run(*client, "SELECT * FROM " + t);
  ASSERT_OK(r1);
  auto drop = test::run(*client, "DROP TABLE " + t);
  ASSERT_OK(drop);
  auto recreate = test::run(*client, "CREATE TABLE " + t + " (x text, y text, z text)");
  ASSERT_OK(recreate);
  auto ins = test::run(*client, "INSERT INTO " + t + " VALUES ('1', '2', '3')");
  ASSERT_OK(ins);
  auto r2 = test::run(*client, "SELECT * FROM " + t);
  ASSERT_OK(r2);
  EXPECT_EQ(r2->columns(), 3u);
  EXPECT_EQ((*r2)[0].get<std::string>("z"), "3");
}

TEST_F(PreparedStatementTest, StatementCacheIsBounded) {
  auto client = single_connection_client(true, 4);
  ASSERT_TRUE(client);
  for (int round = 0; round < 2; ++round) {
    for (int k = 0; k < 20; ++k) {
      auto r = test::run(*client, "SELECT $1::int4 + " + std::to_string(k), {100});
      ASSERT_OK(r);
      EXPECT_EQ((*r)[0].get<int>(0), 100 + k);
    }
  }
  auto n = test::scalar_int(*client, "SELECT count(*) FROM pg_prepared_statements");
  ASSERT_OK(n);
  EXPECT_LE(*n, 5) << "statement_cache_size=4 (+1 for the count query itself):\n"
                   << prepared_statements_listing(*client);
  EXPECT_GE(*n, 1) << "prepared_statements=true should leave named statements on the session";

  // Evicted statements are prepared again when used.
  for (int k = 0; k < 20; ++k) {
    auto r = test::run(*client, "SELECT $1::int4 + " + std::to_string(k), {1});
    ASSERT_OK(r);
    EXPECT_EQ((*r)[0].get<int>(0), 1 + k);
  }
  auto n2 = test::scalar_int(*client, "SELECT count(*) FROM pg_prepared_statements");
  ASSERT_OK(n2);
  EXPECT_LE(*n2, 5) << prepared_statements_listing(*client);
}

TEST_F(PreparedStatementTest, StatementCacheEvictionWithPipelinedQueries) {
  // Many distinct statements in flight at once on one connection with a tiny cache: eviction
  // must not deallocate a statement that a queued query still needs.
  auto client = single_connection_client(true, 2);
  ASSERT_TRUE(client);
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 200; ++i) {
    futures.push_back(client->query("SELECT $1::int4 * " + std::to_string(i % 7), {i}));
  }
  for (int i = 0; i < 200; ++i) {
    auto r = test::wait_result(std::move(futures[i]));
    ASSERT_OK(r) << "query " << i;
    EXPECT_EQ((*r)[0].get<int>(0), i * (i % 7));
  }
}

TEST_F(PreparedStatementTest, WithoutPreparedStatementsEverythingWorks) {
  auto client = single_connection_client(false);
  ASSERT_TRUE(client);
  std::string t = test::unique_name("enrich_t_noprep");
  auto create = test::run(*client, "CREATE TABLE " + t + " (a int)");
  ASSERT_OK(create);
  test::TableGuard guard(*client, t);

  auto params = test::run(*client, "SELECT $1::int4 + $2::int8, $3::text, $4::bool, $5::int4",
                          {1, std::int64_t{2}, "text 'q' \"d\"", true, nullptr});
  ASSERT_OK(params);
  EXPECT_EQ((*params)[0].get<std::int64_t>(0), 3);
  EXPECT_EQ((*params)[0].get<std::string>(1), "text 'q' \"d\"");
  EXPECT_TRUE((*params)[0].get<bool>(2));
  EXPECT_TRUE((*params)[0].is_null(3));

  auto err = test::run(*client, "SELECT 1/0");
  ASSERT_ERROR_CODE(err, ErrorCode::query);
  EXPECT_EQ(err.error().sqlstate, "22012");

  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 100; ++i) {
    futures.push_back(i == 50 ? client->query("SELECT 1/0")
                              : client->query("SELECT $1::int4", {i}));
  }
  for (int i = 0; i < 100; ++i) {
    auto r = test::wait_result(std::move(futures[i]));
    if (i == 50) {
      EXPECT_ERROR_CODE(r, ErrorCode::query);
    } else {
      ASSERT_OK(r);
      EXPECT_EQ((*r)[0].get<int>(0), i);
    }
  }

  auto s1 = test::run(*client, "SELECT * FROM " + t);
  ASSERT_OK(s1);
  auto alter = test::run(*client, "ALTER TABLE " + t + " ADD COLUMN b int");
  ASSERT_OK(alter);
  auto s2 = test::run(*client, "SELECT * FROM " + t);
  ASSERT_OK(s2);
  EXPECT_EQ(s2->columns(), 2u);

  auto tx = test::wait_result(client->transaction());
  ASSERT_OK(tx);
  auto ins = test::run(*tx, "INSERT INTO " + t + " VALUES ($1, $2)", {1, 2});
  ASSERT_OK(ins);
  auto commit = test::wait_result(tx->commit());
  ASSERT_OK(commit);

  auto n = test::scalar_int(*client, "SELECT count(*) FROM pg_prepared_statements");
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0) << "prepared_statements=false must not create named statements:\n"
                   << prepared_statements_listing(*client);
}

// What a pooler in transaction mode does, made deterministic on one direct connection: the
// server connection no longer has a statement this connection prepared (26000). The statement is
// run again unnamed, and the whole client sends statements unnamed from then on.
TEST_F(PreparedStatementTest, StatementGoneFromTheServerSwitchesToUnnamedAndRetries) {
  auto log = test::LogCapture::make();
  auto client = logged_single_connection_client(log, LogLevel::warning);
  ASSERT_TRUE(client);
  const std::string sql = "SELECT $1::int8 + 40 AS gone_probe";
  ASSERT_OK(test::run(*client, sql, {std::int64_t{2}}));
  ASSERT_OK(test::run(*client, "DEALLOCATE " + pg::statement_name(sql, 1)));

  auto r = test::run(*client, sql, {std::int64_t{2}});
  ASSERT_OK(r);
  EXPECT_EQ((*r)[0].get<std::int64_t>(0), 42);
  bool switched = false;
  for (const auto& e : log->events()) switched = switched || e.name == "pg.named_statements_off";
  EXPECT_TRUE(switched);
  // Unnamed from now on: a new statement is not prepared on the session.
  const std::string fresh = "SELECT $1::int8 + 1 AS after_switch";
  ASSERT_OK(test::run(*client, fresh, {std::int64_t{1}}));
  auto n = prepared_count(*client, fresh);
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0) << prepared_statements_listing(*client);
}

// Inside a transaction the statement cannot be run again elsewhere: the transaction fails with
// an error that says why and what to do.
TEST_F(PreparedStatementTest, StatementGoneInsideATransactionFailsWithAClearError) {
  auto client = single_connection_client();
  ASSERT_TRUE(client);
  const std::string sql = "SELECT $1::int8 AS tx_gone_probe";
  auto tx = test::wait_result(client->transaction());
  ASSERT_OK(tx);
  ASSERT_OK(test::run(*tx, sql, {std::int64_t{1}}));
  ASSERT_OK(test::run(*tx, "DEALLOCATE " + pg::statement_name(sql, 1)));
  auto r = test::run(*tx, sql, {std::int64_t{1}});
  ASSERT_ERROR_CODE(r, ErrorCode::query);
  EXPECT_EQ(r.error().sqlstate, "26000");
  EXPECT_TRUE(test::contains_icase(r.error().message, "run the transaction again"))
      << r.error().message;
  (void)test::wait_result(tx->rollback());
  // The client goes on, unnamed.
  auto after = test::run(*client, sql, {std::int64_t{7}});
  ASSERT_OK(after);
  EXPECT_EQ((*after)[0].get<std::int64_t>(0), 7);
}

// A user's own PREPARE or EXECUTE failing with 42P05 / 26000 is their error, not a sign of a
// pooler: named statements stay on.
TEST_F(PreparedStatementTest, UsersOwnPrepareErrorsDoNotTurnNamedStatementsOff) {
  auto log = test::LogCapture::make();
  auto client = logged_single_connection_client(log, LogLevel::warning);
  ASSERT_TRUE(client);
  ASSERT_OK(test::run(*client, "PREPARE users_own AS SELECT 1"));
  auto again = test::run(*client, "PREPARE users_own AS SELECT 1");
  ASSERT_ERROR_CODE(again, ErrorCode::query);
  EXPECT_EQ(again.error().sqlstate, "42P05");
  auto missing = test::run(*client, "EXECUTE users_missing");
  ASSERT_ERROR_CODE(missing, ErrorCode::query);
  EXPECT_EQ(missing.error().sqlstate, "26000");
  for (const auto& e : log->events()) EXPECT_NE(e.name, "pg.named_statements_off");
  const std::string sql = "SELECT $1::int4 AS still_named";
  ASSERT_OK(test::run(*client, sql, {1}));
  auto n = prepared_count(*client, sql);
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1) << prepared_statements_listing(*client);
}

// A statement whose first run fails after its Parse succeeded (here division by zero) is still
// prepared on the server: the next run executes it instead of preparing the same name again,
// which would fail with 42P05 and turn named statements off.
TEST_F(PreparedStatementTest, StatementWhoseFirstRunFailedIsReusedNotPreparedAgain) {
  auto log = test::LogCapture::make();
  auto client = logged_single_connection_client(log, LogLevel::debug);
  ASSERT_TRUE(client);
  const std::string sql = "SELECT 10 / $1::int4 AS first_run_fails";
  auto failed = test::run(*client, sql, {0});
  ASSERT_ERROR_CODE(failed, ErrorCode::query);
  EXPECT_EQ(failed.error().sqlstate, "22012");
  auto ok = test::run(*client, sql, {5});
  ASSERT_OK(ok);
  EXPECT_EQ((*ok)[0].get<int>(0), 2);
  for (const auto& e : log->events()) {
    EXPECT_NE(e.name, "pg.named_statements_off");
    EXPECT_NE(e.name, "pg.statement_retried");
  }
  auto n = prepared_count(*client, sql);
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1) << prepared_statements_listing(*client);
}

// Names come from the statement, so the DSN can say statement_cache=off for every front end.
TEST_F(PreparedStatementTest, StatementCacheOffInTheDsnWinsOverTheOption) {
  auto opts = test::client_options();
  opts.pool.max_connections = 1;
  opts.prepared_statements = true;
  opts.dsn = test::dsn_set(opts.dsn, "statement_cache", "off");
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  for (int i = 0; i < 3; ++i) ASSERT_OK(test::run(*client, "SELECT $1::int4 AS off_probe", {i}));
  auto n = test::scalar_int(*client, "SELECT count(*) FROM pg_prepared_statements");
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0) << prepared_statements_listing(*client);
}

}  // namespace
}  // namespace enrich
