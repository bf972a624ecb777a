// Single-flight (QueryOptions::coalesce, a plan step's "coalesce"): identical statements in
// flight at once share one server execution, which a server-side counter shows (a sequence the
// probe function advances each time it runs). The probe first waits for an advisory lock the test
// holds, so every call is in flight before any finishes; a task posted to the (single) I/O thread
// after the calls tells the test that they have all reached the coalescer. No wall-clock
// assertions: each test counts executions and checks what every caller received.

#include <random>

#include "core/access.hpp"
#include "support/capi_support.hpp"
#include "support/test_support.hpp"

namespace enrich::test {
namespace {

class CoalesceTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    admin_ = connect(client_options());
    ASSERT_TRUE(admin_);
    seq_ = unique_name("coalesce_seq");
    fn_ = unique_name("coalesce_probe");
    std::mt19937_64 rng{std::random_device{}()};
    lock_key_ = static_cast<std::int64_t>(rng() >> 2);
    ASSERT_OK(run(*admin_, "CREATE SEQUENCE " + seq_));
    auto created =
        run(*admin_, "CREATE FUNCTION " + fn_ +
                         "(tag int, fail bool) RETURNS bigint LANGUAGE plpgsql AS $$ "
                         "DECLARE n bigint; BEGIN PERFORM pg_advisory_xact_lock_shared(" +
                         std::to_string(lock_key_) + "); n := nextval('" + seq_ +
                         "'); IF fail THEN RAISE EXCEPTION 'probe % failed', tag "
                         "USING ERRCODE = '22012'; END IF; RETURN n; END $$");
    ASSERT_OK(created);
    app_ = unique_name("coalesce_app");
  }

  void TearDown() override {
    if (holder_) (void)wait_result(holder_->rollback(), 10s);
    holder_.reset();
    if (!admin_) return;
    (void)run(*admin_, "DROP FUNCTION IF EXISTS " + fn_ + "(int, bool)", {}, {}, 10s);
    (void)run(*admin_, "DROP SEQUENCE IF EXISTS " + seq_, {}, {}, 10s);
  }

  std::unique_ptr<Client> probe_client(std::size_t max_result_bytes = 1024 * 1024) {
    auto o = client_options(app_);
    o.coalesce_max_result_bytes = max_result_bytes;
    return connect(std::move(o));
  }

  /// Takes the advisory lock: every probe waits on the server until release().
  void hold() {
    auto tx = wait_result(admin_->transaction());
    ASSERT_OK(tx);
    holder_ = std::make_unique<Transaction>(std::move(tx).value());
    ASSERT_OK(run(*holder_, "SELECT pg_advisory_xact_lock($1)", {lock_key_}));
  }
  void release() {
    ASSERT_TRUE(holder_);
    ASSERT_OK(wait_result(holder_->commit()));
    holder_.reset();
  }

  /// Server executions of the probe so far.
  std::int64_t executions() {
    auto n =
        scalar_int(*admin_, "SELECT coalesce(pg_sequence_last_value($1::regclass), 0)", {seq_});
    EXPECT_OK(n);
    return n.ok() ? n.value() : -1;
  }

  /// Backends of the probe clients waiting for a lock (the probe's advisory lock).
  std::int64_t lock_waiters() {
    auto n = scalar_int(*admin_,
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 "
                        "AND wait_event_type = 'Lock'",
                        {app_});
    return n.ok() ? n.value() : -1;
  }

  /// Returns once every task posted to the client's I/O thread before it has run.
  static void barrier(Client& c) {
    auto done = std::make_shared<Promise<Unit>>();
    auto f = done->get_future();
    ASSERT_TRUE(detail::Access::post_to_io(c, [done] { done->set_value(Unit{}); }));
    ASSERT_OK(wait_result(std::move(f)));
  }

  std::string probe_sql() const { return "SELECT " + fn_ + "($1::int, $2::bool) AS n"; }

  Future<QueryResult> probe(Client& c, int tag, bool fail = false, QueryOptions o = {}) {
    o.coalesce = true;
    return c.query(probe_sql(), {tag, fail}, o);
  }

  std::unique_ptr<Client> admin_;
  std::unique_ptr<Transaction> holder_;
  std::string seq_, fn_, app_;
  std::int64_t lock_key_ = 0;
};

TEST_F(CoalesceTest, ConcurrentIdenticalCallsShareOneExecution) {
  auto client = probe_client();
  ASSERT_TRUE(client);
  hold();
  constexpr int kCalls = 20;
  std::vector<Future<QueryResult>> calls;
  for (int i = 0; i < kCalls; ++i) calls.push_back(probe(*client, 7));
  barrier(*client);
  release();
  for (auto& f : calls) {
    auto r = wait_result(std::move(f));
    ASSERT_OK(r);
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ(r->row(0).get<std::int64_t>(0), 1);
  }
  EXPECT_EQ(executions(), 1);
  EXPECT_EQ(metric_value(*client, "enrich_statements_coalesced_total"), kCalls - 1);
}

TEST_F(CoalesceTest, CallsWithoutTheOptionAreNotShared) {
  auto client = probe_client();
  ASSERT_TRUE(client);
  hold();
  std::vector<Future<QueryResult>> calls;
  for (int i = 0; i < 4; ++i) calls.push_back(client->query(probe_sql(), {7, false}));
  barrier(*client);
  release();
  for (auto& f : calls) ASSERT_OK(wait_result(std::move(f)));
  EXPECT_EQ(executions(), 4);
  EXPECT_EQ(metric_value(*client, "enrich_statements_coalesced_total"), 0);
}

TEST_F(CoalesceTest, DifferentParametersAreNotShared) {
  auto client = probe_client();
  ASSERT_TRUE(client);
  hold();
  std::vector<Future<QueryResult>> ones, twos;
  for (int i = 0; i < 3; ++i) {
    ones.push_back(probe(*client, 1));
    twos.push_back(probe(*client, 2));
  }
  barrier(*client);
  release();
  std::set<std::int64_t> seen_one, seen_two;
  for (auto& f : ones) {
    auto r = wait_result(std::move(f));
    ASSERT_OK(r);
    seen_one.insert(r->row(0).get<std::int64_t>(0));
  }
  for (auto& f : twos) {
    auto r = wait_result(std::move(f));
    ASSERT_OK(r);
    seen_two.insert(r->row(0).get<std::int64_t>(0));
  }
  EXPECT_EQ(executions(), 2);
  EXPECT_EQ(seen_one.size(), 1u);
  EXPECT_EQ(seen_two.size(), 1u);
  EXPECT_NE(*seen_one.begin(), *seen_two.begin());
}

TEST_F(CoalesceTest, CancellingOneCallerLeavesTheOthersWithTheResult) {
  auto client = probe_client();
  ASSERT_TRUE(client);
  hold();
  std::vector<Future<QueryResult>> calls;
  for (int i = 0; i < 5; ++i) calls.push_back(probe(*client, 3));
  barrier(*client);
  // The first caller, whose call started the execution, and one in the middle.
  calls[0].cancel();
  calls[2].cancel();
  for (int i : {0, 2}) {
    auto r = wait_result(std::move(calls[static_cast<std::size_t>(i)]));
    EXPECT_ERROR_CODE(r, ErrorCode::cancelled);
  }
  release();
  for (int i : {1, 3, 4}) {
    auto r = wait_result(std::move(calls[static_cast<std::size_t>(i)]));
    ASSERT_OK(r);
    EXPECT_EQ(r->row(0).get<std::int64_t>(0), 1);
  }
  EXPECT_EQ(executions(), 1);
}

TEST_F(CoalesceTest, OneCallerTimingOutLeavesTheOthersWithTheResult) {
  auto client = probe_client();
  ASSERT_TRUE(client);
  hold();
  QueryOptions short_timeout;
  short_timeout.timeout = 50ms;
  auto first = probe(*client, 4, false, short_timeout);
  auto second = probe(*client, 4);
  auto third = probe(*client, 4, false, short_timeout);
  barrier(*client);
  auto r1 = wait_result(std::move(first));
  EXPECT_ERROR_CODE(r1, ErrorCode::timeout);
  auto r3 = wait_result(std::move(third));
  EXPECT_ERROR_CODE(r3, ErrorCode::timeout);
  release();
  auto r = wait_result(std::move(second));
  ASSERT_OK(r);
  EXPECT_EQ(r->row(0).get<std::int64_t>(0), 1);
  EXPECT_EQ(executions(), 1);
}

TEST_F(CoalesceTest, EveryCallerGivingUpCancelsTheExecutionOnTheServer) {
  auto client = probe_client();
  ASSERT_TRUE(client);
  hold();
  std::vector<Future<QueryResult>> calls;
  for (int i = 0; i < 3; ++i) calls.push_back(probe(*client, 5));
  barrier(*client);
  EXPECT_EQ(metric_value(*client, "enrich_statements_coalesced_total"), 2);
  // The execution is on the server, waiting for the lock, before the callers give up.
  EXPECT_TRUE(eventually([&] { return lock_waiters() == 1; }, 10s));
  for (auto& f : calls) f.cancel();
  for (auto& f : calls) {
    auto r = wait_result(std::move(f));
    EXPECT_ERROR_CODE(r, ErrorCode::cancelled);
  }
  // The cancel reaches the server asynchronously: wait until the probe client's backend waits
  // for the lock no more, then let go of it. Had the execution gone on, it would still wait.
  bool stopped = eventually([&] { return lock_waiters() == 0; }, 10s);
  EXPECT_TRUE(stopped);
  release();
  EXPECT_EQ(executions(), 0);
}

TEST_F(CoalesceTest, AnErrorReachesEveryCaller) {
  auto client = probe_client();
  ASSERT_TRUE(client);
  hold();
  std::vector<Future<QueryResult>> calls;
  for (int i = 0; i < 5; ++i) calls.push_back(probe(*client, 6, true));
  barrier(*client);
  release();
  for (auto& f : calls) {
    auto r = wait_result(std::move(f));
    ASSERT_ERROR_CODE(r, ErrorCode::query);
    EXPECT_EQ(r.error().sqlstate, "22012");
    EXPECT_NE(r.error().message.find("probe 6 failed"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(executions(), 1);  // nextval() is not rolled back with the failed statement
}

TEST_F(CoalesceTest, NeverInsideATransaction) {
  auto client = probe_client();
  ASSERT_TRUE(client);
  auto tx1 = wait_result(client->transaction());
  ASSERT_OK(tx1);
  auto tx2 = wait_result(client->transaction());
  ASSERT_OK(tx2);
  hold();
  QueryOptions o;
  o.coalesce = true;
  auto in1 = tx1->query(probe_sql(), {8, false}, o);
  auto in2 = tx2->query(probe_sql(), {8, false}, o);
  auto outside = probe(*client, 8);
  barrier(*client);
  release();
  ASSERT_OK(wait_result(std::move(in1)));
  ASSERT_OK(wait_result(std::move(in2)));
  ASSERT_OK(wait_result(std::move(outside)));
  EXPECT_EQ(executions(), 3);
  EXPECT_EQ(metric_value(*client, "enrich_statements_coalesced_total"), 0);
  EXPECT_OK(wait_result(tx1->commit()));
  EXPECT_OK(wait_result(tx2->commit()));
}

TEST_F(CoalesceTest, ResultsOverTheSizeLimitAreNotShared) {
  auto client = probe_client(/*max_result_bytes=*/1);  // every result is larger
  ASSERT_TRUE(client);
  hold();
  std::vector<Future<QueryResult>> calls;
  for (int i = 0; i < 4; ++i) calls.push_back(probe(*client, 9));
  barrier(*client);
  release();
  std::set<std::int64_t> values;
  for (auto& f : calls) {
    auto r = wait_result(std::move(f));
    ASSERT_OK(r);
    values.insert(r->row(0).get<std::int64_t>(0));
  }
  // The first caller got the shared execution's result; the three others ran their own.
  EXPECT_EQ(executions(), 4);
  EXPECT_EQ(values, (std::set<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(metric_value(*client, "enrich_statements_coalesce_too_large_total"), 3);
}

std::string plan_json(const std::string& fn, bool coalesce) {
  return R"({"name":"coalesce_probe","inputs":{"tag":{"type":"integer"}},"steps":[
    {"name":"n","sql":"SELECT )" +
         fn + R"(($1::int, false) AS n","params":["tag"],"shape":"value","coalesce":)" +
         (coalesce ? "true" : "false") + "}]}";
}

TEST_F(CoalesceTest, PlanStepWithCoalesceSharesOneExecution) {
  auto client = probe_client();
  ASSERT_TRUE(client);
  auto plan = Plan::from_json(plan_json(fn_, true));
  ASSERT_OK(plan);
  hold();
  RunOptions timed;
  timed.timings = true;
  std::vector<Future<PlanOutput>> runs;
  for (int i = 0; i < 6; ++i) runs.push_back(client->run(plan.value(), {{"tag", 10}}, timed));
  barrier(*client);
  release();
  for (auto& f : runs) {
    auto out = wait_result(std::move(f));
    ASSERT_OK(out);
    // int8 is a string in the node profile, as node-postgres gives it.
    EXPECT_EQ(out->json.substr(0, 9), R"({"n":"1",)") << out->json;
    ASSERT_TRUE(out->timings);
    EXPECT_TRUE(out->timings->steps.at(0).coalesced);
  }
  EXPECT_EQ(executions(), 1);
}

TEST_F(CoalesceTest, PlanStepWithoutCoalesceRunsForEveryRun) {
  auto client = probe_client();
  ASSERT_TRUE(client);
  auto plan = Plan::from_json(plan_json(fn_, false));
  ASSERT_OK(plan);
  hold();
  std::vector<Future<PlanOutput>> runs;
  for (int i = 0; i < 3; ++i) runs.push_back(client->run(plan.value(), {{"tag", 10}}));
  barrier(*client);
  release();
  for (auto& f : runs) ASSERT_OK(wait_result(std::move(f)));
  EXPECT_EQ(executions(), 3);
}

// A wave of coalescing read steps keeps its one Sync: the run that starts the executions sends
// them together (they once left the wave, one round trip each).
TEST_F(CoalesceTest, CoalescingStepsThatStartExecutionsKeepTheirWavesSync) {
  auto client = probe_client();
  ASSERT_TRUE(client);
  auto plan = Plan::from_json(R"({"name": "two", "steps": [
      {"name": "a", "sql": "SELECT 1 AS a", "shape": "one", "coalesce": true},
      {"name": "b", "sql": "SELECT 2 AS b", "shape": "one", "coalesce": true}]})");
  ASSERT_OK(plan);
  // A connection is open: a wave only shares a Sync on a connection ready to take it.
  ASSERT_OK(run(*client, "SELECT 1"));
  RunOptions timed;
  timed.timings = true;
  auto out = wait_result(client->run(plan.value(), {}, timed));
  ASSERT_OK(out);
  ASSERT_TRUE(out->timings);
  for (const auto& step : out->timings->steps) {
    EXPECT_EQ(step.wave, 2u) << step.name;
    EXPECT_TRUE(step.shared_sync) << step.name;
    EXPECT_FALSE(step.coalesced) << step.name << ": it ran alone";
  }
}

// enrich_call_options.coalesce (version 3). No barrier through the C API: the test waits for the
// client's own count of joined calls before it lets the statement run.
TEST_F(CoalesceTest, ThroughTheCApi) {
  using namespace capi_test;
  auto client = make_client(dsn_set(test_dsn(), "application_name", app_));
  ASSERT_TRUE(client);
  auto queue = make_queue();
  hold();
  std::string sql = probe_sql();
  const char* params[] = {"11", "false"};
  enrich_call_options o = call_options_init();
  o.coalesce = 1;
  constexpr int kCalls = 5;
  for (int i = 0; i < kCalls; ++i)
    ASSERT_EQ(enrich_query(client.get(), queue.get(), sql.c_str(), params, 2, &o, nullptr, nullptr),
              ENRICH_OK);
  auto joined = [&] {
    char* json = nullptr;
    if (enrich_client_metrics_json(client.get(), &json) != ENRICH_OK) return false;
    std::string text(json);
    enrich_free(json);
    return text.find("\"enrich_statements_coalesced_total\"") != std::string::npos &&
           text.find("\"value\":" + std::to_string(kCalls - 1)) != std::string::npos;
  };
  EXPECT_TRUE(eventually(joined, 10s));
  release();
  for (auto& c : drain(queue.get(), kCalls)) {
    ASSERT_EQ(enrich_completion_status(c.get()), ENRICH_OK)
        << error_text(enrich_completion_error(c.get()));
    ASSERT_EQ(enrich_completion_rows(c.get()), 1u);
    EXPECT_STREQ(enrich_completion_value(c.get(), 0, 0, nullptr), "1");
  }
  EXPECT_EQ(executions(), 1);
}

TEST(CoalescePlanLoaderTest, CoalesceIsABooleanOfSqlSteps) {
  auto bad_type =
      Plan::from_json(R"({"name":"p","steps":[{"name":"a","sql":"SELECT 1","coalesce":"yes"}]})");
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.error().message.find("coalesce"), std::string::npos)
      << bad_type.error().message;
  auto on_http = Plan::from_json(
      R"({"name":"p","steps":[{"name":"a","http":{"base_url":"http://x","path":"/"},)"
      R"("coalesce":true}]})");
  ASSERT_FALSE(on_http.ok());
  EXPECT_NE(on_http.error().message.find("sql steps"), std::string::npos)
      << on_http.error().message;
  StepOptions coalesce;
  coalesce.coalesce = true;
  HttpStepSpec http;
  http.base_url = "http://127.0.0.1:1";
  http.path = "/x";
  auto built = PlanBuilder("p").http("a", http, coalesce).build();
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.error().message.find("\"coalesce\" is for sql steps"), std::string::npos)
      << built.error().message;
}

}  // namespace
}  // namespace enrich::test
