// Plans: loading and validation, the reference endpoint on the article's tables (the fixture
// database), optional HTTP steps under every failure of the analytics service, the circuit
// breaker, DAG steps, deadlines and input checking.

#include "enrich/plan.hpp"

#include "json/value.hpp"
#include "support/stub_server.hpp"
#include "support/test_support.hpp"

namespace enrich::test {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr auto kSlack = 150ms;  // sanitizers slow every step down
#else
constexpr auto kSlack = 20ms;  // what the issue allows past a step's timeout
#endif

std::string plan_path(const char* name) {
  return std::string(ENRICH_SOURCE_DIR) + "/examples/plans/" + name;
}

Error load_error(const std::string& json) {
  auto plan = Plan::from_json(json);
  if (plan.ok()) return Error{ErrorCode::internal, "the plan loaded"};
  return plan.error();
}

// ---- loading
// --------------------------------------------------------------------------------------

TEST(PlanLoaderTest, LoadsTheExamplePlans) {
  PlanVariables vars{{"ANALYTICS_URL", "http://127.0.0.1:1"}};
  for (const char* name : {"user_enriched.json", "user_enriched_python.json"}) {
    auto plan = Plan::load(plan_path(name), vars);
    ASSERT_OK(plan);
    EXPECT_EQ(plan.value().step_names().size(), 4u) << name;
  }
  auto plan = Plan::load(plan_path("user_enriched.json"), vars);
  ASSERT_OK(plan);
  EXPECT_EQ(plan.value().name(), "user_enriched");
  EXPECT_EQ(plan.value().profile(), JsonProfile::node);
  EXPECT_EQ(plan.value().input_names(), (std::vector<std::string>{"userId", "includeAnalytics"}));
}

TEST(PlanLoaderTest, MalformedPlansFailAtLoadNamingTheProblem) {
  struct Case {
    const char* json;
    const char* expected;  // substring of the message
  };
  const Case cases[] = {
      {R"({"name":"p","steps":[{"name":"a","grpc":{}}]})", "has no kind"},
      {R"({"name":"p","steps":[{"name":"a","kind":"grpc"}]})", "unknown kind \"grpc\""},
      {R"({"name":"p","inputs":{"id":{"type":"integer"}},"steps":[
          {"name":"a","sql":"SELECT $1","params":["missing.field"]}]})",
       "missing step \"missing\""},
      {R"({"name":"p","steps":[{"name":"a","sql":"SELECT $1","params":["b.x"]},
                               {"name":"b","sql":"SELECT $1","params":["a.y"]}]})",
       "cycle"},
      {R"({"name":"p","steps":[{"name":"a","http":{"base_url":"http://h","path":"/u/{nope}"}}]})",
       "\"nope\", which is not an input"},
      {R"({"name":"p","steps":[{"name":"a","sql":"SELECT 1","shap":"one"}]})",
       "unknown key \"shap\""},
      {R"({"name":"p","steps":[{"name":"a","sql":"SELECT 1"},{"name":"a","sql":"SELECT 2"}]})",
       "declared twice"},
      {R"({"name":"p","inputs":{"x":{"type":"string"}},"steps":[{"name":"a","sql":"SELECT 1","when":"x"}]})",
       "must be a boolean"},
      {R"({"name":"p","inputs":{"x":{"type":"int"}},"steps":[{"name":"a","sql":"SELECT 1"}]})",
       "unknown type \"int\""},
      {R"({"name":"p","steps":[{"name":"a","sql":"SELECT 1","shape":"all"}]})",
       "unknown result shape"},
      {R"({"name":"p","steps":[]})", "no steps"},
      {R"({"name":"p","steps":[{"name":"a","http":{"base_url":"${ENRICH_SURELY_UNSET_VAR}","path":"/"}}]})",
       "ENRICH_SURELY_UNSET_VAR is not set"},
      {R"({"name":"p","steps":[{"name":"a","sql":"SELECT 1",}]})", "invalid JSON at line 1"},
  };
  for (const auto& c : cases) {
    Error e = load_error(c.json);
    EXPECT_EQ(e.code, ErrorCode::invalid_argument) << c.json << "\n" << e.to_string();
    EXPECT_NE(e.message.find(c.expected), std::string::npos)
        << "expected \"" << c.expected << "\" in: " << e.message;
  }
}

TEST(PlanLoaderTest, MissingFileIsAClearError) {
  auto plan = Plan::load("/nonexistent/plan.json");
  ASSERT_ERROR_CODE(plan, ErrorCode::invalid_argument);
  EXPECT_NE(plan.error().message.find("/nonexistent/plan.json"), std::string::npos);
}

TEST(PlanLoaderTest, BuilderValidatesLikeTheLoader) {
  auto bad = PlanBuilder("p")
                 .sql("a", "SELECT $1", {ValueRef::of_input("nope")}, ResultShape::one)
                 .build();
  ASSERT_ERROR_CODE(bad, ErrorCode::invalid_argument);
  EXPECT_NE(bad.error().message.find("nope"), std::string::npos);
  auto good = PlanBuilder("p")
                  .input("id", InputType::integer)
                  .sql("a", "SELECT $1::int8 AS id", {ValueRef::of_input("id")}, ResultShape::one)
                  .build();
  ASSERT_OK(good);
  EXPECT_EQ(good.value().step_names(), std::vector<std::string>{"a"});
}

// ---- running
// --------------------------------------------------------------------------------------

class PlanRunTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    fixture_dsn_ = env_or_empty("ENRICH_FIXTURE_DSN");
    if (fixture_dsn_.empty())
      FAIL() << "ENRICH_FIXTURE_DSN is not set (scripts/test creates and seeds enrich_fixture)";
    ASSERT_TRUE(stub_.start());
    ClientOptions o = client_options();
    o.dsn = dsn_set(fixture_dsn_, "application_name", app_);
    o.http.breaker.failure_threshold = 3;
    // Long enough that no test sees a cool-down end: the half-open state and the probe are tested
    // on a fake clock (http_client_test.cpp), not by waiting here.
    o.http.breaker.cool_down = 10min;
    o.log_sink = [this](const LogEvent& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e.name);
    };
    o.log_level = LogLevel::warning;
    client_ = connect(o);
    ASSERT_NE(client_, nullptr);
    auto plan = Plan::load(plan_path("user_enriched.json"), {{"ANALYTICS_URL", stub_.base()}});
    ASSERT_OK(plan);
    plan_.emplace(std::move(plan).value());
  }
  void TearDown() override {
    client_.reset();
    stub_.stop();
  }

  Result<PlanOutput> run_plan(Inputs inputs, RunOptions options = {}) {
    return wait_result(client_->run(*plan_, std::move(inputs), options));
  }
  json::Value parse(const std::string& s) {
    auto v = json::parse(s);
    EXPECT_TRUE(v.ok()) << s;
    return v.ok() ? std::move(v).value() : json::Value();
  }
  std::size_t warnings_logged() {
    std::lock_guard lock(mu_);
    return static_cast<std::size_t>(
        std::count(events_.begin(), events_.end(), "plan.optional_step_failed"));
  }

  std::string fixture_dsn_;
  std::string app_ = unique_name("plan_test");
  StubServer stub_;
  std::unique_ptr<Client> client_;
  std::optional<Plan> plan_;
  std::mutex mu_;
  std::vector<std::string> events_;
};

TEST_F(PlanRunTest, ReferencePlanHasTheArticlesShape) {
  auto out = run_plan({{"userId", std::int64_t{42}}});
  ASSERT_OK(out);
  json::Value doc = parse(out.value().json);
  ASSERT_TRUE(doc.is_object());
  std::vector<std::string> keys;
  for (const auto& [k, v] : doc.as_object()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"user", "preferences", "recentActivity", "analytics",
                                            "meta"}));
  EXPECT_EQ(doc.find("user")->find("id")->as_string(), "42");  // node profile: int8 as a string
  EXPECT_TRUE(doc.find("analytics")->is_null());
  const auto& activity = doc.find("recentActivity")->as_array();
  EXPECT_LE(activity.size(), 10u);
  for (std::size_t i = 1; i < activity.size(); ++i)
    EXPECT_GE(activity[i - 1].find("created_at")->as_string(),
              activity[i].find("created_at")->as_string());
  EXPECT_TRUE(doc.find("meta")->find("processingTimeMs")->is_number());
  EXPECT_TRUE(out.value().warnings.empty());
}

TEST_F(PlanRunTest, HealthyAnalyticsIsEmbedded) {
  auto out = run_plan({{"userId", std::int64_t{7}}, {"includeAnalytics", true}});
  ASSERT_OK(out);
  json::Value doc = parse(out.value().json);
  const json::Value* analytics = doc.find("analytics");
  ASSERT_TRUE(analytics && analytics->is_object()) << out.value().json;
  EXPECT_EQ(analytics->find("userId")->as_number().text, "7");
}

TEST_F(PlanRunTest, SlowAnalyticsIsNullWithinItsTimeout) {
  stub_.control("mode=slow&delay_ms=3000");
  Stopwatch sw;
  auto out = run_plan({{"userId", std::int64_t{7}}, {"includeAnalytics", true}});
  auto elapsed = sw.elapsed();
  ASSERT_OK(out);
  EXPECT_TRUE(parse(out.value().json).find("analytics")->is_null());
  EXPECT_LT(elapsed, 500ms + kSlack) << "the step's 500 ms timeout was not enforced";
  EXPECT_GE(elapsed, 450ms);
  EXPECT_EQ(out.value().warnings.size(), 1u);
}

TEST_F(PlanRunTest, EveryAnalyticsFailureIsNullAndOneWarning) {
  for (const char* mode : {"error", "redirect", "garbage", "big", "close"}) {
    stub_.control(std::string("mode=") + mode);
    std::size_t before = warnings_logged();
    auto out = run_plan({{"userId", std::int64_t{7}}, {"includeAnalytics", true}});
    ASSERT_OK(out) << mode;
    EXPECT_TRUE(parse(out.value().json).find("analytics")->is_null()) << mode;
    EXPECT_EQ(out.value().warnings.size(), 1u) << mode;
    EXPECT_EQ(warnings_logged(), before + 1) << mode;
    EXPECT_TRUE(parse(out.value().json).find("user")->is_object()) << mode;
    // A failure counts toward the breaker (3 in a row open it); a success in between resets the
    // count, so every mode meets a closed circuit. The embedded analytics show it is closed.
    stub_.control("mode=healthy");
    auto healthy = run_plan({{"userId", std::int64_t{7}}, {"includeAnalytics", true}});
    ASSERT_OK(healthy);
    ASSERT_TRUE(parse(healthy.value().json).find("analytics")->is_object())
        << "after " << mode << ": " << healthy.value().json;
  }
}

TEST_F(PlanRunTest, ClosedPortIsNullAndOneWarning) {
  auto plan = Plan::load(plan_path("user_enriched.json"),
                         {{"ANALYTICS_URL", "http://127.0.0.1:" + std::to_string(closed_port())}});
  ASSERT_OK(plan);
  auto out = wait_result(
      client_->run(plan.value(), {{"userId", std::int64_t{7}}, {"includeAnalytics", true}}));
  ASSERT_OK(out);
  EXPECT_TRUE(parse(out.value().json).find("analytics")->is_null());
  ASSERT_EQ(out.value().warnings.size(), 1u);
  EXPECT_NE(out.value().warnings[0].find("connection"), std::string::npos)
      << out.value().warnings[0];
}

// Through the public API: the plan's optional step turns the open circuit into null and a
// warning. Half-open and closing again are the HTTP client's (http_client_test.cpp, on a fake
// clock); this client's cool-down is too long to end during the test.
TEST_F(PlanRunTest, BreakerOpensAndShortCircuitsTheOptionalStep) {
  stub_.control("mode=error&reset=1");
  for (int i = 0; i < 3; ++i)
    ASSERT_OK(run_plan({{"userId", std::int64_t{7}}, {"includeAnalytics", true}}));
  long long reached = stub_.stat("served_error");
  EXPECT_EQ(reached, 3);
  // Open: calls fail at once without reaching the service.
  for (int i = 0; i < 5; ++i) {
    auto out = run_plan({{"userId", std::int64_t{7}}, {"includeAnalytics", true}});
    ASSERT_OK(out);
    ASSERT_EQ(out.value().warnings.size(), 1u);
    EXPECT_NE(out.value().warnings[0].find("circuit_open"), std::string::npos)
        << out.value().warnings[0];
  }
  EXPECT_EQ(stub_.stat("served_error"), reached);
  // The service recovers, but the circuit stays open until its cool-down ends.
  stub_.control("mode=healthy");
  auto out = run_plan({{"userId", std::int64_t{7}}, {"includeAnalytics", true}});
  ASSERT_OK(out);
  EXPECT_TRUE(parse(out.value().json).find("analytics")->is_null()) << out.value().json;
  EXPECT_EQ(stub_.stat("requests"), 3) << "no request reached the service while open";
}

TEST_F(PlanRunTest, UnknownUserIsNotFound) {
  auto out = run_plan({{"userId", std::int64_t{999999999}}});
  ASSERT_ERROR_CODE(out, ErrorCode::not_found);
  EXPECT_NE(out.error().message.find("\"user\""), std::string::npos) << out.error().message;
}

TEST_F(PlanRunTest, WrongMissingOrUnknownInputsFailBeforeAnyIo) {
  auto wrong = run_plan({{"userId", std::string("abc")}});
  ASSERT_ERROR_CODE(wrong, ErrorCode::invalid_argument);
  EXPECT_NE(wrong.error().message.find("userId"), std::string::npos);
  auto missing = run_plan({});
  ASSERT_ERROR_CODE(missing, ErrorCode::invalid_argument);
  EXPECT_NE(missing.error().message.find("userId"), std::string::npos);
  auto unknown = run_plan({{"userId", std::int64_t{1}}, {"userid", std::int64_t{1}}});
  ASSERT_ERROR_CODE(unknown, ErrorCode::invalid_argument);
  EXPECT_NE(unknown.error().message.find("userid"), std::string::npos);
  auto boolean =
      run_plan({{"userId", std::int64_t{1}}, {"includeAnalytics", std::string("maybe")}});
  ASSERT_ERROR_CODE(boolean, ErrorCode::invalid_argument);
  EXPECT_NE(boolean.error().message.find("includeAnalytics"), std::string::npos);
  // Strings that spell the type exactly are accepted (path and query parameters).
  ASSERT_OK(run_plan({{"userId", std::string("42")}, {"includeAnalytics", std::string("false")}}));
  EXPECT_EQ(stub_.stat("summary"), 0);
}

TEST_F(PlanRunTest, InputsAsJson) {
  auto out = wait_result(client_->run_json(*plan_, R"({"userId": 42, "includeAnalytics": false})"));
  ASSERT_OK(out);
  auto bad = wait_result(client_->run_json(*plan_, R"({"userId": [42]})"));
  ASSERT_ERROR_CODE(bad, ErrorCode::invalid_argument);
  auto broken = wait_result(client_->run_json(*plan_, R"({"userId": )"));
  ASSERT_ERROR_CODE(broken, ErrorCode::invalid_argument);
}

TEST_F(PlanRunTest, SqlStepsShareOneConnection) {
  auto plan = PlanBuilder("pids")
                  .sql("a", "SELECT pg_backend_pid() AS pid", {}, ResultShape::value)
                  .sql("b", "SELECT pg_backend_pid() AS pid", {}, ResultShape::value)
                  .sql("c", "SELECT pg_backend_pid() AS pid", {}, ResultShape::value)
                  .build();
  ASSERT_OK(plan);
  auto out = wait_result(client_->run(plan.value(), {}));
  ASSERT_OK(out);
  json::Value doc = parse(out.value().json);
  EXPECT_EQ(doc.find("a")->as_number().text, doc.find("b")->as_number().text) << out.value().json;
  EXPECT_EQ(doc.find("a")->as_number().text, doc.find("c")->as_number().text) << out.value().json;
}

TEST_F(PlanRunTest, ReadOnlyWaveRunsInOneTransaction) {
  // now() is the transaction's start time: the same in every step only if the wave shared one
  // Sync (one implicit transaction).
  auto plan = PlanBuilder("now")
                  .sql("a", "SELECT now()::text AS t", {}, ResultShape::value)
                  .sql("b", "SELECT now()::text AS t, 'b'", {}, ResultShape::value)
                  .sql("c", "SELECT now()::text AS t, 'c'", {}, ResultShape::value)
                  .build();
  ASSERT_OK(plan);
  // A wave goes out as one when a connection has room for it: not while the first connects.
  ASSERT_OK(wait_result(client_->run(plan.value(), {})));
  auto first = wait_result(client_->run(plan.value(), {}));
  auto second = wait_result(client_->run(plan.value(), {}));
  ASSERT_OK(first);
  ASSERT_OK(second);
  json::Value a = parse(first.value().json), b = parse(second.value().json);
  EXPECT_EQ(a.find("a")->as_string(), a.find("b")->as_string()) << first.value().json;
  EXPECT_EQ(a.find("a")->as_string(), a.find("c")->as_string()) << first.value().json;
  EXPECT_NE(a.find("a")->as_string(), b.find("a")->as_string()) << "two runs, two transactions";
}

TEST_F(PlanRunTest, FailingStepOfAReadOnlyWaveNamesItself) {
  auto plan =
      PlanBuilder("div")
          .sql("a", "SELECT 1 AS x", {}, ResultShape::value)
          .sql("b", "SELECT 1 / 0 AS x", {}, ResultShape::value, StepOptions{.optional = true})
          .sql("c", "SELECT 3 AS x", {}, ResultShape::value)
          .build();
  ASSERT_OK(plan);
  ASSERT_OK(wait_result(client_->query("SELECT 1")));  // a connection ready for the wave
  auto out = wait_result(client_->run(plan.value(), {}));
  ASSERT_OK(out);
  json::Value doc = parse(out.value().json);
  EXPECT_EQ(doc.find("a")->as_number().text, "1");
  EXPECT_TRUE(doc.find("b")->is_null());
  EXPECT_EQ(doc.find("c")->as_number().text, "3") << "the step after the failing one still ran";
  ASSERT_EQ(out.value().warnings.size(), 1u);
  EXPECT_NE(out.value().warnings[0].find("22012"), std::string::npos) << out.value().warnings[0];
}

TEST_F(PlanRunTest, DependentStepReadsAFieldOfItsDependency) {
  auto plan = PlanBuilder("dag")
                  .input("id", InputType::integer)
                  .sql("user", "SELECT id, id * 10 AS org FROM users WHERE id = $1",
                       {ValueRef::of_input("id")}, ResultShape::one, StepOptions{.required = true})
                  .sql("org", "SELECT ($1::int8 + 1)::int4 AS next",
                       {ValueRef::of_step("user", "org")}, ResultShape::value)
                  .sql("slow", "SELECT pg_sleep(0.3) IS NULL AS slept", {}, ResultShape::value)
                  .sql("hidden", "SELECT 1", {}, ResultShape::value, StepOptions{.output = false})
                  .build();
  ASSERT_OK(plan);
  auto out = wait_result(client_->run(plan.value(), {{"id", std::int64_t{5}}}));
  ASSERT_OK(out);
  json::Value doc = parse(out.value().json);
  EXPECT_EQ(doc.find("org")->as_number().text, "51");
  EXPECT_EQ(doc.find("hidden"), nullptr);
  std::vector<std::string> keys;
  for (const auto& [k, v] : doc.as_object()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"user", "org", "slow", "meta"}));
}

TEST_F(PlanRunTest, DeadlineCutsOutstandingStepsAndCancelsTheirQueries) {
  std::string marker = unique_name("deadline_marker");
  auto plan = PlanBuilder("slow")
                  .deadline(300ms)
                  .sql("fast", "SELECT 1 AS x", {}, ResultShape::value)
                  .sql("sleepy", "SELECT pg_sleep(5), '" + marker + "'", {}, ResultShape::one)
                  .build();
  ASSERT_OK(plan);
  Stopwatch sw;
  auto out = wait_result(client_->run(plan.value(), {}));
  ASSERT_ERROR_CODE(out, ErrorCode::timeout);
  EXPECT_LT(sw.elapsed(), 1500ms);
  EXPECT_NE(out.error().message.find("sleepy"), std::string::npos) << out.error().message;
  // The server-side query was cancelled, not left running.
  auto observer = connect(client_options());
  ASSERT_NE(observer, nullptr);
  Result<std::int64_t> running = 0;
  EXPECT_TRUE(eventually(
      [&] {
        running = count_running(*observer, marker);
        return running.ok() && running.value() == 0;
      },
      2s))
      << "the timed-out step is still running on the server: "
      << (running.ok() ? std::to_string(running.value()) : running.error().to_string());
}

TEST_F(PlanRunTest, CancellingARunStopsIt) {
  const std::string marker = statement_marker("plan_cancel");
  auto plan = PlanBuilder("sleepy")
                  .sql("s", "SELECT pg_sleep(5) /* " + marker + " */", {}, ResultShape::value)
                  .build();
  ASSERT_OK(plan);
  auto future = client_->run(plan.value(), {});
  ASSERT_TRUE(wait_running(marker));
  future.cancel();
  Stopwatch sw;
  auto out = wait_result(std::move(future));
  ASSERT_ERROR_CODE(out, ErrorCode::cancelled);
  EXPECT_LT(sw.elapsed(), 1000ms);
}

TEST_F(PlanRunTest, UrlInputsStayInsideTheirPathSegment) {
  auto plan =
      PlanBuilder("echo")
          .input("v", InputType::string)
          .http("echo", HttpStepSpec{.base_url = stub_.base(), .path = "/echo-path/{v}/tail"})
          .build();
  ASSERT_OK(plan);
  const std::pair<const char*, const char*> cases[] = {{"../x", "..%2Fx"},
                                                       {"a?b=c", "a%3Fb%3Dc"},
                                                       {"x#frag", "x%23frag"},
                                                       {"%2F", "%252F"},
                                                       {"line\nbreak", "line%0Abreak"},
                                                       {"..", "%2E%2E"},
                                                       {".", "%2E"},
                                                       {"a/b", "a%2Fb"},
                                                       {"caf\xC3\xA9", "caf%C3%A9"},
                                                       {"sp ace+", "sp%20ace%2B"}};
  for (const auto& [value, encoded] : cases) {
    auto out = wait_result(client_->run(plan.value(), {{"v", std::string(value)}}));
    ASSERT_OK(out);
    json::Value doc = parse(out.value().json);
    const json::Value* echo = doc.find("echo");
    ASSERT_TRUE(echo && echo->is_object()) << out.value().json;
    EXPECT_EQ(echo->find("path")->as_string(), std::string("/echo-path/") + encoded + "/tail")
        << value;
    EXPECT_EQ(echo->find("query")->as_string(), "") << value;
  }
}

TEST_F(PlanRunTest, PythonPlanUsesThePythonProfile) {
  auto plan = Plan::load(plan_path("user_enriched_python.json"), {{"ANALYTICS_URL", stub_.base()}});
  ASSERT_OK(plan);
  auto out = wait_result(
      client_->run(plan.value(), {{"user_id", std::int64_t{42}}, {"include_analytics", true}}));
  ASSERT_OK(out);
  json::Value doc = parse(out.value().json);
  EXPECT_TRUE(doc.find("user")->find("id")->is_number());  // python profile: int8 as a number
  const auto& activity = doc.find("recent_activity")->as_array();
  if (!activity.empty()) {
    EXPECT_EQ(activity[0].as_object().size(), 3u);  // id, action, created_at
  }
  EXPECT_TRUE(doc.find("meta")->find("processing_time_ms")->is_number());
  EXPECT_TRUE(doc.find("analytics")->is_object());
}

// node-postgres gives rows[0] of an empty result as undefined, and JSON.stringify leaves it out:
// the node profile leaves out the key of a `one` step that found no row. A step skipped by `when`
// stays null (the original's analytics: null). Other profiles write null.
// User 1991 has no preferences row (tests/fixtures/awkward.sql).
TEST_F(PlanRunTest, NodeProfileLeavesOutAOneStepThatFoundNoRow) {
  auto out = run_plan({{"userId", std::int64_t{1991}}});
  ASSERT_OK(out);
  json::Value doc = parse(out.value().json);
  EXPECT_EQ(doc.find("preferences"), nullptr) << out.value().json;
  ASSERT_NE(doc.find("analytics"), nullptr);
  EXPECT_TRUE(doc.find("analytics")->is_null());
  EXPECT_TRUE(doc.find("recentActivity")->as_array().empty());

  RunOptions python;
  python.profile = JsonProfile::python;
  auto other = wait_result(client_->run(*plan_, {{"userId", std::int64_t{1991}}}, python));
  ASSERT_OK(other);
  json::Value pdoc = parse(other.value().json);
  ASSERT_NE(pdoc.find("preferences"), nullptr) << other.value().json;
  EXPECT_TRUE(pdoc.find("preferences")->is_null());
}

}  // namespace
}  // namespace enrich::test
