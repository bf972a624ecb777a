// Batching (QueryOptions::batch, a plan step's "batch"): statements of one shape submitted in the
// same turn of the I/O thread go to Postgres as one statement over their keys, and each caller
// gets exactly what it would have got alone. Every check compares against the same statement run
// on its own, on the fixture data (every column type, NULLs, awkward text, users without rows,
// missing and NULL keys, duplicate keys). A gate task holds the client's only I/O thread while the
// calls are submitted, so they all reach the batcher in one turn; the metrics then say they were
// batched. No wall-clock assertions.

#include <algorithm>
#include <future>
#include <optional>
#include <set>

#include "core/access.hpp"
#include "pg/batch_sql.hpp"
#include "support/capi_support.hpp"
#include "support/test_support.hpp"

namespace enrich::test {
namespace {

// ---- the text side, without a server ----

TEST(BatchSql, ReplacesOnlyTheKeyParameter) {
  auto out = pg::batch_statement(
      "SELECT $1, $10, $2, '$1', \"$1\", E'\\'$1', $$ $1 $$, $q$ $1 $q$, a$1 -- $1\n"
      "/* $1 /* $1 */ $1 */ FROM t WHERE k = $1;  ",
      "bigint");
  ASSERT_OK(out);
  const std::string key = "\"enrich.batch\".\"key\"";
  EXPECT_EQ(out.value(),
            "SELECT \"enrich.batch\".\"ord\", \"enrich.q\".* FROM unnest($1::bigint[]) WITH "
            "ORDINALITY AS \"enrich.batch\"(\"key\", \"ord\") CROSS JOIN LATERAL (\n"
            "SELECT " +
                key +
                ", $10, $2, '$1', \"$1\", E'\\'$1', $$ $1 $$, $q$ $1 $q$, a$1 -- $1\n"
                "/* $1 /* $1 */ $1 */ FROM t WHERE k = " +
                key + "\n) AS \"enrich.q\"");
}

TEST(BatchSql, RefusesAStatementWithoutTheKeyAndOddTypes) {
  EXPECT_ERROR_CODE(pg::batch_statement("SELECT '$1', $2", "int"), ErrorCode::invalid_argument);
  for (const char* type : {"bigint", "text", "uuid", "double precision", "public.my_type",
                           "varchar(100)", "numeric(10, 2)", "_x1"})
    EXPECT_TRUE(pg::valid_batch_key_type(type)) << type;
  for (const char* type :
       {"", "int[]", "int)", "1int", "int; drop", "text) x (", "numeric()", "a(b)", "\"q\""})
    EXPECT_FALSE(pg::valid_batch_key_type(type)) << type;
}

TEST(BatchSql, ArrayLiteralQuotesEveryValue) {
  Params keys{Param("plain"),   Param(nullptr),       Param("a,b"), Param("{x}"),
              Param("q\"uote"), Param("back\\slash"), Param(""),    Param("NULL")};
  std::vector<const Param*> ptrs;
  for (const auto& k : keys) ptrs.push_back(&k);
  EXPECT_EQ(pg::array_literal(ptrs),
            "{\"plain\",NULL,\"a,b\",\"{x}\",\"q\\\"uote\",\"back\\\\slash\",\"\",\"NULL\"}");
}

// ---- against the server ----

/// A result as comparable values: column names and types, then each row's cells (nullopt: NULL).
struct Table {
  std::vector<std::string> names;
  std::vector<unsigned> types;
  std::vector<std::vector<std::optional<std::string>>> rows;
  bool operator==(const Table&) const = default;
};

Table table_of(const QueryResult& r) {
  Table t;
  for (std::size_t c = 0; c < r.columns(); ++c) {
    t.names.emplace_back(r.column_name(c));
    t.types.push_back(r.column_type(c));
  }
  for (std::size_t i = 0; i < r.size(); ++i) {
    auto& row = t.rows.emplace_back();
    for (std::size_t c = 0; c < r.columns(); ++c)
      row.push_back(r.is_null(i, c) ? std::nullopt
                                    : std::optional<std::string>(std::string(r.text(i, c))));
  }
  return t;
}

std::string describe(const Table& t) {
  std::string out;
  for (const auto& row : t.rows) {
    out += "[";
    for (const auto& cell : row) out += (cell ? "'" + *cell + "'" : "NULL") + ",";
    out += "] ";
  }
  return out;
}

class BatchTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    // The article's tables with the awkward users (scripts/test seeds enrich_fixture).
    fixture_dsn_ = env_or_empty("ENRICH_FIXTURE_DSN");
    ASSERT_FALSE(fixture_dsn_.empty()) << "ENRICH_FIXTURE_DSN is not set";
    auto o = client_options();
    o.dsn = dsn_set(fixture_dsn_, "application_name", unique_name("batch_test"));
    o.io_threads = 1;
    client_ = connect(std::move(o));
    ASSERT_TRUE(client_);
    auto awkward = run(*client_, "SELECT count(*) FROM users WHERE id BETWEEN 1991 AND 1997");
    ASSERT_OK(awkward);
    ASSERT_EQ(awkward->row(0).get<std::int64_t>(0), 7) << "the fixture's awkward users are missing";
  }

  /// Holds the I/O thread until the returned promise is set: calls submitted meanwhile all run
  /// in the turn after it.
  std::shared_ptr<std::promise<void>> gate() {
    auto open = std::make_shared<std::promise<void>>();
    auto entered = std::make_shared<std::promise<void>>();
    auto entered_f = entered->get_future();
    EXPECT_TRUE(
        detail::Access::post_to_io(*client_, [opened = open->get_future().share(), entered] {
          entered->set_value();
          opened.wait();
        }));
    entered_f.wait();
    return open;
  }

  /// Runs `sql` once per key, alone and then batched in one turn, and compares each caller's
  /// answer; `ordered` false compares rows as multisets. Unless `errors_expected`, every key
  /// must succeed alone; and some must find rows (comparing two failures, or nothing with
  /// nothing, would show nothing).
  void expect_same_as_alone(const std::string& sql, const std::string& key_type,
                            const std::vector<Param>& keys, Params rest = {}, bool ordered = true,
                            bool errors_expected = false) {
    std::vector<Result<QueryResult>> alone;
    std::size_t rows = 0;
    for (const auto& k : keys) {
      Params p{k};
      p.insert(p.end(), rest.begin(), rest.end());
      alone.push_back(run(*client_, sql, p));
      if (!errors_expected) {
        ASSERT_OK(alone.back());
      }
      if (alone.back().ok()) rows += alone.back()->size();
    }
    ASSERT_GT(rows, 0u) << sql << ": no key found a row";
    double batched_before = metric_value(*client_, "enrich_statements_batched_total");
    QueryOptions o;
    o.batch = key_type;
    std::vector<Future<QueryResult>> calls;
    auto open = gate();
    for (const auto& k : keys) {
      Params p{k};
      p.insert(p.end(), rest.begin(), rest.end());
      calls.push_back(client_->query(sql, p, o));
    }
    open->set_value();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      auto got = wait_result(std::move(calls[i]));
      const std::string what = sql + " key " + (keys[i].is_null() ? "NULL" : keys[i].text());
      ASSERT_EQ(got.ok(), alone[i].ok())
          << what << ": " << (got.ok() ? alone[i] : got).error().to_string();
      if (!got.ok()) {
        EXPECT_EQ(got.error().sqlstate, alone[i].error().sqlstate) << what;
        continue;
      }
      Table want = table_of(alone[i].value()), have = table_of(got.value());
      if (!ordered) {
        std::sort(want.rows.begin(), want.rows.end());
        std::sort(have.rows.begin(), have.rows.end());
      }
      EXPECT_EQ(have, want) << what << "\nbatched: " << describe(have)
                            << "\nalone:   " << describe(want);
      EXPECT_EQ(got.value().command_tag(), alone[i].value().command_tag()) << what;
      EXPECT_EQ(got.value().affected_rows(), alone[i].value().affected_rows()) << what;
    }
    EXPECT_EQ(metric_value(*client_, "enrich_statements_batched_total") - batched_before,
              static_cast<double>(keys.size()))
        << sql;
  }

  /// The text of `column` for the awkward users and a plain one, then a NULL key.
  std::vector<Param> keys_of(const std::string& column) {
    auto r = run(*client_, "SELECT " + column +
                               "::text FROM users WHERE id IN (1, 1991, 1992, 1993, 1994, 1995, "
                               "1996, 1997) ORDER BY id");
    EXPECT_OK(r);
    std::vector<Param> keys;
    if (!r.ok()) return keys;
    for (std::size_t i = 0; i < r->size(); ++i)
      keys.push_back(r->is_null(i, 0) ? Param(nullptr) : Param(std::string(r->text(i, 0))));
    keys.push_back(Param(nullptr));
    return keys;
  }

  std::string fixture_dsn_;
  std::unique_ptr<Client> client_;
};

TEST_F(BatchTest, ByIdEveryColumnAsAlone) {
  // Awkward users, missing ids (0, -1, 999999999), a NULL key and duplicates.
  std::vector<Param> keys{Param(1),         Param(1991),    Param(1992), Param(1993), Param(1994),
                          Param(1995),      Param(1996),    Param(1997), Param(0),    Param(-1),
                          Param(999999999), Param(nullptr), Param(1994), Param(1)};
  expect_same_as_alone("SELECT * FROM users WHERE id = $1", "bigint", keys);
  expect_same_as_alone("SELECT * FROM user_preferences WHERE user_id = $1", "bigint", keys);
}

TEST_F(BatchTest, PerKeyTopNKeepsItsOrderAndLimit) {
  std::vector<Param> keys{Param(1),    Param(2),       Param(3),    Param(1991),
                          Param(1992), Param(1993),    Param(1994), Param(1995),
                          Param(0),    Param(nullptr), Param(2)};
  // The reference endpoint's activity step.
  expect_same_as_alone(
      "SELECT * FROM activity_log WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 10",
      "bigint", keys);
  // Other parameters ($2) are shared by the batch's callers.
  expect_same_as_alone(
      "SELECT id, action FROM activity_log WHERE user_id = $1 ORDER BY id LIMIT $2", "bigint", keys,
      {Param(3)});
  // No ORDER BY: the rows alone come in no promised order; compared as multisets.
  expect_same_as_alone("SELECT id, duration_ms, metadata FROM activity_log WHERE user_id = $1",
                       "bigint", keys, {}, false);
}

TEST_F(BatchTest, KeysOfEveryColumnTypeAsAlone) {
  const std::pair<const char*, const char*> columns[] = {{"email", "text"},
                                                         {"name", "varchar(100)"},
                                                         {"external_id", "uuid"},
                                                         {"level", "smallint"},
                                                         {"login_count", "integer"},
                                                         {"score", "numeric"},
                                                         {"balance", "double precision"},
                                                         {"birth_date", "date"},
                                                         {"last_login", "timestamp"},
                                                         {"created_at", "timestamptz"},
                                                         {"is_active", "boolean"}};
  for (const auto& [column, type] : columns) {
    SCOPED_TRACE(column);
    auto keys = keys_of(column);
    ASSERT_FALSE(keys.empty());
    expect_same_as_alone(std::string("SELECT id, ") + column + " FROM users WHERE " + column +
                             " = $1 ORDER BY id LIMIT 3",
                         type, keys);
  }
}

TEST_F(BatchTest, AKeyThatFailsFailsOnlyItsOwnCaller) {
  // 'abc' is no bigint: the batch fails (22P02), and every caller runs alone.
  std::vector<Param> keys{Param(1), Param("abc"), Param(2), Param("1e999")};
  double fallbacks = metric_value(*client_, "enrich_batch_fallbacks_total");
  expect_same_as_alone("SELECT id, email FROM users WHERE id = $1", "bigint", keys, {}, true, true);
  EXPECT_EQ(metric_value(*client_, "enrich_batch_fallbacks_total") - fallbacks, 4);
  // An error raised by one key's rows only: 1 / (id - 2) divides by zero for id 2.
  std::vector<Param> more{Param(1), Param(2), Param(3)};
  expect_same_as_alone("SELECT id, 1 / (id - 2) AS q FROM users WHERE id = $1", "bigint", more, {},
                       true, true);
}

TEST_F(BatchTest, OneTurnIsOneStatementAndALoneCallIsSentAsIs) {
  double batches = metric_value(*client_, "enrich_batches_total");
  QueryOptions o;
  o.batch = "bigint";
  std::vector<Future<QueryResult>> calls;
  auto open = gate();
  for (int id = 1; id <= 20; ++id)
    calls.push_back(client_->query("SELECT id FROM users WHERE id = $1", {id}, o));
  open->set_value();
  for (int id = 1; id <= 20; ++id) {
    auto r = wait_result(std::move(calls[static_cast<std::size_t>(id - 1)]));
    ASSERT_OK(r);
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ(r->row(0).get<std::int64_t>(0), id);
  }
  EXPECT_EQ(metric_value(*client_, "enrich_batches_total") - batches, 1);
  double batched = metric_value(*client_, "enrich_statements_batched_total");
  auto alone = run(*client_, "SELECT id FROM users WHERE id = $1", {5}, o);
  ASSERT_OK(alone);
  EXPECT_EQ(alone->command_tag(), "SELECT 1");
  EXPECT_EQ(metric_value(*client_, "enrich_statements_batched_total"), batched);
}

TEST_F(BatchTest, CancellingOneCallerLeavesTheOthersTheirRows) {
  // Advisory locks are per database: the holder uses the batching client's.
  auto admin_options = client_options();
  admin_options.dsn = fixture_dsn_;
  auto admin = connect(std::move(admin_options));
  ASSERT_TRUE(admin);
  auto tx = wait_result(admin->transaction());
  ASSERT_OK(tx);
  const std::int64_t lock_key = 0x6261746368;  // "batch"
  ASSERT_OK(run(tx.value(), "SELECT pg_advisory_xact_lock($1)", {lock_key}));
  // Each key's subquery waits for the lock the test holds.
  const std::string sql =
      "SELECT u.id FROM users u, (SELECT pg_advisory_xact_lock_shared($2)) l WHERE u.id = $1";
  QueryOptions o;
  o.batch = "bigint";
  std::vector<Future<QueryResult>> calls;
  auto open = gate();
  for (int id = 1; id <= 5; ++id) calls.push_back(client_->query(sql, {id, lock_key}, o));
  open->set_value();
  calls[1].cancel();
  auto cancelled = wait_result(std::move(calls[1]));
  EXPECT_ERROR_CODE(cancelled, ErrorCode::cancelled);
  ASSERT_OK(wait_result(tx.value().commit()));
  for (int id : {1, 3, 4, 5}) {
    auto r = wait_result(std::move(calls[static_cast<std::size_t>(id - 1)]));
    ASSERT_OK(r);
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ(r->row(0).get<std::int64_t>(0), id);
  }
  EXPECT_EQ(metric_value(*client_, "enrich_batches_total"), 1);
}

TEST_F(BatchTest, RefusesWhatCannotBeBatched) {
  QueryOptions o;
  o.batch = "bigint";
  EXPECT_ERROR_CODE(run(*client_, "UPDATE users SET level = level WHERE id = $1", {1}, o),
                    ErrorCode::invalid_argument);
  EXPECT_ERROR_CODE(run(*client_, "SELECT 1", {}, o), ErrorCode::invalid_argument);
  o.batch = "int[]";
  EXPECT_ERROR_CODE(run(*client_, "SELECT $1", {1}, o), ErrorCode::invalid_argument);
}

// A statement whose $1 stands only in a literal cannot be rewritten: the calls of one turn are
// each sent as written, and each gets what it gets alone (here Postgres's 42P18 for the
// parameter it cannot type), with no batch sent.
TEST_F(BatchTest, AStatementWithoutItsKeyOutsideLiteralsIsSentAsWritten) {
  const std::string sql = "SELECT $2::int AS n WHERE '$1' <> ''";
  auto alone = run(*client_, sql, {1, 5});
  ASSERT_FALSE(alone.ok());
  ASSERT_FALSE(alone.error().sqlstate.empty()) << alone.error().to_string();
  double batches = metric_value(*client_, "enrich_batches_total");
  QueryOptions o;
  o.batch = "bigint";
  std::vector<Future<QueryResult>> calls;
  auto open = gate();
  for (int k = 1; k <= 3; ++k) calls.push_back(client_->query(sql, {k, 5}, o));
  open->set_value();
  for (auto& f : calls) {
    auto r = wait_result(std::move(f));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().sqlstate, alone.error().sqlstate) << r.error().to_string();
  }
  EXPECT_EQ(metric_value(*client_, "enrich_batches_total"), batches);
}

TEST_F(BatchTest, PlanStepsBatchAcrossRunsAndSaySo) {
  constexpr const char* kPlan = R"({
    "name": "batched_user",
    "inputs": {"userId": {"type": "integer"}},
    "steps": [
      {"name": "user", "sql": "SELECT * FROM users WHERE id = $1", "params": ["userId"],
       "shape": "one", "batch": "bigint"},
      {"name": "recentActivity", "params": ["userId"], "batch": "bigint",
       "sql": "SELECT * FROM activity_log WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 10"}
    ]})";
  std::string unbatched_text = kPlan;
  for (std::size_t at; (at = unbatched_text.find(R"(, "batch": "bigint")")) != std::string::npos;)
    unbatched_text.erase(at, std::string_view(R"(, "batch": "bigint")").size());
  auto batched = Plan::from_json(kPlan);
  ASSERT_OK(batched);
  auto unbatched = Plan::from_json(unbatched_text);
  ASSERT_OK(unbatched);
  const std::int64_t ids[] = {1, 2, 1991, 1992, 1993, 1994, 1995, 1996, 1997, 0, 2};
  RunOptions timed;
  timed.timings = true;
  std::vector<Future<PlanOutput>> runs;
  auto open = gate();
  for (auto id : ids) runs.push_back(client_->run(batched.value(), {{"userId", id}}, timed));
  open->set_value();
  std::size_t i = 0;
  for (auto id : ids) {
    auto got = wait_result(std::move(runs[i++]));
    auto want = wait_result(client_->run(unbatched.value(), {{"userId", id}}));
    ASSERT_EQ(got.ok(), want.ok()) << id;
    if (!got.ok()) continue;
    // Everything but the processing time at the end.
    auto body = [](const std::string& json) { return json.substr(0, json.rfind("\"meta\"")); };
    EXPECT_EQ(body(got->json), body(want->json)) << id;
    ASSERT_TRUE(got->timings);
    for (const auto& step : got->timings->steps) EXPECT_EQ(step.batched, std::size(ids)) << id;
  }
}

// enrich_call_options.batch (version 4): each completion holds its own key's row and tag; a bad
// key type is the call's invalid-argument error; a version-3 struct is never read past its end.
TEST_F(BatchTest, ThroughTheCApi) {
  using namespace capi_test;
  auto client = make_client(fixture_dsn_);
  ASSERT_TRUE(client);
  auto queue = make_queue();
  enrich_call_options o = call_options_init();
  o.batch = "bigint";
  const std::string ids[] = {"3", "1", "2", "999999999", "3"};
  for (const auto& id : ids) {
    const char* params[] = {id.c_str()};
    ASSERT_EQ(enrich_query(client.get(), queue.get(), "SELECT id FROM users WHERE id = $1", params,
                           1, &o, nullptr, nullptr),
              ENRICH_OK);
  }
  std::multiset<std::string> got, want{"3", "1", "2", "3"};
  std::size_t empty = 0;
  for (auto& c : drain(queue.get(), std::size(ids))) {
    ASSERT_EQ(enrich_completion_status(c.get()), ENRICH_OK)
        << error_text(enrich_completion_error(c.get()));
    std::size_t rows = enrich_completion_rows(c.get());
    EXPECT_EQ(std::string(enrich_completion_command_tag(c.get())),
              "SELECT " + std::to_string(rows));
    if (rows == 0) {
      ++empty;
      continue;
    }
    got.insert(enrich_completion_value(c.get(), 0, 0, nullptr));
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(empty, 1u);

  o.batch = "int[]";
  const char* params[] = {"1"};
  ASSERT_EQ(enrich_query(client.get(), queue.get(), "SELECT $1", params, 1, &o, nullptr, nullptr),
            ENRICH_OK);
  auto bad = drain(queue.get(), 1);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(enrich_completion_status(bad[0].get()), ENRICH_ERR_INVALID_ARGUMENT);

  o.version = 3;  // batch is past the end of a version-3 struct: never read
  ASSERT_EQ(
      enrich_query(client.get(), queue.get(), "SELECT $1::int", params, 1, &o, nullptr, nullptr),
      ENRICH_OK);
  auto old = drain(queue.get(), 1);
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(enrich_completion_status(old[0].get()), ENRICH_OK);
}

TEST(BatchPlanValidation, RefusesBatchWhereItCannotApply) {
  auto plan = [](const char* step) {
    return Plan::from_json(
        std::string(R"({"name": "p", "inputs": {"id": {"type": "integer"}}, "steps": [)") + step +
        "]}");
  };
  EXPECT_ERROR_CODE(plan(R"({"name": "w", "sql": "DELETE FROM users WHERE id = $1",
                             "params": ["id"], "batch": "bigint"})"),
                    ErrorCode::invalid_argument);
  EXPECT_ERROR_CODE(plan(R"({"name": "n", "sql": "SELECT 1", "batch": "bigint"})"),
                    ErrorCode::invalid_argument);
  EXPECT_ERROR_CODE(plan(R"({"name": "k", "sql": "SELECT '$1', $2", "params": ["id", "id"],
                             "batch": "bigint"})"),
                    ErrorCode::invalid_argument);
  EXPECT_ERROR_CODE(plan(R"({"name": "t", "sql": "SELECT $1", "params": ["id"],
                             "batch": "int[]"})"),
                    ErrorCode::invalid_argument);
  EXPECT_ERROR_CODE(plan(R"({"name": "h", "http": {"base_url": "http://127.0.0.1:1",
                             "path": "/x"}, "batch": "bigint"})"),
                    ErrorCode::invalid_argument);
  EXPECT_OK(plan(R"({"name": "ok", "sql": "SELECT * FROM users WHERE id = $1",
                     "params": ["id"], "batch": "bigint"})"));
}

}  // namespace
}  // namespace enrich::test
