// Read replicas (ClientOptions::replica_dsns) against the streaming standby of scripts/pg:
// reads and read-only plans go to the replica, writes, transactions and use_primary to the
// primary; a "read" that writes (25006 on the standby) runs again on the primary, alone or inside
// a plan wave; while no replica is reachable reads use the primary, and they come back to the
// replica when it does. The replica is taken away and brought back through a TCP forwarder, so
// that the shared standby itself keeps running.
//
// Environment (scripts/test sets them; these tests fail without them): ENRICH_TEST_DSN,
// ENRICH_REPLICA_DSN.

#include <functional>
#include <string>
#include <vector>

#include "config/option_table.hpp"
#include "enrich/plan.hpp"
#include "json/value.hpp"
#include "support/capi_support.hpp"
#include "support/tcp_forwarder.hpp"
#include "support/test_support.hpp"

namespace enrich::test {
namespace {

int port_of(const std::string& uri) {
  auto start = uri.rfind(':') + 1;
  return std::stoi(uri.substr(start, uri.find('/', start) - start));
}

std::string replica_uri_on(int port) {
  std::string uri = env_or_empty("ENRICH_REPLICA_DSN");
  auto start = uri.rfind(':') + 1;
  return uri.substr(0, start) + std::to_string(port) + uri.substr(uri.find('/', start));
}

/// A client of the replica itself (not through replica_dsns): to see what runs there.
std::unique_ptr<Client> direct_to_replica() {
  ClientOptions direct = client_options();
  direct.dsn = env_or_empty("ENRICH_REPLICA_DSN");
  return connect(direct);
}

/// Waits until the statement carrying `marker` runs on the replica itself.
bool running_on_replica(const std::string& marker) {
  auto monitor = direct_to_replica();
  return monitor && eventually(
                        [&] {
                          auto n = count_running(*monitor, marker);
                          return n.ok() && n.value() == 1;
                        },
                        10s);
}

bool in_recovery(const Result<QueryResult>& r) {
  return r.ok() && r.value().size() == 1 && r.value()[0].get<bool>(0) == true;
}

class ReplicaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (env_or_empty("ENRICH_REPLICA_DSN").empty())
      GTEST_FAIL() << "ENRICH_REPLICA_DSN is not set (scripts/test starts the replica; by hand: "
                      "scripts/pg replica-start && eval \"$(scripts/pg replica-env)\")";
    auto admin = connect(client_options());
    ASSERT_TRUE(admin);
    for (const char* sql : {
             "CREATE TABLE IF NOT EXISTS enrich_replica_t (id serial PRIMARY KEY, at_primary bool)",
             "CREATE SEQUENCE IF NOT EXISTS enrich_replica_seq",
             // Looks like a read (SELECT f()), writes: the standby refuses it with 25006.
             "CREATE OR REPLACE FUNCTION enrich_replica_write() RETURNS bool LANGUAGE sql AS "
             "'INSERT INTO enrich_replica_t (at_primary) VALUES (NOT pg_is_in_recovery()) "
             "RETURNING at_primary'",
         })
      ASSERT_OK(run(*admin, sql));
    // The standby replays them shortly; wait, so that it fails with 25006 and not 42883.
    auto replica = direct_to_replica();
    ASSERT_TRUE(replica);
    ASSERT_TRUE(eventually(
        [&] {
          auto r = run(*replica,
                       "SELECT to_regproc('enrich_replica_write') IS NOT NULL AND "
                       "to_regclass('enrich_replica_seq') IS NOT NULL");
          return r.ok() && r.value()[0].get<bool>(0) == true;
        },
        10s))
        << "the replica did not replay the test's objects";
  }

  /// A client whose replica is `replica_uri`; waits until reads reach a replica when `ready`.
  std::unique_ptr<Client> client_with(const std::string& replica_uri, bool ready = true,
                                      const std::function<void(ClientOptions&)>& tweak = {}) {
    ClientOptions o = client_options();
    o.replica_dsns = {replica_uri};
    o.pool.connect_timeout = 2000ms;
    o.pool.reconnect_backoff_initial = 50ms;
    o.pool.reconnect_backoff_max = 200ms;
    if (tweak) tweak(o);
    auto c = connect(o);
    if (c && ready) {
      EXPECT_TRUE(
          eventually([&] { return in_recovery(run(*c, "SELECT pg_is_in_recovery()")); }, 10s))
          << "reads never reached the replica";
    }
    return c;
  }
};

TEST_F(ReplicaTest, ReadsGoToAReplicaWritesAndTransactionsToThePrimary) {
  auto c = client_with(env_or_empty("ENRICH_REPLICA_DSN"));
  ASSERT_TRUE(c);
  EXPECT_TRUE(in_recovery(run(*c, "SELECT pg_is_in_recovery()")));

  QueryOptions primary;
  primary.use_primary = true;
  auto forced = wait_result(c->query("SELECT pg_is_in_recovery()", {}, primary));
  ASSERT_OK(forced);
  EXPECT_EQ(forced.value()[0].get<bool>(0), false) << "use_primary must reach the primary";

  auto write = run(*c,
                   "INSERT INTO enrich_replica_t (at_primary) VALUES (NOT pg_is_in_recovery()) "
                   "RETURNING at_primary");
  ASSERT_OK(write);
  EXPECT_EQ(write.value()[0].get<bool>(0), true);

  auto tx = wait_result(c->transaction());
  ASSERT_OK(tx);
  auto inside = run(tx.value(), "SELECT pg_is_in_recovery()");
  ASSERT_OK(inside);
  EXPECT_EQ(inside.value()[0].get<bool>(0), false) << "a transaction's reads stay on the primary";
  ASSERT_OK(wait_result(tx.value().commit()));

  PoolStats stats = c->stats();
  EXPECT_GE(stats.replica_reads, 1u);
  EXPECT_GE(stats.replica_connections, 1u);
}

TEST_F(ReplicaTest, PlansThatOnlyReadRunOnAReplicaPlansThatWriteOnThePrimary) {
  auto c = client_with(env_or_empty("ENRICH_REPLICA_DSN"));
  ASSERT_TRUE(c);
  auto reads = PlanBuilder("reads")
                   .sql("a", "SELECT pg_is_in_recovery() AS r", {}, ResultShape::value)
                   .sql("b", "SELECT pg_is_in_recovery() AS r, 'b'", {}, ResultShape::value)
                   .build();
  ASSERT_OK(reads);
  auto out = wait_result(c->run(reads.value(), {}));
  ASSERT_OK(out);
  EXPECT_EQ(out.value().json.find("\"a\":true,\"b\":true") != std::string::npos, true)
      << out.value().json;

  RunOptions primary;
  primary.use_primary = true;
  out = wait_result(c->run(reads.value(), {}, primary));
  ASSERT_OK(out);
  EXPECT_NE(out.value().json.find("\"a\":false,\"b\":false"), std::string::npos)
      << out.value().json;

  // One step writes: the whole plan runs on the primary (later steps may read what it wrote).
  auto mixed =
      PlanBuilder("mixed")
          .sql("w",
               "INSERT INTO enrich_replica_t (at_primary) VALUES (NOT pg_is_in_recovery()) "
               "RETURNING at_primary",
               {}, ResultShape::value)
          .sql("r", "SELECT pg_is_in_recovery() AS r", {}, ResultShape::value)
          .build();
  ASSERT_OK(mixed);
  out = wait_result(c->run(mixed.value(), {}));
  ASSERT_OK(out);
  EXPECT_NE(out.value().json.find("\"w\":true,\"r\":false"), std::string::npos) << out.value().json;
}

TEST_F(ReplicaTest, AReadThatWritesIsRunAgainOnThePrimary) {
  auto c = client_with(env_or_empty("ENRICH_REPLICA_DSN"));
  ASSERT_TRUE(c);
  auto before = c->stats().replica_fallbacks;
  // nextval() and a function that inserts look like reads; the standby refuses them (25006).
  auto next = scalar_int(*c, "SELECT nextval('enrich_replica_seq')");
  ASSERT_OK(next);
  EXPECT_GT(next.value(), 0);
  auto wrote = run(*c, "SELECT enrich_replica_write()");
  ASSERT_OK(wrote);
  EXPECT_EQ(wrote.value()[0].get<bool>(0), true) << "the function must have run on the primary";
  EXPECT_GE(c->stats().replica_fallbacks, before + 2);

  // In a read-only wave the steps share one Sync on the replica: the refused one runs again on
  // the primary, the one its error aborted runs again alone on the replica.
  auto plan = PlanBuilder("wave")
                  .sql("n", "SELECT nextval('enrich_replica_seq') AS n", {}, ResultShape::value)
                  .sql("r", "SELECT pg_is_in_recovery() AS r", {}, ResultShape::value)
                  .build();
  ASSERT_OK(plan);
  for (int i = 0; i < 3; ++i) {
    auto out = wait_result(c->run(plan.value(), {}));
    ASSERT_OK(out);
    auto doc = json::parse(out.value().json);
    ASSERT_TRUE(doc.ok()) << out.value().json;
    const json::Value* n = doc.value().find("n");  // int8: a string in the node profile
    ASSERT_NE(n, nullptr) << out.value().json;
    EXPECT_FALSE(n->is_null()) << out.value().json;
    EXPECT_EQ(doc.value().find("r")->as_bool(), true) << out.value().json;
  }
}

TEST_F(ReplicaTest, ReadsUseThePrimaryWhileNoReplicaIsReachableAndComeBack) {
  TcpForwarder replica(port_of(env_or_empty("ENRICH_REPLICA_DSN")), closed_local_port());
  auto c = client_with(replica_uri_on(replica.port()), false);
  ASSERT_TRUE(c);

  // Nothing listens: reads go to the primary at once, not after a connect timeout.
  auto start = Clock::now();
  auto r = run(*c, "SELECT pg_is_in_recovery()");
  ASSERT_OK(r);
  EXPECT_EQ(r.value()[0].get<bool>(0), false);
  EXPECT_LT(Clock::now() - start, 1500ms);
  EXPECT_GE(c->stats().replica_fallbacks, 1u);

  // The replica appears: reads move to it.
  ASSERT_TRUE(replica.up());
  EXPECT_TRUE(eventually([&] { return in_recovery(run(*c, "SELECT pg_is_in_recovery()")); }, 10s));

  // It goes away while a read runs there: the read runs again on the primary.
  std::string marker = statement_marker("enrich_replica_lost");
  auto running = c->query("SELECT pg_is_in_recovery() FROM pg_sleep(0.5) /* " + marker + " */");
  ASSERT_TRUE(running_on_replica(marker));
  replica.down();
  auto lost = wait_result(std::move(running));
  ASSERT_OK(lost);
  EXPECT_EQ(lost.value()[0].get<bool>(0), false) << "the lost read must have run on the primary";
  r = run(*c, "SELECT pg_is_in_recovery()");
  ASSERT_OK(r);
  EXPECT_EQ(r.value()[0].get<bool>(0), false);

  // And back again.
  ASSERT_TRUE(replica.up());
  EXPECT_TRUE(eventually([&] { return in_recovery(run(*c, "SELECT pg_is_in_recovery()")); }, 10s));
}

// Reads waiting in a replica's pool when the replica goes away (its connection lost, the
// reconnect refused) are handed to the primary instead of failing.
TEST_F(ReplicaTest, ReadsWaitingForAReplicaThatGoesAwayRunOnThePrimary) {
  TcpForwarder replica(port_of(env_or_empty("ENRICH_REPLICA_DSN")), closed_local_port());
  ASSERT_TRUE(replica.up());
  auto c = client_with(replica_uri_on(replica.port()), true, [](ClientOptions& o) {
    o.pool.max_connections = 1;  // one statement at a time: the others wait in the pool
    o.pool.max_pipeline_depth = 1;
  });
  ASSERT_TRUE(c);
  std::string marker = statement_marker("enrich_replica_queue");
  auto first = c->query("SELECT pg_is_in_recovery() FROM pg_sleep(0.5) /* " + marker + " */");
  std::vector<Future<QueryResult>> waiting;
  for (int i = 0; i < 3; ++i) waiting.push_back(c->query("SELECT pg_is_in_recovery()"));
  ASSERT_TRUE(running_on_replica(marker));
  auto before = c->stats().replica_fallbacks;
  replica.down();
  auto lost = wait_result(std::move(first));
  ASSERT_OK(lost);
  EXPECT_EQ(lost.value()[0].get<bool>(0), false);
  for (auto& f : waiting) {
    auto r = wait_result(std::move(f));
    ASSERT_OK(r);
    EXPECT_EQ(r.value()[0].get<bool>(0), false) << "a waiting read must have run on the primary";
  }
  EXPECT_EQ(c->stats().replica_fallbacks, before + 4);
}

// The C API: replicas through config_json, and use_primary in version 2 of the call options; a
// version-1 struct (without the field) is read without touching memory past its end.
TEST_F(ReplicaTest, TheCApiRoutesAndAcceptsVersionOneCallOptions) {
  using namespace capi_test;
  std::string config = "{\"replica_dsns\": [\"" + env_or_empty("ENRICH_REPLICA_DSN") +
                       "\"], \"reconnect_backoff_initial\": 50}";
  ClientPtr client =
      make_client(test_dsn(), [&](enrich_client_options& o) { o.config_json = config.c_str(); });
  ASSERT_TRUE(client);
  auto q = make_queue();
  auto where = [&](const enrich_call_options* options) {
    enrich_call_options shaped = call_options_init();
    if (options && options->version >= 2) shaped = *options;
    shaped.shape = ENRICH_SHAPE_VALUE;
    // A v1 struct is passed as it is (its own shape is NONE: read the value instead).
    const enrich_call_options* pass = options && options->version == 1 ? options : &shaped;
    EXPECT_EQ(enrich_query(client.get(), q.get(), "SELECT pg_is_in_recovery()", nullptr, 0, pass,
                           nullptr, nullptr),
              ENRICH_OK);
    CompletionPtr c = next(q.get());
    if (!c || enrich_completion_status(c.get()) != ENRICH_OK) return std::string("error");
    return pass == options ? std::string(enrich_completion_value(c.get(), 0, 0, nullptr))
                           : json_of(c.get());
  };
  ASSERT_TRUE(eventually([&] { return where(nullptr) == "true"; }, 10s));
  enrich_call_options primary = call_options_init();
  primary.use_primary = 1;
  EXPECT_EQ(where(&primary), "false");

  struct CallOptionsV1 {  // enrich_call_options as version 1 had it
    unsigned version;
    std::int64_t timeout_ms, deadline_ms;
    enrich_json_profile profile;
    enrich_result_shape shape;
  };
  auto v1 = std::make_unique<CallOptionsV1>();
  *v1 = CallOptionsV1{1, 0, 0, ENRICH_PROFILE_DEFAULT, ENRICH_SHAPE_NONE};
  EXPECT_EQ(where(reinterpret_cast<const enrich_call_options*>(v1.get())), "t")
      << "a v1 struct reads like use_primary = 0: the replica";
}

TEST(ReplicaOptions, AListOrOneStringOfUris) {
  ClientOptions o;
  auto text = json::parse(
      R"({"replica_dsns": "  postgresql://u:secret@a/db\n\tpostgresql://u:secret@b/db "})");
  ASSERT_TRUE(text.ok());
  ASSERT_FALSE(config::set_options(o, text.value()));
  ASSERT_EQ(o.replica_dsns.size(), 2u);
  EXPECT_EQ(o.replica_dsns[1], "postgresql://u:secret@b/db");
  std::string values = config::values_json(o);
  EXPECT_EQ(values.find("secret"), std::string::npos) << values;

  auto list = json::parse(R"({"replica_dsns": ["host=a dbname=x", "host=b dbname=x"]})");
  ASSERT_FALSE(config::set_options(o, list.value()));
  ASSERT_EQ(o.replica_dsns.size(), 2u);
  EXPECT_EQ(o.replica_dsns[0], "host=a dbname=x");

  auto bad = json::parse(R"({"replica_dsns": [1]})");
  auto e = config::set_options(o, bad.value());
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("replica_dsns"), std::string::npos);

  o.replica_dsns = {"postgresql://a/db", "host=x no_such_option=1"};
  auto created = Client::create(o);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(created.error().message.find("replica_dsns[1]"), std::string::npos)
      << created.error().message;
}

}  // namespace
}  // namespace enrich::test
