// The C API (capi/enrich.h) under conditions a C test cannot easily create: destroying a client
// or a queue with operations in flight, log events on a queue, HTTP against the analytics stub
// (started and killed here), and the queue's notify callback. The argument checks and the plain
// round trips are in tests/capi/capi_test.c; the high-volume and cancel races in
// tests/cpp/concurrency/capi_concurrency_test.cpp.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "enrich.h"
#include "support/capi_support.hpp"
#include "support/json.hpp"
#include "support/stub_server.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace enrich::capi_test;
using enrich::test::Stopwatch;

// ---- fixture ------------------------------------------------------------------------------------

class CapiTest : public enrich::test::PgTest {
 protected:
  std::string app_dsn(const std::string& app) {
    return enrich::test::dsn_set(dsn_, "application_name", app);
  }
};

/// Active backends of an application_name, seen from a separate client (-1 on error).
long long backends_of(enrich_client* monitor, enrich_queue* q, const std::string& app) {
  const char* params[] = {app.c_str()};
  if (enrich_query(monitor, q,
                   "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND "
                   "state = 'active'",
                   params, 1, nullptr, nullptr, nullptr) != ENRICH_OK)
    return -1;
  auto c = next(q);
  if (!c || enrich_completion_status(c.get()) != ENRICH_OK) return -1;
  return std::atoll(enrich_completion_value(c.get(), 0, 0, nullptr));
}

// ---- destroying a client with work in flight ----------------------------------------------------

TEST_F(CapiTest, DestroyClientWithThousandOpsInFlightDeliversEveryCompletion) {
  std::string app = enrich::test::unique_name("capi_destroy");
  auto q = make_queue();
  ClientPtr client = make_client(app_dsn(app), [](enrich_client_options& o) {
    o.max_connections = 4;
    o.min_connections = 4;
  });
  ASSERT_TRUE(client);
  constexpr int kOps = 1000;
  std::set<enrich_op_id> ids;
  for (int i = 0; i < kOps; ++i) {
    enrich_op_id id = 0;
    ASSERT_EQ(enrich_query(client.get(), q.get(), "SELECT pg_sleep(1)", nullptr, 0, nullptr,
                           reinterpret_cast<void*>(static_cast<std::intptr_t>(i + 1)), &id),
              ENRICH_OK);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kOps)) << "ids are unique";
  // Let the first statements reach the server.
  ASSERT_TRUE(enrich::test::eventually([&] { return stat_of(client.get(), "in_flight") > 0; }, 5s));
  EXPECT_EQ(stat_of(client.get(), "pending_operations"), kOps);

  Stopwatch sw;
  enrich_client_destroy(client.release());
  EXPECT_LT(sw.ms(), 3000) << "enrich_client_destroy must not wait for the statements";

  // Every completion is already there: no waiting.
  EXPECT_EQ(enrich_queue_size(q.get()), static_cast<std::size_t>(kOps));
  auto completions = drain(q.get(), kOps, 1s);
  std::vector<int> seen(kOps + 1, 0);
  int cancelled = 0;
  for (auto& c : completions) {
    auto tag = reinterpret_cast<std::intptr_t>(enrich_completion_user_data(c.get()));
    ASSERT_GE(tag, 1);
    ASSERT_LE(tag, kOps);
    ++seen[tag];
    EXPECT_EQ(ids.count(enrich_completion_id(c.get())), 1u);
    if (enrich_completion_status(c.get()) == ENRICH_ERR_CANCELLED) ++cancelled;
  }
  for (int i = 1; i <= kOps; ++i) EXPECT_EQ(seen[i], 1) << "op " << i;
  EXPECT_EQ(cancelled, kOps) << "no pg_sleep(1) could finish before the destroy";
  pollfd p{enrich_queue_fd(q.get()), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0) << "drained queue's fd must not be readable";

  // The server stops running the cancelled statements.
  auto monitor = make_client(dsn_);
  ASSERT_TRUE(monitor);
  EXPECT_TRUE(enrich::test::eventually(
      [&] { return backends_of(monitor.get(), q.get(), app) == 0; }, 10s, 100ms));
}

TEST_F(CapiTest, DestroyClientDeliversCallbacksBeforeReturning) {
  ClientPtr client = make_client(dsn_);
  ASSERT_TRUE(client);
  struct State {
    std::atomic<int> calls{0}, cancelled{0};
  } state;
  auto on_done = [](enrich_completion* c, void* payload) {
    auto* s = static_cast<State*>(payload);
    if (enrich_completion_status(c) == ENRICH_ERR_CANCELLED) s->cancelled.fetch_add(1);
    enrich_completion_free(c);
    s->calls.fetch_add(1);
  };
  constexpr int kOps = 100;
  for (int i = 0; i < kOps; ++i)
    ASSERT_EQ(enrich_query_cb(client.get(), "SELECT pg_sleep(5)", nullptr, 0, nullptr, on_done,
                              &state, nullptr),
              ENRICH_OK);
  ASSERT_TRUE(
      enrich::test::eventually([&] { return stat_of(client.get(), "in_flight") > 0; }, 10s));
  Stopwatch sw;
  enrich_client_destroy(client.release());
  EXPECT_LT(sw.ms(), 3000);
  EXPECT_EQ(state.calls.load(), kOps);
  EXPECT_EQ(state.cancelled.load(), kOps);
}

TEST_F(CapiTest, CancelOneQuery) {
  auto q = make_queue();
  ClientPtr client = make_client(dsn_);
  ASSERT_TRUE(client);
  enrich_op_id id = 0;
  const std::string marker = enrich::test::statement_marker("capi_cancel");
  const std::string sql = "SELECT pg_sleep(30) /* " + marker + " */";
  ASSERT_EQ(enrich_query(client.get(), q.get(), sql.c_str(), nullptr, 0, nullptr, nullptr, &id),
            ENRICH_OK);
  ASSERT_TRUE(enrich::test::wait_running(marker));
  Stopwatch sw;
  EXPECT_EQ(enrich_cancel(client.get(), id), ENRICH_OK);
  // Again: OK while the cancelled operation has not completed yet, NOT_FOUND once it has (the I/O
  // thread may already have completed it): never anything else.
  enrich_status again = enrich_cancel(client.get(), id);
  EXPECT_TRUE(again == ENRICH_OK || again == ENRICH_ERR_NOT_FOUND) << enrich_status_name(again);
  auto c = next(q.get(), 10s);
  ASSERT_TRUE(c);
  EXPECT_LT(sw.ms(), 5000);
  EXPECT_EQ(enrich_completion_status(c.get()), ENRICH_ERR_CANCELLED)
      << error_text(enrich_completion_error(c.get()));
  EXPECT_EQ(enrich_completion_id(c.get()), id);
  EXPECT_EQ(enrich_cancel(client.get(), id), ENRICH_ERR_NOT_FOUND);
  // The connection is still good.
  ASSERT_EQ(enrich_query(client.get(), q.get(), "SELECT 1", nullptr, 0, nullptr, nullptr, nullptr),
            ENRICH_OK);
  c = next(q.get());
  ASSERT_TRUE(c);
  EXPECT_EQ(enrich_completion_status(c.get()), ENRICH_OK);
  EXPECT_EQ(stat_of(client.get(), "pending_operations"), 0);
}

// ---- queues destroyed while operations still target them ----------------------------------------

TEST_F(CapiTest, QueueDestroyedWhileOperationsTargetIt) {
  auto keep = make_queue();  // for the check queries afterwards
  ClientPtr client = make_client(dsn_, [](enrich_client_options& o) { o.max_connections = 2; });
  ASSERT_TRUE(client);
  enrich_queue* q = nullptr;
  ASSERT_EQ(enrich_queue_create(&q), ENRICH_OK);
  for (int i = 0; i < 200; ++i) {
    std::string v = std::to_string(i);
    const char* params[] = {v.c_str()};
    ASSERT_EQ(
        enrich_query(client.get(), q, i % 2 ? "SELECT $1::int" : "SELECT pg_sleep(0.001), $1::int",
                     params, 1, nullptr, nullptr, nullptr),
        ENRICH_OK);
  }
  // A transaction whose TX_BEGIN completion is discarded must roll back and free its connection;
  // an HTTP request to a closed port fails into the void as well.
  ASSERT_EQ(enrich_tx_begin(client.get(), q, nullptr, nullptr, nullptr), ENRICH_OK);
  std::string url = "http://127.0.0.1:" + std::to_string(enrich::test::closed_local_port()) + "/";
  enrich_http_request req = http_request_init();
  req.url = url.c_str();
  ASSERT_EQ(enrich_http(client.get(), q, &req, nullptr, nullptr, nullptr), ENRICH_OK);
  // Let some completions land in the queue, then destroy it with the rest still running.
  ASSERT_TRUE(enrich::test::eventually([&] { return enrich_queue_size(q) > 0; }, 10s, 1ms));
  enrich_queue_destroy(q);

  // Everything completes (and is discarded); the client stays healthy.
  EXPECT_TRUE(enrich::test::eventually(
      [&] { return stat_of(client.get(), "pending_operations") == 0; }, 20s));
  EXPECT_TRUE(
      enrich::test::eventually([&] { return stat_of(client.get(), "in_transaction") == 0; }, 10s))
      << "the discarded transaction must have been rolled back";
  ASSERT_EQ(enrich_query(client.get(), keep.get(), "SELECT 'alive'", nullptr, 0, nullptr, nullptr,
                         nullptr),
            ENRICH_OK);
  auto c = next(keep.get());
  ASSERT_TRUE(c);
  EXPECT_STREQ(enrich_completion_value(c.get(), 0, 0, nullptr), "alive");
}

TEST_F(CapiTest, QueueDestroyedThenClientDestroyedWithWorkInFlight) {
  ClientPtr client = make_client(dsn_);
  ASSERT_TRUE(client);
  enrich_queue* q = nullptr;
  ASSERT_EQ(enrich_queue_create(&q), ENRICH_OK);
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(
        enrich_query(client.get(), q, "SELECT pg_sleep(10)", nullptr, 0, nullptr, nullptr, nullptr),
        ENRICH_OK);
  ASSERT_EQ(enrich_tx_begin(client.get(), q, nullptr, nullptr, nullptr), ENRICH_OK);
  ASSERT_TRUE(
      enrich::test::eventually([&] { return stat_of(client.get(), "in_flight") > 0; }, 10s));
  enrich_queue_destroy(q);
  Stopwatch sw;
  enrich_client_destroy(client.release());  // the cancelled completions go nowhere
  EXPECT_LT(sw.ms(), 3000);
}

TEST_F(CapiTest, LogQueueDestroyedBeforeTheClient) {
  enrich_queue* log_queue = nullptr;
  ASSERT_EQ(enrich_queue_create(&log_queue), ENRICH_OK);
  auto q = make_queue();
  std::string bad = enrich::test::dsn_with_password(dsn_, "wrong-password-1");
  ClientPtr client = make_client(bad, [&](enrich_client_options& o) {
    o.log_queue = log_queue;
    o.log_level = ENRICH_LOG_DEBUG;
    o.acquire_timeout_ms = 500;
  });
  ASSERT_TRUE(client);
  enrich_queue_destroy(log_queue);  // the client keeps logging into the void
  ASSERT_EQ(enrich_query(client.get(), q.get(), "SELECT 1", nullptr, 0, nullptr, nullptr, nullptr),
            ENRICH_OK);
  auto c = next(q.get(), 10s);
  ASSERT_TRUE(c);
  EXPECT_NE(enrich_completion_status(c.get()), ENRICH_OK);
}

// ---- log events on a queue ----------------------------------------------------------------------

TEST_F(CapiTest, LogEventsArriveOnTheLogQueueWithoutThePassword) {
  const std::string password = "Wr0ng-Secret-Pw";
  auto log_queue = make_queue();
  auto q = make_queue();
  std::string bad = enrich::test::dsn_with_password(dsn_, password);
  ClientPtr client = make_client(bad, [&](enrich_client_options& o) {
    o.log_queue = log_queue.get();
    o.log_level = ENRICH_LOG_DEFAULT;  // warning
    o.max_connections = 1;
    o.connect_timeout_ms = 2000;
    o.acquire_timeout_ms = 2000;
  });
  ASSERT_TRUE(client);
  ASSERT_EQ(enrich_query(client.get(), q.get(), "SELECT 1", nullptr, 0, nullptr, nullptr, nullptr),
            ENRICH_OK);
  auto failed = next(q.get(), 10s);
  ASSERT_TRUE(failed);
  EXPECT_NE(enrich_completion_status(failed.get()), ENRICH_OK);
  EXPECT_EQ(std::string(enrich_error_message(enrich_completion_error(failed.get()))).find(password),
            std::string::npos);

  // The log fd became readable as well.
  pollfd p{enrich_queue_fd(log_queue.get()), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1);
  client.reset();  // no more events after this
  std::vector<CompletionPtr> events;
  enrich_completion* batch[16];
  while (std::size_t n = enrich_queue_poll(log_queue.get(), batch, 16))
    for (std::size_t i = 0; i < n; ++i) events.emplace_back(batch[i]);
  ASSERT_FALSE(events.empty());

  bool connect_failed = false;
  for (auto& e : events) {
    EXPECT_EQ(enrich_completion_kind_of(e.get()), ENRICH_COMPLETION_LOG);
    EXPECT_EQ(enrich_completion_status(e.get()), ENRICH_OK);
    EXPECT_EQ(enrich_completion_id(e.get()), 0u);
    enrich_log_level level = ENRICH_LOG_OFF;
    const char* event = nullptr;
    const char* fields = nullptr;
    ASSERT_EQ(enrich_completion_log(e.get(), &level, &event, &fields), ENRICH_OK);
    ASSERT_NE(event, nullptr);
    ASSERT_NE(fields, nullptr);
    EXPECT_GE(level, ENRICH_LOG_WARNING) << event << " (default minimum level is warning)";
    EXPECT_EQ(std::string(fields).find(password), std::string::npos) << event << " " << fields;
    EXPECT_EQ(std::string(event).find(password), std::string::npos);
    auto parsed = enrich::test::parse_flat_json_object(fields);
    EXPECT_TRUE(parsed.has_value()) << "fields_json must be a JSON object: " << fields;
    if (std::string(event) == "pg.connect_failed") {
      connect_failed = true;
      EXPECT_EQ(level, ENRICH_LOG_WARNING);
      EXPECT_NE(std::string(fields).find("\"dsn\""), std::string::npos) << fields;
      EXPECT_NE(std::string(fields).find("\"error\""), std::string::npos) << fields;
    }
  }
  EXPECT_TRUE(connect_failed) << "expected a pg.connect_failed event";
}

/// The events a client logs while it runs a statement that raises a NOTICE (a debug event).
std::vector<std::string> events_logged_for_a_notice(enrich_client* raw_client) {
  ClientPtr client(raw_client);
  auto q = make_queue();
  EXPECT_EQ(enrich_query(client.get(), q.get(), "DO $$ BEGIN RAISE NOTICE 'capi notice'; END $$",
                         nullptr, 0, nullptr, nullptr, nullptr),
            ENRICH_OK);
  auto c = next(q.get());
  EXPECT_TRUE(c && enrich_completion_status(c.get()) == ENRICH_OK);
  client.reset();  // flushes: no more events after this
  return {};
}

std::vector<std::string> drain_events(enrich_queue* log_queue) {
  std::vector<std::string> events;
  enrich_completion* batch[16];
  while (std::size_t n = enrich_queue_poll(log_queue, batch, 16)) {
    for (std::size_t i = 0; i < n; ++i) {
      CompletionPtr e(batch[i]);
      enrich_log_level level;
      const char* event = nullptr;
      const char* fields = nullptr;
      EXPECT_EQ(enrich_completion_log(e.get(), &level, &event, &fields), ENRICH_OK);
      EXPECT_GE(level, ENRICH_LOG_DEBUG);
      EXPECT_LE(level, ENRICH_LOG_ERROR);
      events.push_back(std::string(event) + " " + fields);
    }
  }
  return events;
}

bool has_notice(const std::vector<std::string>& events) {
  for (auto& e : events)
    if (e.rfind("pg.notice ", 0) == 0 && e.find("capi notice") != std::string::npos) return true;
  return false;
}

std::vector<std::string> events_at_level(const std::string& dsn, enrich_log_level level) {
  auto log_queue = make_queue();
  ClientPtr client = make_client(dsn, [&](enrich_client_options& o) {
    o.log_queue = log_queue.get();
    o.log_level = level;
  });
  if (!client) return {};
  events_logged_for_a_notice(client.release());
  return drain_events(log_queue.get());
}

TEST_F(CapiTest, LogLevelZeroIsTheDefaultAndDebugIsOne) {
  EXPECT_TRUE(has_notice(events_at_level(dsn_, ENRICH_LOG_DEBUG)))
      << "ENRICH_LOG_DEBUG delivers debug events";
  EXPECT_FALSE(has_notice(events_at_level(dsn_, ENRICH_LOG_DEFAULT)))
      << "ENRICH_LOG_DEFAULT (0) means warning: no debug events";
  EXPECT_FALSE(has_notice(events_at_level(dsn_, ENRICH_LOG_INFO)));
}

// The version 1 layout of enrich_client_options, as a program compiled against 0.1 passes it.
struct ClientOptionsV1 {
  unsigned version;
  const char* dsn;
  size_t io_threads, min_connections, max_connections, max_pipeline_depth;
  int64_t acquire_timeout_ms;
  size_t max_waiting;
  int64_t connect_timeout_ms, idle_timeout_ms, max_lifetime_ms, query_timeout_ms;
  int disable_prepared_statements;
  size_t statement_cache_size;
  int64_t http_timeout_ms, http_connect_timeout_ms;
  size_t http_max_connections_per_host, http_max_response_bytes;
  int http_insecure_skip_verify, breaker_failure_threshold;
  int64_t breaker_cool_down_ms;
  int disable_breaker;
  enrich_log_fn log_fn;
  void* log_payload;
  enrich_queue* log_queue;
  int log_level;  // 0 debug .. 4 off
  int log_level_set;
};

std::vector<std::string> events_with_v1_options(const std::string& dsn, int level, int level_set) {
  auto log_queue = make_queue();
  // Heap-allocated with exactly the v1 size, so that ASan sees any read past its end.
  auto v1 = std::make_unique<ClientOptionsV1>();
  *v1 = ClientOptionsV1{};
  v1->version = 1;
  v1->dsn = dsn.c_str();
  v1->log_queue = log_queue.get();
  v1->log_level = level;
  v1->log_level_set = level_set;
  enrich_client* client = nullptr;
  enrich_error* error = nullptr;
  EXPECT_EQ(
      enrich_client_create(&client, reinterpret_cast<enrich_client_options*>(v1.get()), &error),
      ENRICH_OK)
      << (error ? enrich_error_message(error) : "");
  enrich_error_free(error);
  if (!client) return {};
  events_logged_for_a_notice(client);
  return drain_events(log_queue.get());
}

TEST_F(CapiTest, VersionOneOptionsAreStillAccepted) {
  EXPECT_TRUE(has_notice(events_with_v1_options(dsn_, 0, 1)))
      << "v1: log_level_set=1 with level 0 (then DEBUG) delivers debug events";
  EXPECT_FALSE(has_notice(events_with_v1_options(dsn_, 0, 0)))
      << "v1: level 0 without log_level_set means the default (warning)";
  EXPECT_FALSE(has_notice(events_with_v1_options(dsn_, 1, 0))) << "v1: 1 was INFO";
}

// A transaction driven by callbacks only: begin, query, commit (each completion arrives on an
// I/O thread and is freed by the callback).
TEST_F(CapiTest, TransactionThroughCallbacks) {
  auto client = make_client(dsn_);
  ASSERT_TRUE(client);
  struct Step {
    std::promise<enrich_completion*> done;
  };
  auto on_done = [](enrich_completion* c, void* payload) {
    static_cast<Step*>(payload)->done.set_value(c);
  };
  auto wait = [](Step& step) {
    auto f = step.done.get_future();
    EXPECT_EQ(f.wait_for(20s), std::future_status::ready);
    return CompletionPtr(f.get());
  };
  Step begun;
  ASSERT_EQ(enrich_tx_begin_cb(client.get(), nullptr, on_done, &begun, nullptr), ENRICH_OK);
  auto c = wait(begun);
  ASSERT_TRUE(c);
  ASSERT_EQ(enrich_completion_status(c.get()), ENRICH_OK);
  enrich_tx* tx = enrich_completion_take_tx(c.get());
  ASSERT_NE(tx, nullptr);
  Step queried;
  const char* params[] = {"41"};
  ASSERT_EQ(
      enrich_tx_query_cb(tx, "SELECT $1::int + 1", params, 1, nullptr, on_done, &queried, nullptr),
      ENRICH_OK);
  auto q = wait(queried);
  ASSERT_TRUE(q);
  EXPECT_STREQ(enrich_completion_value(q.get(), 0, 0, nullptr), "42");
  Step committed;
  ASSERT_EQ(enrich_tx_commit_cb(tx, on_done, &committed, nullptr), ENRICH_OK);
  auto done = wait(committed);
  ASSERT_TRUE(done);
  EXPECT_EQ(enrich_completion_status(done.get()), ENRICH_OK);
  EXPECT_EQ(enrich_completion_kind_of(done.get()), ENRICH_COMPLETION_TX_END);
  EXPECT_EQ(enrich_tx_rollback_cb(tx, on_done, &committed, nullptr), ENRICH_ERR_CLOSED);
  EXPECT_EQ(enrich_completion_body(done.get(), nullptr), nullptr);  // not an HTTP response
  enrich_tx_free(tx);
}

// ---- HTTP ---------------------------------------------------------------------------------------

class CapiHttpTest : public CapiTest {
 protected:
  void SetUp() override {
    CapiTest::SetUp();
    ASSERT_TRUE(stub_.start());
    q_ = make_queue();
    client_ = make_client(dsn_);
    ASSERT_TRUE(client_);
  }
  void TearDown() override {
    client_.reset();
    stub_.stop();
  }

  CompletionPtr send(const enrich_http_request& r, const enrich_call_options* o = nullptr) {
    enrich_op_id id = 0;
    EXPECT_EQ(enrich_http(client_.get(), q_.get(), &r, o, &id_tag_, &id), ENRICH_OK);
    auto c = next(q_.get(), 20s);
    if (c) {
      EXPECT_EQ(enrich_completion_kind_of(c.get()), ENRICH_COMPLETION_HTTP);
      EXPECT_EQ(enrich_completion_id(c.get()), id);
      EXPECT_EQ(enrich_completion_user_data(c.get()), &id_tag_);
    }
    return c;
  }

  std::string header(const enrich_completion* c, const std::string& name) {
    for (std::size_t i = 0; i < enrich_completion_http_header_count(c); ++i) {
      const char *n = nullptr, *v = nullptr;
      EXPECT_EQ(enrich_completion_http_header(c, i, &n, &v), ENRICH_OK);
      if (strcasecmp(n, name.c_str()) == 0) return v;
    }
    return "(missing)";
  }

  void control(const std::string& query) {
    std::string url = stub_.url("/__control?" + query);
    enrich_http_request r = http_request_init();
    r.method = "POST";
    r.url = url.c_str();
    auto c = send(r);
    ASSERT_TRUE(c);
    ASSERT_EQ(enrich_completion_http_status(c.get()), 200) << json_of(c.get());
  }

  enrich::test::StubServer stub_;
  QueuePtr q_;
  ClientPtr client_;
  int id_tag_ = 0;
};

TEST_F(CapiHttpTest, GetReturnsStatusBodyAndHeaders) {
  std::string url = stub_.url("/users/42/summary");
  enrich_http_request r = http_request_init();
  r.url = url.c_str();
  auto c = send(r);
  ASSERT_TRUE(c);
  ASSERT_EQ(enrich_completion_status(c.get()), ENRICH_OK)
      << error_text(enrich_completion_error(c.get()));
  EXPECT_EQ(enrich_completion_http_status(c.get()), 200);
  std::string body = json_of(c.get());
  EXPECT_EQ(body.front(), '{') << body;
  EXPECT_NE(body.find("42"), std::string::npos) << body;
  EXPECT_EQ(header(c.get(), "x-stub"), "enrich-analytics-stub");
  EXPECT_NE(header(c.get(), "content-type").find("application/json"), std::string::npos);
  EXPECT_GT(enrich_completion_http_header_count(c.get()), 1u);
  const char *n = nullptr, *v = nullptr;
  EXPECT_EQ(enrich_completion_http_header(c.get(), 1000, &n, &v), ENRICH_ERR_NOT_FOUND);
  EXPECT_EQ(enrich_completion_http_header(c.get(), 0, nullptr, &v), ENRICH_ERR_INVALID_ARGUMENT);
  EXPECT_GE(enrich_completion_elapsed_ms(c.get()), 0.0);
  EXPECT_EQ(enrich_completion_rows(c.get()), 0u);

  // take_json hands the body over.
  char* taken = nullptr;
  std::size_t len = 0;
  ASSERT_EQ(enrich_completion_take_json(c.get(), &taken, &len), ENRICH_OK);
  EXPECT_EQ(std::string(taken, len), body);
  enrich_free(taken);
}

TEST_F(CapiHttpTest, PostEchoesBodyAndHeaders) {
  std::string url = stub_.url("/echo");
  const char body[] = "{\"hello\": \"c api\"}";
  enrich_header headers[] = {{"Content-Type", "application/json"}, {"X-Capi-Test", "yes"}};
  enrich_http_request r = http_request_init();
  r.method = "POST";
  r.url = url.c_str();
  r.headers = headers;
  r.header_count = 2;
  r.body = body;
  r.body_length = sizeof body - 1;
  auto c = send(r);
  ASSERT_TRUE(c);
  ASSERT_EQ(enrich_completion_status(c.get()), ENRICH_OK)
      << error_text(enrich_completion_error(c.get()));
  EXPECT_EQ(enrich_completion_http_status(c.get()), 200);
  EXPECT_EQ(json_of(c.get()), body);
}

// Bodies that are not JSON (bytes, NULs included) through enrich_completion_body, and the
// callback form of enrich_http.
TEST_F(CapiHttpTest, BinaryBodyThroughTheCallbackForm) {
  std::string url = stub_.url("/echo");
  const std::string body("bin\0ary\xff\x01 body", 15);
  enrich_http_request r = http_request_init();
  r.method = "POST";
  r.url = url.c_str();
  r.body = body.data();
  r.body_length = body.size();
  struct Seen {
    std::promise<std::pair<long, std::string>> done;
  } seen;
  auto on_done = [](enrich_completion* c, void* payload) {
    std::size_t n = 0;
    const char* b = enrich_completion_body(c, &n);
    static_cast<Seen*>(payload)->done.set_value(
        {enrich_completion_http_status(c), std::string(b ? b : "", n)});
    enrich_completion_free(c);
  };
  auto got = seen.done.get_future();
  ASSERT_EQ(enrich_http_cb(client_.get(), &r, nullptr, on_done, &seen, nullptr), ENRICH_OK);
  ASSERT_EQ(got.wait_for(20s), std::future_status::ready);
  auto [status, echoed] = got.get();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(echoed, body);
  EXPECT_EQ(enrich_http_cb(client_.get(), &r, nullptr, nullptr, nullptr, nullptr),
            ENRICH_ERR_INVALID_ARGUMENT);
}

TEST_F(CapiHttpTest, ServerErrorIsAResultNotAnError) {
  control("mode=error");
  std::string url = stub_.url("/users/1/summary");
  enrich_http_request r = http_request_init();
  r.url = url.c_str();
  auto c = send(r);
  ASSERT_TRUE(c);
  EXPECT_EQ(enrich_completion_status(c.get()), ENRICH_OK);
  EXPECT_GE(enrich_completion_http_status(c.get()), 500);
}

TEST_F(CapiHttpTest, TimeoutAndCancel) {
  control("mode=hang&reset=1");
  std::string url = stub_.url("/users/1/summary");
  enrich_http_request r = http_request_init();
  r.url = url.c_str();
  r.timeout_ms = 200;
  Stopwatch sw;
  auto c = send(r);
  ASSERT_TRUE(c);
  EXPECT_EQ(enrich_completion_status(c.get()), ENRICH_ERR_TIMEOUT)
      << error_text(enrich_completion_error(c.get()));
  EXPECT_LT(sw.ms(), 5000);

  // The call options' timeout applies when the request has none; cancel cuts it short.
  r.timeout_ms = 0;
  enrich_call_options o = call_options_init();
  o.timeout_ms = 20000;
  enrich_op_id id = 0;
  ASSERT_EQ(enrich_http(client_.get(), q_.get(), &r, &o, nullptr, &id), ENRICH_OK);
  // Cancel a request the server holds, not one still on its way: the stub counts it in "hung".
  ASSERT_TRUE(enrich::test::eventually([&] { return stub_.stat("hung") == 2; }, 10s))
      << "the stub never received the second request: hung=" << stub_.stat("hung");
  sw.reset();
  EXPECT_EQ(enrich_cancel(client_.get(), id), ENRICH_OK);
  c = next(q_.get(), 10s);
  ASSERT_TRUE(c);
  EXPECT_EQ(enrich_completion_status(c.get()), ENRICH_ERR_CANCELLED)
      << error_text(enrich_completion_error(c.get()));
  EXPECT_LT(sw.ms(), 5000);
  control("mode=healthy");
}

TEST_F(CapiHttpTest, ClosedPortIsAConnectionError) {
  std::string url =
      "http://127.0.0.1:" + std::to_string(enrich::test::closed_local_port()) + "/users/1/summary";
  enrich_http_request r = http_request_init();
  r.url = url.c_str();
  auto c = send(r);
  ASSERT_TRUE(c);
  EXPECT_EQ(enrich_completion_status(c.get()), ENRICH_ERR_CONNECTION)
      << error_text(enrich_completion_error(c.get()));
  EXPECT_EQ(enrich_completion_http_status(c.get()), 0);
  EXPECT_EQ(enrich_completion_json(c.get(), nullptr), nullptr);
}

// ---- notify -------------------------------------------------------------------------------------

TEST_F(CapiTest, NotifyFiresOncePerEmptyToNonEmptyTransition) {
  auto q = make_queue();
  ClientPtr client = make_client(dsn_);
  ASSERT_TRUE(client);
  struct State {
    std::atomic<int> calls{0};
    std::atomic<bool> on_caller_thread{false};
    std::thread::id caller = std::this_thread::get_id();
  } state;
  auto notify = [](void* payload) {
    auto* s = static_cast<State*>(payload);
    if (std::this_thread::get_id() == s->caller) s->on_caller_thread = true;
    s->calls.fetch_add(1);
  };
  ASSERT_EQ(enrich_queue_set_notify(q.get(), notify, &state), ENRICH_OK);
  auto submit = [&](int n) {
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(
          enrich_query(client.get(), q.get(), "SELECT 1", nullptr, 0, nullptr, nullptr, nullptr),
          ENRICH_OK);
  };
  auto size_reaches = [&](std::size_t n) {
    return enrich::test::eventually([&] { return enrich_queue_size(q.get()) >= n; }, 10s, 1ms);
  };

  submit(1);
  ASSERT_TRUE(size_reaches(1));
  EXPECT_EQ(state.calls.load(), 1);
  // More completions into a non-empty queue: no new notification.
  submit(5);
  ASSERT_TRUE(size_reaches(6));
  EXPECT_EQ(state.calls.load(), 1);
  // A partial drain leaves it non-empty: still none.
  enrich_completion* batch[8];
  std::size_t n = enrich_queue_poll(q.get(), batch, 2);
  for (std::size_t i = 0; i < n; ++i) enrich_completion_free(batch[i]);
  submit(1);
  ASSERT_TRUE(size_reaches(5));
  EXPECT_EQ(state.calls.load(), 1);
  // Drained: the next completion notifies again.
  auto all = drain(q.get(), 5);
  EXPECT_EQ(enrich_queue_size(q.get()), 0u);
  submit(1);
  ASSERT_TRUE(size_reaches(1));
  EXPECT_EQ(state.calls.load(), 2);
  (void)drain(q.get(), 1);
  // Removed: no more calls, but the fd still works.
  ASSERT_EQ(enrich_queue_set_notify(q.get(), nullptr, nullptr), ENRICH_OK);
  submit(1);
  pollfd p{enrich_queue_fd(q.get()), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 10000), 1);
  (void)drain(q.get(), 1);
  EXPECT_EQ(state.calls.load(), 2);
  EXPECT_FALSE(state.on_caller_thread.load()) << "notify runs on an I/O thread";
}

// ---- a database that cannot be reached ---------------------------------------------------------

// A plan whose SQL steps all wait for a connection that then fails: the pool fails every waiter
// at once, and the plan's fail-fast continuation aborts the sibling steps while that is still
// going on. Pool::fail_waiting must leave the pool usable (see the report of issue #4: before the
// fix, waiting_live_ wrapped around to 2^64-2 and every later query failed with pool_queue_full).
TEST_F(CapiTest, PlanOnAMissingDatabaseLeavesThePoolUsable) {
  std::string dsn = enrich::test::dsn_set(dsn_, "dbname", "enrich_capi_no_such_database");
  auto q = make_queue();
  ClientPtr client = make_client(dsn, [](enrich_client_options& o) { o.max_connections = 1; });
  ASSERT_TRUE(client);
  const std::string text = R"({"name": "three", "steps": [
    {"name": "a", "sql": "SELECT 1", "shape": "value"},
    {"name": "b", "sql": "SELECT 2", "shape": "value"},
    {"name": "c", "sql": "SELECT 3", "shape": "value"}]})";
  enrich_plan* plan = nullptr;
  ASSERT_EQ(enrich_plan_from_json(&plan, text.data(), text.size(), nullptr, nullptr), ENRICH_OK);
  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(enrich_plan_run(client.get(), q.get(), plan, "{}", nullptr, nullptr, nullptr),
              ENRICH_OK);
    auto c = next(q.get(), 20s);
    ASSERT_TRUE(c);
    EXPECT_EQ(enrich_completion_status(c.get()), ENRICH_ERR_CONNECTION)
        << "round " << round << ": " << error_text(enrich_completion_error(c.get()));
    EXPECT_LT(stat_of(client.get(), "waiting"), 1000) << "round " << round;
  }
  enrich_plan_free(plan);
}

// Callbacks and notify hooks run on an I/O thread, never inside the caller's enrich_* call, even
// for an operation that fails before it starts (its future is complete at once).
TEST_F(CapiTest, CallbacksOfImmediateFailuresRunOnAnIoThreadNotTheCaller) {
  ClientPtr client = make_client(dsn_);
  ASSERT_TRUE(client);
  const std::string text = R"({"name": "p", "inputs": {"id": {"type": "integer"}},
    "steps": [{"name": "a", "sql": "SELECT $1::int8", "params": ["id"], "shape": "value"}]})";
  enrich_plan* plan = nullptr;
  ASSERT_EQ(enrich_plan_from_json(&plan, text.data(), text.size(), nullptr, nullptr), ENRICH_OK);
  struct Seen {
    std::promise<std::pair<std::thread::id, enrich_status>> done;
  };
  auto on_done = [](enrich_completion* c, void* payload) {
    static_cast<Seen*>(payload)->done.set_value(
        {std::this_thread::get_id(), enrich_completion_status(c)});
    enrich_completion_free(c);
  };
  for (const char* inputs : {R"({"id": "not a number"})", R"({})", R"({"id": 1})"}) {
    Seen seen;
    auto f = seen.done.get_future();
    ASSERT_EQ(enrich_plan_run_cb(client.get(), plan, inputs, nullptr, on_done, &seen, nullptr),
              ENRICH_OK);
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << inputs;
    auto [thread, status] = f.get();
    EXPECT_NE(thread, std::this_thread::get_id()) << inputs << ": the callback ran in the call";
    EXPECT_EQ(status, std::string(inputs).find("1") != std::string::npos
                          ? ENRICH_OK
                          : ENRICH_ERR_INVALID_ARGUMENT)
        << inputs;
  }
  // A queue's notify hook likewise.
  auto q = make_queue();
  static std::atomic<bool> notified_in_call{false};
  static std::thread::id caller;
  caller = std::this_thread::get_id();
  notified_in_call = false;
  ASSERT_EQ(enrich_queue_set_notify(
                q.get(),
                [](void*) {
                  if (std::this_thread::get_id() == caller) notified_in_call = true;
                },
                nullptr),
            ENRICH_OK);
  ASSERT_EQ(enrich_plan_run(client.get(), q.get(), plan, "{}", nullptr, nullptr, nullptr),
            ENRICH_OK);
  auto c = next(q.get(), 10s);
  ASSERT_TRUE(c);
  EXPECT_EQ(enrich_completion_status(c.get()), ENRICH_ERR_INVALID_ARGUMENT);
  EXPECT_FALSE(notified_in_call.load()) << "notify ran inside enrich_plan_run";
  enrich_plan_free(plan);
}

// ---- transactions and handles that outlive their client -----------------------------------------

TEST_F(CapiTest, TransactionHandleOutlivesTheClient) {
  auto q = make_queue();
  ClientPtr client = make_client(dsn_);
  ASSERT_TRUE(client);
  ASSERT_EQ(enrich_tx_begin(client.get(), q.get(), nullptr, nullptr, nullptr), ENRICH_OK);
  auto begun = next(q.get());
  ASSERT_TRUE(begun);
  ASSERT_EQ(enrich_completion_status(begun.get()), ENRICH_OK);
  enrich_tx* tx = enrich_completion_take_tx(begun.get());
  ASSERT_NE(tx, nullptr);
  client.reset();
  // The transaction's client is gone: work on it completes with an error, never crashes.
  enrich_status started =
      enrich_tx_query(tx, q.get(), "SELECT 1", nullptr, 0, nullptr, nullptr, nullptr);
  if (started == ENRICH_OK) {
    auto c = next(q.get(), 5s);
    ASSERT_TRUE(c);
    EXPECT_NE(enrich_completion_status(c.get()), ENRICH_OK);
  } else {
    EXPECT_EQ(started, ENRICH_ERR_CLOSED);
  }
  enrich_tx_free(tx);
}

}  // namespace
