// Through PgBouncer in transaction mode (scripts/pgbouncer, Debian's 1.18, a pool of 4 server
// connections), where a statement name prepared through one client connection can reach a server
// connection that another client prepared. Every caller must get its own rows or its own error.
//
// Environment: ENRICH_PGBOUNCER_DSN (scripts/test starts PgBouncer and exports it; these tests
// fail without it), ENRICH_FIXTURE_DSN (the seeded enrich_fixture database, direct, whose
// TimeZone is Asia/Kolkata).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "enrich/client.hpp"
#include "enrich/plan.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;
using test::env_or_empty;

// The DSN of `database` on the server behind `dsn` (a URI).
std::string with_database(const std::string& dsn, const std::string& database) {
  auto query = dsn.find('?');
  std::string base = dsn.substr(0, query);
  return base.substr(0, base.rfind('/') + 1) + database +
         (query == std::string::npos ? "" : dsn.substr(query));
}

class PgBouncerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bouncer_dsn_ = env_or_empty("ENRICH_PGBOUNCER_DSN");
    if (bouncer_dsn_.empty())
      FAIL() << "ENRICH_PGBOUNCER_DSN is not set (scripts/test starts scripts/pgbouncer; by hand: "
                "scripts/pgbouncer start && eval \"$(scripts/pgbouncer env)\")";
    fixture_dsn_ = env_or_empty("ENRICH_FIXTURE_DSN");
    if (fixture_dsn_.empty()) FAIL() << "ENRICH_FIXTURE_DSN is not set (scripts/test sets it)";
  }

  std::unique_ptr<Client> connect(const std::string& dsn,
                                  std::shared_ptr<test::LogCapture> log = {}) {
    ClientOptions o = test::client_options();
    o.dsn = dsn;
    if (log) {
      o.log_sink = log->sink();
      o.log_level = LogLevel::info;
    }
    return test::connect(std::move(o));
  }

  static bool logged(const test::LogCapture& log, std::string_view name) {
    for (const auto& e : log.events())
      if (e.name == name) return true;
    return false;
  }

  std::string bouncer_dsn_, fixture_dsn_;
};

// The reproduction: many concurrent callers, four statements of the same shape. Before
// statement names were derived from the statement, 57% of such calls got another statement's
// result through PgBouncer and 2% failed with 42P05.
void expect_each_caller_gets_its_own_rows(Client& client, int calls) {
  std::vector<Future<QueryResult>> futures;
  futures.reserve(static_cast<std::size_t>(calls));
  for (int i = 0; i < calls; ++i) {
    int k = i % 4;
    futures.push_back(
        client.query("SELECT $1::int8 + " + std::to_string(k) + " AS id", {std::int64_t{i}}));
  }
  int wrong = 0, errors = 0;
  std::string first_error;
  for (int i = 0; i < calls; ++i) {
    auto r = test::wait_result(std::move(futures[static_cast<std::size_t>(i)]));
    if (!r.ok()) {
      if (errors++ == 0) first_error = r.error().to_string();
      continue;
    }
    if (r->size() != 1 || (*r)[0].get<std::int64_t>(0) != i + i % 4) ++wrong;
  }
  EXPECT_EQ(wrong, 0) << "of " << calls << " calls";
  EXPECT_EQ(errors, 0) << "of " << calls << " calls; first: " << first_error;
}

TEST_F(PgBouncerTest, EachCallerGetsItsOwnRowsByDefault) {
  auto log = test::LogCapture::make();
  auto client = connect(bouncer_dsn_, log);
  ASSERT_TRUE(client);
  expect_each_caller_gets_its_own_rows(*client, 10000);
  // Found by the connect-time probe: PgBouncer's cancel key is not the backend's process id.
  EXPECT_TRUE(logged(*log, "pg.pooler_detected"));
}

TEST_F(PgBouncerTest, EachCallerGetsItsOwnRowsWithStatementCacheOff) {
  auto log = test::LogCapture::make();
  auto client = connect(test::dsn_set(bouncer_dsn_, "statement_cache", "off"), log);
  ASSERT_TRUE(client);
  expect_each_caller_gets_its_own_rows(*client, 10000);
  EXPECT_FALSE(logged(*log, "pg.pooler_detected"));  // no probe needed: nothing is named
}

// statement_cache=on keeps named statements behind a detected pooler (for poolers that track
// them). PgBouncer 1.18 does not: the first 42P05 or 26000 switches the client to unnamed
// statements and the statement is run again, so callers still get their own rows, no errors.
TEST_F(PgBouncerTest, ForcedNamedStatementsFallBackOnTheFirstConflict) {
  for (int round = 0; round < 3; ++round) {
    auto log = test::LogCapture::make();
    auto client = connect(test::dsn_set(bouncer_dsn_, "statement_cache", "on"), log);
    ASSERT_TRUE(client);
    expect_each_caller_gets_its_own_rows(*client, 4000);
  }
}

// Errors travel in the pipeline too: a failing statement must never take a neighbour's result
// or abort it, whichever server connection PgBouncer hands out.
TEST_F(PgBouncerTest, FailingStatementsNeverDisturbTheirNeighbours) {
  auto client = connect(bouncer_dsn_);
  ASSERT_TRUE(client);
  constexpr int kCalls = 4000;
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < kCalls; ++i) {
    futures.push_back(i % 5 == 0
                          ? client->query("SELECT 1 / ($1::int8 - $1::int8)", {std::int64_t{i}})
                          : client->query("SELECT $1::int8 * 2", {std::int64_t{i}}));
  }
  for (int i = 0; i < kCalls; ++i) {
    auto r = test::wait_result(std::move(futures[static_cast<std::size_t>(i)]));
    if (i % 5 == 0) {
      ASSERT_FALSE(r.ok()) << i;
      EXPECT_EQ(r.error().sqlstate, "22012") << r.error().to_string();
    } else {
      ASSERT_OK(r);
      EXPECT_EQ((*r)[0].get<std::int64_t>(0), 2 * i);
    }
  }
}

TEST_F(PgBouncerTest, TransactionsCommitAndRollBack) {
  auto direct = connect(test::test_dsn());
  ASSERT_TRUE(direct);
  std::string table = test::unique_name("pgb_tx");
  ASSERT_OK(test::run(*direct, "CREATE TABLE " + table + " (v int)"));
  test::TableGuard guard(*direct, table);
  auto client = connect(bouncer_dsn_);
  ASSERT_TRUE(client);
  for (int i = 0; i < 20; ++i) {
    auto tx = test::wait_result(client->transaction());
    ASSERT_OK(tx);
    ASSERT_OK(test::run(tx.value(), "INSERT INTO " + table + " VALUES ($1)", {i}));
    ASSERT_OK(test::run(tx.value(), "INSERT INTO " + table + " VALUES ($1)", {i}));
    if (i % 2 == 0)
      ASSERT_OK(test::wait_result(tx.value().commit()));
    else
      ASSERT_OK(test::wait_result(tx.value().rollback()));
  }
  auto n = test::scalar_int(*direct, "SELECT count(*)::int8 FROM " + table);
  ASSERT_OK(n);
  EXPECT_EQ(n.value(), 20);  // 10 committed transactions of two rows
}

// PgBouncer 1.18 rejects the `options` startup parameter and any SET is lost between its
// transactions, so results must not depend on the session's TimeZone: the reference plan gives
// the same JSON direct and through PgBouncer on a database whose TimeZone is +05:30.
TEST_F(PgBouncerTest, ReferencePlanGivesTheSameJsonAsDirectInANonUtcDatabase) {
  auto direct = connect(fixture_dsn_);
  auto bounced = connect(with_database(bouncer_dsn_, "enrich_fixture"));
  ASSERT_TRUE(direct && bounced);
  for (Client* c : {direct.get(), bounced.get()}) {
    auto zone = test::run(*c, "SHOW TimeZone");
    ASSERT_OK(zone);
    ASSERT_EQ((*zone)[0].get<std::string>(0), "Asia/Kolkata")
        << "scripts/test gives enrich_fixture a non-UTC TimeZone; without it this proves nothing";
  }
  std::string plans = std::string(ENRICH_SOURCE_DIR) + "/examples/plans/";
  PlanVariables vars{{"ANALYTICS_URL", "http://127.0.0.1:1"}};
  const std::pair<const char*, const char*> files[] = {{"user_enriched.json", "userId"},
                                                       {"user_enriched_python.json", "user_id"}};
  for (auto [file, input] : files) {
    auto plan = Plan::load(plans + file, vars);
    ASSERT_OK(plan);
    for (JsonProfile profile : {JsonProfile::postgres, JsonProfile::node, JsonProfile::python}) {
      RunOptions options;
      options.profile = profile;
      std::vector<Future<PlanOutput>> a, b;
      for (std::int64_t id = 1; id <= 200; ++id) {
        Inputs in{{input, id}};
        a.push_back(direct->run(*plan, in, options));
        b.push_back(bounced->run(*plan, in, options));
      }
      for (std::size_t i = 0; i < a.size(); ++i) {
        auto x = test::wait_result(std::move(a[i]));
        auto y = test::wait_result(std::move(b[i]));
        ASSERT_OK(x);
        ASSERT_OK(y);
        // meta.processingTimeMs differs from run to run; it is the document's last key.
        auto cut = [](const std::string& s) { return s.substr(0, s.rfind(",\"meta\":")); };
        ASSERT_EQ(cut(x->json), cut(y->json))
            << file << " " << to_string(profile) << " id " << i + 1;
        EXPECT_EQ(x->json.find("+05:30"), std::string::npos) << x->json;  // timestamps in UTC
      }
    }
  }
}

}  // namespace
}  // namespace enrich
