// Client::metrics() and enrich_client_metrics_json: the counters, gauges and latency histograms
// move with what the client did (statements, a failed one by SQLSTATE class, a timeout, plan
// runs, HTTP answers by status class), histograms are cumulative and add up, and the C API hands
// the same families out as JSON.

#include <map>

#include "enrich/plan.hpp"
#include "json/value.hpp"
#include "support/capi_support.hpp"
#include "support/stub_server.hpp"
#include "support/test_support.hpp"

namespace enrich::test {
namespace {

const MetricFamily* find(const std::vector<MetricFamily>& fs, const std::string& name) {
  for (const auto& f : fs)
    if (f.name == name) return &f;
  ADD_FAILURE() << "no family " << name;
  return nullptr;
}

// A sample's value; `name` is the family's, or a histogram's <family>_sum / _count.
double value(const std::vector<MetricFamily>& fs, const std::string& name,
             const std::map<std::string, std::string>& labels = {}) {
  std::string family = name;
  for (const char* suffix : {"_sum", "_count"})
    if (name.ends_with(suffix) && name.find("_seconds") != std::string::npos)
      family = name.substr(0, name.size() - std::string_view(suffix).size());
  const MetricFamily* f = find(fs, family);
  if (!f) return -1;
  for (const auto& s : f->samples) {
    if (s.name != name) continue;
    std::map<std::string, std::string> got(s.labels.begin(), s.labels.end());
    if (got == labels) return s.value;
  }
  return 0;  // a label set never seen
}

void expect_consistent_histogram(const MetricFamily& f) {
  double previous = 0, count = -1, inf = -1;
  for (const auto& s : f.samples) {
    if (s.name == f.name + "_bucket") {
      EXPECT_GE(s.value, previous) << f.name << ": buckets are cumulative";
      previous = s.value;
      if (s.labels.at(0).second == "+Inf") inf = s.value;
    } else if (s.name == f.name + "_count") {
      count = s.value;
    }
  }
  EXPECT_EQ(count, inf) << f.name;
}

class MetricsTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    fixture_dsn_ = env_or_empty("ENRICH_FIXTURE_DSN");
    if (fixture_dsn_.empty()) FAIL() << "ENRICH_FIXTURE_DSN is not set";
    ASSERT_TRUE(stub_.start());
    ClientOptions o = client_options();
    o.dsn = fixture_dsn_;
    o.log_level = LogLevel::off;
    client_ = connect(o);
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override {
    client_.reset();
    stub_.stop();
  }
  std::string fixture_dsn_;
  StubServer stub_;
  std::unique_ptr<Client> client_;
};

TEST_F(MetricsTest, CountersAndHistogramsFollowWhatTheClientDid) {
  auto plan = Plan::load(std::string(ENRICH_SOURCE_DIR) + "/examples/plans/user_enriched.json",
                         {{"ANALYTICS_URL", stub_.base()}});
  ASSERT_OK(plan);
  for (int i = 1; i <= 3; ++i)
    ASSERT_OK(wait_result(
        client_->run(plan.value(), {{"userId", std::int64_t{i}}, {"includeAnalytics", true}})));
  stub_.control("mode=error");
  ASSERT_OK(wait_result(
      client_->run(plan.value(), {{"userId", std::int64_t{4}}, {"includeAnalytics", true}})));
  auto missing = wait_result(client_->run(plan.value(), {{"userId", std::int64_t{999999}}}));
  ASSERT_FALSE(missing.ok());
  ASSERT_FALSE(run(*client_, "SELECT * FROM no_such_table_for_metrics").ok());
  QueryOptions quick;
  quick.timeout = 50ms;
  auto slow = wait_result(client_->query("SELECT pg_sleep(5)", {}, quick));
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, ErrorCode::timeout);

  auto m = client_->metrics();
  // 5 plans x 3 statements + the failed one (the timed-out one may still be running).
  EXPECT_GE(value(m, "enrich_statements_total"), 16);
  EXPECT_EQ(
      value(m, "enrich_statement_errors_total", {{"kind", "query"}, {"sqlstate_class", "42"}}), 1);
  EXPECT_EQ(value(m, "enrich_statement_timeouts_total"), 1);
  EXPECT_EQ(value(m, "enrich_plans_total", {{"outcome", "ok"}}), 4);
  EXPECT_EQ(value(m, "enrich_plans_total", {{"outcome", "error"}}), 1);
  EXPECT_EQ(value(m, "enrich_http_requests_total", {{"status_class", "2xx"}}), 3);
  EXPECT_EQ(value(m, "enrich_http_requests_total", {{"status_class", "5xx"}}), 1);
  EXPECT_GE(value(m, "enrich_pool_connections", {{"pool", "primary"}, {"state", "open"}}), 1);
  EXPECT_GE(value(m, "enrich_pool_connects_total"), 1);
  for (const char* name :
       {"enrich_pool_wait_seconds", "enrich_statement_duration_seconds",
        "enrich_http_request_duration_seconds", "enrich_plan_duration_seconds"}) {
    const MetricFamily* f = find(m, name);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->type, "histogram");
    expect_consistent_histogram(*f);
  }
  EXPECT_EQ(value(m, "enrich_plan_duration_seconds_count"), 5);
  EXPECT_EQ(value(m, "enrich_http_request_duration_seconds_count"), 4);
  EXPECT_GT(value(m, "enrich_statement_duration_seconds_sum"), 0);
}

TEST_F(MetricsTest, TheCApiHandsTheSameFamiliesOutAsJson) {
  using namespace capi_test;
  ClientPtr client = make_client(fixture_dsn_);
  ASSERT_TRUE(client);
  auto q = make_queue();
  ASSERT_EQ(enrich_query(client.get(), q.get(), "SELECT 1", nullptr, 0, nullptr, nullptr, nullptr),
            ENRICH_OK);
  ASSERT_TRUE(next(q.get()));
  char* text = nullptr;
  ASSERT_EQ(enrich_client_metrics_json(client.get(), &text), ENRICH_OK);
  auto doc = json::parse(text);
  enrich_free(text);
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(doc.value().is_array());
  std::map<std::string, std::string> types;
  for (const auto& f : doc.value().as_array())
    types[f.find("name")->as_string()] = f.find("type")->as_string();
  EXPECT_EQ(types["enrich_statements_total"], "counter");
  EXPECT_EQ(types["enrich_pool_connections"], "gauge");
  EXPECT_EQ(types["enrich_plan_duration_seconds"], "histogram");
  EXPECT_EQ(types.size(), client_->metrics().size());
  EXPECT_EQ(enrich_client_metrics_json(nullptr, &text), ENRICH_ERR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace enrich::test
