// Connection failures: unreachable server, bad password, invalid DSN, server restart and
// terminated backends.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "enrich/client.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;
using test::Stopwatch;

ClientOptions options_for_dsn(std::string dsn) {
  auto opts = test::client_options();
  opts.dsn = std::move(dsn);
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Failures that need no server

TEST(ConnectionFailureTest, UnreachablePortFailsFastWithConnectionError) {
  int port = test::closed_local_port();
  auto client = test::connect(
      options_for_dsn("postgresql://enrich:enrich@127.0.0.1:" + std::to_string(port) + "/enrich"));
  ASSERT_TRUE(client) << "create only parses the DSN; connecting happens in the background";
  Stopwatch sw;
  auto r = test::run(*client, "SELECT 1", {}, {}, 10s);
  ASSERT_ERROR_CODE(r, ErrorCode::connection);
  EXPECT_LT(sw.ms(), 2000);
  EXPECT_FALSE(r.error().message.empty());
  EXPECT_TRUE(r.error().retriable());

  // And again: a later query also fails fast (backoff must not turn into a long wait).
  sw.reset();
  auto r2 = test::run(*client, "SELECT 1", {}, {}, 10s);
  ASSERT_ERROR_CODE(r2, ErrorCode::connection);
  EXPECT_LT(sw.ms(), 2000);
  EXPECT_GE(client->stats().connect_failures, 1u);
}

TEST(ConnectionFailureTest, ManyQueriesAgainstAnUnreachableServerAllFail) {
  int port = test::closed_local_port();
  auto client = test::connect(options_for_dsn("host=127.0.0.1 port=" + std::to_string(port) +
                                              " user=enrich password=enrich dbname=enrich"));
  ASSERT_TRUE(client);
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 50; ++i) futures.push_back(client->query("SELECT 1"));
  Stopwatch sw;
  for (auto& f : futures) {
    auto r = test::wait_result(std::move(f), 10s);
    EXPECT_ERROR_CODE(r, ErrorCode::connection);
  }
  EXPECT_LT(sw.ms(), 3000);
}

TEST(ConnectionFailureTest, TransactionAgainstAnUnreachableServerFails) {
  int port = test::closed_local_port();
  auto client = test::connect(
      options_for_dsn("postgresql://enrich:enrich@127.0.0.1:" + std::to_string(port) + "/enrich"));
  ASSERT_TRUE(client);
  auto r = test::wait_result(client->transaction(), 10s);
  ASSERT_ERROR_CODE(r, ErrorCode::connection);
}

TEST(ConnectionFailureTest, InvalidDsnIsRejectedByCreate) {
  for (std::string dsn : {"this is not a dsn", "host=localhost bogus_option=1", "postgresql://[::1",
                          "host='unterminated"}) {
    auto opts = options_for_dsn(dsn);
    auto r = Client::create(opts);
    EXPECT_ERROR_CODE(r, ErrorCode::invalid_argument);
    if (!r.ok()) {
      EXPECT_FALSE(r.error().message.empty()) << dsn;
    }
  }
}

TEST(ConnectionFailureTest, InvalidDsnErrorDoesNotLeakThePassword) {
  auto r = Client::create(options_for_dsn("host=localhost password=Sup3rS3cret bogus_option=1"));
  ASSERT_ERROR_CODE(r, ErrorCode::invalid_argument);
  EXPECT_EQ(r.error().message.find("Sup3rS3cret"), std::string::npos) << r.error().message;
}

// ---------------------------------------------------------------------------------------------
// Failures against the real server

class ConnectionTest : public test::PgTest {};

TEST_F(ConnectionTest, BadPasswordFailsWithAuthenticationError) {
  const std::string password = "Wr0ng" + test::unique_name("pw");
  auto opts = test::client_options();
  opts.dsn = test::dsn_with_password(opts.dsn, password);
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  Stopwatch sw;
  auto r = test::run(*client, "SELECT 1", {}, {}, 10s);
  ASSERT_ERROR_CODE(r, ErrorCode::connection);
  EXPECT_LT(sw.ms(), 5000);
  const auto& msg = r.error().message;
  EXPECT_TRUE(test::contains_icase(msg, "password") || test::contains_icase(msg, "authentication"))
      << msg;
  EXPECT_EQ(msg.find(password), std::string::npos) << "the password must not be echoed: " << msg;
}

TEST_F(ConnectionTest, UnknownDatabaseFailsWithConnectionError) {
  auto opts = test::client_options();
  std::string db = test::unique_name("enrich_no_db");
  opts.dsn = test::dsn_set(opts.dsn, "dbname", db);
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto r = test::run(*client, "SELECT 1", {}, {}, 10s);
  ASSERT_ERROR_CODE(r, ErrorCode::connection);
  EXPECT_NE(r.error().message.find(db), std::string::npos) << r.error().message;
}

// libpq tries the hosts of a multi-host DSN in turn, on a new socket each, often with the fd
// number of the one it closed: the event loop must watch the new socket (it once kept waiting on
// the closed one until the connect timeout).
TEST_F(ConnectionTest, MultiHostDsnSkipsAHostThatRefuses) {
  std::string uri = test::test_dsn();
  ASSERT_TRUE(test::is_uri_dsn(uri)) << uri;
  auto at = uri.find('@') + 1;
  auto colon = uri.find(':', at), slash = uri.find('/', at);
  std::string host = uri.substr(at, colon - at), port = uri.substr(colon + 1, slash - colon - 1);
  auto opts = test::client_options();
  opts.dsn = fmt::format(
      "host={0},{0},{0} port={1},{2},{3} user=enrich password=enrich dbname={4} "
      "target_session_attrs=read-write",
      host, test::closed_local_port(), test::closed_local_port(), port,
      uri.substr(slash + 1, uri.find('?', slash) - slash - 1));
  opts.pool.connect_timeout = 3000ms;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  for (int i = 0; i < 3; ++i) {  // each a new connection (a fresh client each time)
    auto c = test::connect(opts);
    ASSERT_TRUE(c);
    Stopwatch sw;
    auto r = test::scalar_int(*c, "SELECT inet_server_port()");
    ASSERT_OK(r);
    EXPECT_EQ(std::to_string(r.value()), port);
    EXPECT_LT(sw.ms(), 2500) << "the connect waited on a closed socket";
  }
}

TEST_F(ConnectionTest, TerminatedBackendsAreReplacedOnTheSameClient) {
  const std::string app = test::unique_name("enrich_terminate");
  auto opts = test::client_options(app);
  opts.pool.max_connections = 2;
  opts.pool.max_pipeline_depth = 1;
  opts.pool.reconnect_backoff_initial = 50ms;
  opts.pool.reconnect_backoff_max = 500ms;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto admin = test::connect(test::client_options());
  ASSERT_TRUE(admin);

  // Open both connections and keep one busy with a long query.
  auto warm1 = client->query("SELECT pg_sleep(0.1)");
  auto warm2 = client->query("SELECT pg_sleep(0.1)");
  auto w1 = test::wait_result(std::move(warm1));
  ASSERT_OK(w1);
  auto w2 = test::wait_result(std::move(warm2));
  ASSERT_OK(w2);
  const std::string marker = test::statement_marker("terminated");
  auto long_running = client->query("SELECT pg_sleep(30) /* " + marker + " */");
  ASSERT_TRUE(test::wait_running(marker));

  auto killed = test::scalar_int(*admin,
                                 "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int8 "
                                 "FROM pg_stat_activity WHERE application_name = $1",
                                 {app});
  ASSERT_OK(killed);
  EXPECT_GE(*killed, 1);

  Stopwatch sw;
  auto lr = test::wait_result(std::move(long_running), 10s);
  ASSERT_ERROR_CODE(lr, ErrorCode::connection);
  EXPECT_LT(sw.ms(), 3000) << "a terminated backend must be noticed promptly";

  // The next queries recover (at most a few may fail, and only with connection errors).
  bool recovered = test::eventually(
      [&] {
        auto r = test::run(*client, "SELECT 1", {}, {}, 10s);
        if (!r.ok()) {
          EXPECT_EQ(r.error().code, ErrorCode::connection) << r.error().to_string();
        }
        return r.ok();
      },
      10s, 50ms);
  ASSERT_TRUE(recovered);
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 20; ++i) futures.push_back(client->query("SELECT $1::int4", {i}));
  for (int i = 0; i < 20; ++i) {
    auto r = test::wait_result(std::move(futures[i]));
    ASSERT_OK(r);
    EXPECT_EQ((*r)[0].get<int>(0), i);
  }
  auto backends = test::count_backends(*admin, app);
  ASSERT_OK(backends);
  EXPECT_GE(*backends, 1);
  EXPECT_LE(*backends, 2);
}

TEST_F(ConnectionTest, TerminatedIdleConnectionIsNoticedBeforeReuse) {
  const std::string app = test::unique_name("enrich_terminate_idle");
  auto opts = test::client_options(app);
  opts.pool.max_connections = 1;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto admin = test::connect(test::client_options());
  ASSERT_TRUE(admin);
  auto pid = test::scalar_int(*client, "SELECT pg_backend_pid()");
  ASSERT_OK(pid);
  auto killed = test::scalar_int(
      *admin, "SELECT count(*) FILTER (WHERE pg_terminate_backend($1))::int8", {*pid});
  ASSERT_OK(killed);
  ASSERT_EQ(*killed, 1);
  // The server tells the client it is terminating; the idle connection is dropped from the pool
  // then (min_connections is 0: nothing replaces it), before any query could pick it.
  ASSERT_TRUE(test::eventually([&] { return client->stats().connections == 0; }, 10s))
      << "the terminated idle connection is still in the pool: " << client->stats().connections
      << " connection(s)";
  auto r = test::run(*client, "SELECT pg_backend_pid()", {}, {}, 10s);
  ASSERT_OK(r) << "the next query must not be sent on the terminated connection";
  EXPECT_NE((*r)[0].get<std::int64_t>(0), *pid);
}

// ---------------------------------------------------------------------------------------------
// Server restart

class ServerRestartTest : public test::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    restart_ = test::env_or_empty("ENRICH_TEST_PG_RESTART");
    if (restart_.empty()) {
      FAIL() << "ENRICH_TEST_PG_RESTART is not set: it must be a shell command that restarts "
                "the test server (e.g. \"scripts/pg restart\")";
    }
  }
  std::string restart_;
};

TEST_F(ServerRestartTest, ClientRecoversAfterServerRestart) {
  auto opts = test::client_options();
  opts.pool.max_connections = 4;
  opts.pool.min_connections = 1;
  opts.pool.reconnect_backoff_initial = 50ms;
  opts.pool.reconnect_backoff_max = 1000ms;
  opts.pool.acquire_timeout = 2s;
  auto client = test::connect(opts);
  ASSERT_TRUE(client);
  auto warm = test::run(*client, "SELECT 1");
  ASSERT_OK(warm);

  // Background load: queries continuously, recording outcomes.
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::map<std::string, int> outcomes;
  std::atomic<int> hung{0};
  std::thread load([&] {
    int i = 0;
    while (!stop) {
      auto f = client->query("SELECT $1::int4", {i});
      if (!f.wait_for(15s)) {
        hung++;
        break;
      }
      auto r = f.get();
      std::lock_guard lock(mu);
      if (r.ok()) {
        if ((*r)[0].get<int>(0) != i)
          outcomes["wrong value"]++;
        else
          outcomes["ok"]++;
      } else {
        outcomes[std::string(to_string(r.error().code))]++;
        if (r.error().code != ErrorCode::connection) outcomes["detail: " + r.error().to_string()]++;
      }
      ++i;
      std::this_thread::sleep_for(5ms);
    }
  });
  // An assertion that fails below returns early: stop and join the load first.
  struct StopLoad {
    std::atomic<bool>& stop;
    std::thread& load;
    ~StopLoad() {
      stop = true;
      if (load.joinable()) load.join();
    }
  } stop_load{stop, load};

  const std::string marker = test::statement_marker("restart");
  auto in_flight = client->query("SELECT pg_sleep(30) /* " + marker + " */");
  ASSERT_TRUE(test::wait_running(marker));

  Stopwatch sw;
  int rc = std::system(restart_.c_str());
  ASSERT_EQ(rc, 0) << "restart command failed: " << restart_;
  auto restart_ms = sw.ms();

  auto r = test::wait_result(std::move(in_flight), 15s);
  ASSERT_ERROR_CODE(r, ErrorCode::connection);

  // Within ~10 s of the server being back, queries succeed again on the same client.
  Stopwatch recover;
  bool recovered = test::eventually(
      [&] {
        auto q = test::run(*client, "SELECT 1", {}, {}, 10s);
        return q.ok();
      },
      10s, 100ms);
  ASSERT_TRUE(recovered) << "no successful query within 10 s after restart (restart took "
                         << restart_ms << " ms)";
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 50; ++i) futures.push_back(client->query("SELECT $1::int4 + 1", {i}));
  for (int i = 0; i < 50; ++i) {
    auto q = test::wait_result(std::move(futures[i]));
    ASSERT_OK(q);
    EXPECT_EQ((*q)[0].get<int>(0), i + 1);
  }

  stop = true;
  if (load.joinable()) load.join();
  EXPECT_EQ(hung.load(), 0) << "a query hung across the restart";
  std::lock_guard lock(mu);
  std::string summary;
  for (auto& [k, v] : outcomes) summary += k + "=" + std::to_string(v) + " ";
  EXPECT_GT(outcomes.count("ok"), 0u) << summary;
  for (auto& [k, v] : outcomes) {
    EXPECT_TRUE(k == "ok" || k == "connection")
        << "unexpected outcome during restart: " << k << " (" << summary << ")";
  }
}

}  // namespace
}  // namespace enrich
