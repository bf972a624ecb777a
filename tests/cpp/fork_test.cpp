// A client created before fork() (gunicorn --preload, multiprocessing, a fork() in C): in the
// child every call fails at once with an error that says to create the client after the fork,
// closing it neither hangs nor touches the parent's connections, and a client created in the
// child works. The parent's client is unaffected.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "enrich.h"
#include "enrich/client.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;

// Runs `child` in a forked process (its return value is the exit status; 99 if it hung); returns
// the child's exit status.
template <class F>
int in_child(F child) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(20);  // a hang ends the child with SIGALRM instead of blocking the suite
    int code = child();
    std::fflush(nullptr);
    _exit(code);  // no atexit handlers: they belong to the parent's test run
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  if (WIFSIGNALED(status)) return 100 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

// The future's result within `timeout`, or nullopt (the future hung).
template <class T>
std::optional<Result<T>> get_for(Future<T> f, std::chrono::milliseconds timeout) {
  if (!f.wait_for(timeout)) return std::nullopt;
  return f.get();
}

bool says_create_after_fork(const Error& e) {
  return e.code == ErrorCode::closed && e.message.find("fork") != std::string::npos &&
         e.message.find("create the client after the fork") != std::string::npos;
}

class ForkTest : public test::PgTest {};

TEST_F(ForkTest, ChildGetsAClearErrorAndTheParentKeepsWorking) {
  auto client = test::connect(test::client_options());
  ASSERT_TRUE(client);
  // A connection is open and idle in the pool when the fork happens.
  ASSERT_TRUE(test::wait_result(client->query("SELECT 1")).ok());
  auto tx = test::wait_result(client->transaction());
  ASSERT_TRUE(tx.ok());

  int status = in_child([&]() -> int {
    auto q = get_for(client->query("SELECT 1"), 5s);
    if (!q || q->ok() || !says_create_after_fork(q->error())) return 1;
    auto h = get_for(client->http(HttpRequest{.url = "http://127.0.0.1:1/"}), 5s);
    if (!h || h->ok() || !says_create_after_fork(h->error())) return 2;
    auto t = get_for(client->transaction(), 5s);
    if (!t || t->ok() || !says_create_after_fork(t->error())) return 3;
    // The parent's transaction: its statements fail too, at once.
    auto in_tx = get_for(tx->query("SELECT 1"), 5s);
    if (!in_tx || in_tx->ok() || !says_create_after_fork(in_tx->error())) return 4;
    if (client->stats().connections != 0) return 5;
    // Destroying them must not hang, crash, or send Terminate on the parent's sockets.
    { auto dropped = std::move(tx).value(); }
    client->close();
    client.reset();
    // A client created in the child works.
    auto fresh = test::connect(test::client_options());
    if (!fresh) return 6;
    auto r = get_for(fresh->query("SELECT 42::int4"), 10s);
    if (!r || !r->ok() || (**r)[0].get<int>(0) != 42) return 7;
    return 0;
  });
  EXPECT_EQ(status, 0) << "1-5: a call in the child did not fail with the fork error; 6-7: a "
                          "client created in the child did not work; 114: SIGALRM (hung)";

  // The parent's connections are intact: the same client and transaction still work.
  auto in_tx = test::wait_result(tx->query("SELECT 2::int4"));
  ASSERT_TRUE(in_tx.ok()) << in_tx.error().to_string();
  EXPECT_TRUE(test::wait_result(tx->commit()).ok());
  for (int i = 0; i < 4; ++i) {
    auto r = test::wait_result(client->query("SELECT 3::int4"));
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
}

TEST_F(ForkTest, TheCApiSaysTheSameAndDestroyIsSafe) {
  enrich_client_options o = ENRICH_CLIENT_OPTIONS_INIT;
  std::string dsn = test::test_dsn();
  o.dsn = dsn.c_str();
  o.log_level = ENRICH_LOG_OFF;
  enrich_client* client = nullptr;
  ASSERT_EQ(enrich_client_create(&client, &o, nullptr), ENRICH_OK);
  enrich_queue* q = nullptr;
  ASSERT_EQ(enrich_queue_create(&q), ENRICH_OK);
  int status = in_child([&]() -> int {
    if (enrich_query(client, q, "SELECT 1", nullptr, 0, nullptr, nullptr, nullptr) != ENRICH_OK)
      return 1;
    enrich_completion* c = nullptr;
    for (int i = 0; i < 500 && !enrich_queue_poll(q, &c, 1); ++i) usleep(10000);
    if (!c) return 2;  // every operation completes, here at once
    int rc = enrich_completion_status(c) == ENRICH_ERR_CLOSED &&
                     std::string(enrich_error_message(enrich_completion_error(c))).find("fork") !=
                         std::string::npos
                 ? 0
                 : 3;
    enrich_completion_free(c);
    enrich_client_destroy(client);
    enrich_queue_destroy(q);
    return rc;
  });
  EXPECT_EQ(status, 0);
  char* v = nullptr;
  ASSERT_EQ(enrich_query(client, q, "SELECT 1", nullptr, 0, nullptr, nullptr, nullptr), ENRICH_OK);
  enrich_completion* c = nullptr;
  for (int i = 0; i < 1000 && !enrich_queue_poll(q, &c, 1); ++i) usleep(10000);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(enrich_completion_status(c), ENRICH_OK);
  enrich_completion_free(c);
  (void)v;
  enrich_client_destroy(client);
  enrich_queue_destroy(q);
}

}  // namespace
}  // namespace enrich
