// Per-step timings and W3C trace context of plan runs (RunOptions::timings / traceparent), on the
// reference plan against the fixture database and the analytics stub: where each step's time
// went, that the read-only wave shared one Sync, what the HTTP step's attempts and status were,
// that the analytics service received the caller's traceparent and tracestate, and that the
// run's log events carry the trace ids. Also through the C API (enrich_completion_timings_json).

#include "enrich/plan.hpp"
#include "json/value.hpp"
#include "plan/timings_json.hpp"
#include "support/capi_support.hpp"
#include "support/stub_server.hpp"
#include "support/test_support.hpp"

namespace enrich::test {
namespace {

constexpr const char* kTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

std::string plan_file() {
  return std::string(ENRICH_SOURCE_DIR) + "/examples/plans/user_enriched.json";
}

class TimingsTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    fixture_dsn_ = env_or_empty("ENRICH_FIXTURE_DSN");
    if (fixture_dsn_.empty())
      FAIL() << "ENRICH_FIXTURE_DSN is not set (scripts/test creates and seeds enrich_fixture)";
    ASSERT_TRUE(stub_.start());
    ClientOptions o = client_options();
    o.dsn = fixture_dsn_;
    o.log_sink = logs_->sink();
    o.log_level = LogLevel::warning;
    client_ = connect(o);
    ASSERT_NE(client_, nullptr);
    auto plan = Plan::load(plan_file(), {{"ANALYTICS_URL", stub_.base()}});
    ASSERT_OK(plan);
    plan_.emplace(std::move(plan).value());
    // The first run opens the connection; later waves go out together.
    ASSERT_OK(wait_result(client_->run(*plan_, {{"userId", std::int64_t{1}}})));
  }
  void TearDown() override {
    client_.reset();
    stub_.stop();
  }

  const StepTiming& step(const PlanTimings& t, const std::string& name) {
    for (const auto& s : t.steps)
      if (s.name == name) return s;
    ADD_FAILURE() << "no step " << name;
    static StepTiming none;
    return none;
  }

  std::string fixture_dsn_;
  StubServer stub_;
  std::shared_ptr<LogCapture> logs_ = LogCapture::make();
  std::unique_ptr<Client> client_;
  std::optional<Plan> plan_;
};

TEST_F(TimingsTest, EachStepSaysWhereItsTimeWent) {
  RunOptions options;
  options.timings = true;
  auto out = wait_result(
      client_->run(*plan_, {{"userId", std::int64_t{42}}, {"includeAnalytics", true}}, options));
  ASSERT_OK(out);
  ASSERT_TRUE(out.value().timings.has_value());
  const PlanTimings& t = *out.value().timings;
  ASSERT_EQ(t.steps.size(), 4u);
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  EXPECT_GT(t.started_unix_ns, now_ns - std::int64_t{60'000'000'000});
  EXPECT_LE(t.started_unix_ns, now_ns);
  for (const char* name : {"user", "preferences", "recentActivity"}) {
    const StepTiming& s = step(t, name);
    EXPECT_FALSE(s.http) << name;
    EXPECT_EQ(s.wave, 3u) << name;
    EXPECT_TRUE(s.shared_sync) << name << ": a read-only wave shares one Sync";
    EXPECT_FALSE(s.replica) << name;
    EXPECT_NE(s.server.find(':'), std::string::npos) << s.server;
    EXPECT_GE(s.queued_us, 0) << name;
    EXPECT_GE(s.duration_us, s.queued_us) << name;
    EXPECT_LE(s.start_us + s.duration_us, t.total_us) << name;
    EXPECT_TRUE(s.error.empty()) << name;
    EXPECT_EQ(s.operation, "SELECT") << name;
    EXPECT_TRUE(s.query.empty()) << name << ": the text only with trace_query_text";
  }
  EXPECT_EQ(step(t, "user").rows, 1);
  EXPECT_EQ(step(t, "recentActivity").rows, 10);
  const StepTiming& http = step(t, "analytics");
  EXPECT_TRUE(http.http);
  EXPECT_EQ(http.status, 200);
  EXPECT_EQ(http.attempts, 1);
  EXPECT_EQ(http.method, "GET");
  EXPECT_NE(http.url.find("/users/42/summary"), std::string::npos) << http.url;
  EXPECT_GT(http.first_byte_us, 0);
  EXPECT_GE(http.duration_us, http.first_byte_us / 2);  // curl's clock and ours differ slightly
  EXPECT_LE(http.start_us + http.duration_us, t.total_us);
}

TEST_F(TimingsTest, OffByDefaultAndSkippedOrFailedStepsSaySo) {
  auto plain = wait_result(client_->run(*plan_, {{"userId", std::int64_t{42}}}));
  ASSERT_OK(plain);
  EXPECT_FALSE(plain.value().timings.has_value());

  RunOptions options;
  options.timings = true;
  auto skipped = wait_result(client_->run(*plan_, {{"userId", std::int64_t{42}}}, options));
  ASSERT_OK(skipped);
  EXPECT_TRUE(step(*skipped.value().timings, "analytics").skipped);

  stub_.control("mode=error");
  auto failed = wait_result(
      client_->run(*plan_, {{"userId", std::int64_t{42}}, {"includeAnalytics", true}}, options));
  ASSERT_OK(failed);
  const StepTiming& http = step(*failed.value().timings, "analytics");
  EXPECT_EQ(http.error, "http");
  EXPECT_EQ(http.status, 500);
}

TEST_F(TimingsTest, HttpStepsSendTheCallersTraceContextAndLogsCarryItsIds) {
  RunOptions options;
  options.traceparent = kTraceparent;
  options.tracestate = "enrich=test,other=1";
  ASSERT_OK(wait_result(
      client_->run(*plan_, {{"userId", std::int64_t{7}}, {"includeAnalytics", true}}, options)));
  std::string stats = stub_.call("GET", "/__stats");
  EXPECT_NE(stats.find(std::string("\"last_traceparent\":\"") + kTraceparent + "\""),
            std::string::npos)
      << stats;
  EXPECT_NE(stats.find("\"last_tracestate\":\"enrich=test,other=1\""), std::string::npos) << stats;

  stub_.control("mode=error");
  ASSERT_OK(wait_result(
      client_->run(*plan_, {{"userId", std::int64_t{7}}, {"includeAnalytics", true}}, options)));
  bool found = false;
  for (const auto& e : logs_->events()) {
    if (e.name != "plan.optional_step_failed") continue;
    std::map<std::string, std::string> f(e.fields.begin(), e.fields.end());
    EXPECT_EQ(f["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(f["span_id"], "b7ad6b7169203331");
    found = true;
  }
  EXPECT_TRUE(found) << "no plan.optional_step_failed event";

  // Without a traceparent nothing is sent.
  stub_.control("mode=healthy&reset=1");
  ASSERT_OK(
      wait_result(client_->run(*plan_, {{"userId", std::int64_t{7}}, {"includeAnalytics", true}})));
  EXPECT_NE(stub_.call("GET", "/__stats").find("\"last_traceparent\":\"\""), std::string::npos);
}

// A failed run's timings come with its error: the failing step, the steps stopped because of it,
// and the steps that never started (skipped).
TEST_F(TimingsTest, AFailedRunsTimingsComeWithItsError) {
  auto plan =
      PlanBuilder("broken")
          .sql("x", "SELECT 1 AS id FROM no_such_table_for_plans", {}, ResultShape::one)
          .sql("slow", "SELECT pg_sleep(30) IS NULL AS slept", {}, ResultShape::value)
          .sql("after", "SELECT $1::int AS id", {ValueRef::of_step("x", "id")}, ResultShape::one)
          .build();
  ASSERT_OK(plan);
  RunOptions options;
  options.timings = true;
  auto failed = wait_result(client_->run(plan.value(), {}, options));
  ASSERT_ERROR_CODE(failed, ErrorCode::query);
  ASSERT_NE(failed.error().timings, nullptr);
  const PlanTimings& t = *failed.error().timings;
  EXPECT_EQ(step(t, "x").error, "query");
  EXPECT_EQ(step(t, "x").sqlstate, "42P01");
  EXPECT_EQ(step(t, "slow").error, "cancelled");
  EXPECT_TRUE(step(t, "after").skipped);
  for (const auto& s : t.steps) EXPECT_LE(s.start_us + s.duration_us, t.total_us) << s.name;

  auto untimed = wait_result(client_->run(plan.value(), {}));
  ASSERT_ERROR_CODE(untimed, ErrorCode::query);
  EXPECT_EQ(untimed.error().timings, nullptr);
}

// db.query.text is opt-in: with trace_query_text the timings carry each SQL step's text.
TEST_F(TimingsTest, StatementTextsOnlyWithTraceQueryText) {
  ClientOptions o = client_options();
  o.dsn = fixture_dsn_;
  o.trace_query_text = true;
  auto client = connect(o);
  ASSERT_NE(client, nullptr);
  RunOptions options;
  options.timings = true;
  auto out = wait_result(client->run(*plan_, {{"userId", std::int64_t{42}}}, options));
  ASSERT_OK(out);
  ASSERT_TRUE(out.value().timings.has_value());
  const PlanTimings& t = *out.value().timings;
  EXPECT_EQ(step(t, "user").query, "SELECT * FROM users WHERE id = $1");
  EXPECT_EQ(step(t, "recentActivity").query,
            "SELECT * FROM activity_log WHERE user_id = $1 ORDER BY created_at DESC LIMIT 10");
  EXPECT_TRUE(step(t, "analytics").query.empty());
  std::string text = timings_json(t);
  EXPECT_NE(text.find(R"("operation":"SELECT","query":"SELECT * FROM users WHERE id = $1")"),
            std::string::npos)
      << text;
}

TEST_F(TimingsTest, TheCApiHandsTimingsOutAsJson) {
  using namespace capi_test;
  ClientPtr client = make_client(fixture_dsn_);
  ASSERT_TRUE(client);
  enrich_plan* plan = nullptr;
  enrich_error* error = nullptr;
  std::string vars = "{\"ANALYTICS_URL\": \"" + stub_.base() + "\"}";
  ASSERT_EQ(enrich_plan_load(&plan, plan_file().c_str(), vars.c_str(), &error), ENRICH_OK)
      << error_text(error);
  auto q = make_queue();
  // The first run opens the connection (its wave cannot go out as one); then a timed one.
  ASSERT_EQ(
      enrich_plan_run(client.get(), q.get(), plan, R"({"userId": 1})", nullptr, nullptr, nullptr),
      ENRICH_OK);
  ASSERT_TRUE(next(q.get()));
  enrich_call_options o = call_options_init();
  o.timings = 1;
  o.traceparent = kTraceparent;
  ASSERT_EQ(enrich_plan_run(client.get(), q.get(), plan,
                            R"({"userId": 42, "includeAnalytics": true})", &o, nullptr, nullptr),
            ENRICH_OK);
  CompletionPtr c = next(q.get());
  ASSERT_TRUE(c);
  ASSERT_EQ(enrich_completion_status(c.get()), ENRICH_OK);
  std::size_t n = 0;
  const char* text = enrich_completion_timings_json(c.get(), &n);
  ASSERT_NE(text, nullptr);
  auto doc = json::parse(std::string_view(text, n));
  ASSERT_TRUE(doc.ok()) << text;
  const json::Value* steps = doc.value().find("steps");
  ASSERT_TRUE(steps && steps->is_array()) << text;
  ASSERT_EQ(steps->as_array().size(), 4u) << text;
  const json::Value& user = steps->as_array()[0];
  EXPECT_EQ(user.find("name")->as_string(), "user");
  EXPECT_EQ(user.find("kind")->as_string(), "sql");
  EXPECT_EQ(user.find("shared_sync")->as_bool(), true) << text;
  EXPECT_EQ(user.find("operation")->as_string(), "SELECT") << text;
  EXPECT_EQ(user.find("query"), nullptr) << text << ": the text only with trace_query_text";
  const json::Value& analytics = steps->as_array()[3];
  EXPECT_EQ(analytics.find("kind")->as_string(), "http");
  EXPECT_EQ(analytics.find("status")->as_number().text, "200") << text;
  EXPECT_NE(doc.value().find("total_us"), nullptr);

  // Not asked for: NULL.
  ASSERT_EQ(
      enrich_plan_run(client.get(), q.get(), plan, R"({"userId": 42})", nullptr, nullptr, nullptr),
      ENRICH_OK);
  c = next(q.get());
  ASSERT_TRUE(c);
  EXPECT_EQ(enrich_completion_timings_json(c.get(), &n), nullptr);
  EXPECT_EQ(n, 0u);
  enrich_plan_free(plan);

  // A failed run's timings too.
  const std::string broken =
      R"({"name": "broken", "steps": [{"name": "x", "sql": "SELECT * FROM no_such_table_x",
          "shape": "many"}]})";
  ASSERT_EQ(enrich_plan_from_json(&plan, broken.data(), broken.size(), nullptr, &error), ENRICH_OK)
      << error_text(error);
  ASSERT_EQ(enrich_plan_run(client.get(), q.get(), plan, "{}", &o, nullptr, nullptr), ENRICH_OK);
  c = next(q.get());
  ASSERT_TRUE(c);
  EXPECT_EQ(enrich_completion_status(c.get()), ENRICH_ERR_QUERY);
  text = enrich_completion_timings_json(c.get(), &n);
  ASSERT_NE(text, nullptr);
  EXPECT_NE(std::string_view(text, n).find(R"("error":"query")"), std::string_view::npos) << text;
  enrich_plan_free(plan);
}

}  // namespace
}  // namespace enrich::test
