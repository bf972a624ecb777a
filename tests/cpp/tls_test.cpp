// TLS, against real servers with a throwaway CA (scripts/tls-certs): Postgres with sslmode=require
// and verify-full (the streaming replica of scripts/pg, which has TLS on), a wrong CA failing with
// a clear error; HTTPS through `openssl s_server` with the CA file given per client, per request
// and per plan step, and a server the client cannot verify refused.
//
// Environment (scripts/test sets them; these tests fail without them): ENRICH_REPLICA_DSN,
// ENRICH_TLS_DIR.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "enrich/client.hpp"
#include "enrich/plan.hpp"
#include "support/test_support.hpp"

extern char** environ;

namespace enrich {
namespace {

using namespace std::chrono_literals;
using test::env_or_empty;

// key=value DSN of the replica with extra parameters (host=localhost for verify-full).
std::string replica_dsn(const std::string& extra) {
  std::string uri = env_or_empty("ENRICH_REPLICA_DSN");
  auto port_start = uri.rfind(':') + 1;
  std::string port = uri.substr(port_start, uri.find('/', port_start) - port_start);
  return "host=localhost port=" + port + " user=enrich password=enrich dbname=enrich " + extra;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (env_or_empty("ENRICH_REPLICA_DSN").empty() || env_or_empty("ENRICH_TLS_DIR").empty())
      FAIL() << "ENRICH_REPLICA_DSN and ENRICH_TLS_DIR are not set (scripts/test starts the TLS "
                "replica; by hand: scripts/pg replica-start && eval \"$(scripts/pg replica-env)\")";
    tls_ = env_or_empty("ENRICH_TLS_DIR");
  }

  Result<QueryResult> query(const std::string& dsn, const std::string& sql) {
    ClientOptions o = test::client_options();
    o.dsn = dsn;
    o.pool.connect_timeout = 5000ms;
    o.pool.acquire_timeout = 5000ms;
    auto client = test::connect(o);
    if (!client) return Error{ErrorCode::internal, "no client"};
    return test::wait_result(client->query(sql));
  }

  std::string tls_;
};

TEST_F(TlsTest, PostgresRequireAndVerifyFull) {
  auto r = query(replica_dsn("sslmode=require"),
                 "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)[0].get<bool>(0), true);

  r = query(replica_dsn("sslmode=verify-full sslrootcert=" + tls_ + "/ca.crt"),
            "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)[0].get<std::string>(0).rfind("TLS", 0), 0u);
}

TEST_F(TlsTest, PostgresWithTheWrongCaFailsClearly) {
  auto r =
      query(replica_dsn("sslmode=verify-full sslrootcert=" + tls_ + "/other-ca.crt"), "SELECT 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::connection);
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos)
      << r.error().message;
  // A name the certificate does not carry fails verify-full as well.
  std::string by_other_name = replica_dsn("sslmode=verify-full sslrootcert=" + tls_ + "/ca.crt");
  by_other_name.replace(0, std::string("host=localhost").size(), "host=127.0.0.2");
  r = query(by_other_name, "SELECT 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::connection) << r.error().to_string();
}

// `openssl s_server -WWW` on a free port: an HTTPS server of the files in a directory of its
// own, here doc.json ({"ok": true}).
class TlsServer {
 public:
  explicit TlsServer(const std::string& dir) {
    port_ = test::closed_local_port();
    root_ = "/tmp/" + test::unique_name("enrich_tls_www");
    std::filesystem::create_directories(root_);
    std::ofstream(root_ + "/doc.json") << R"({"ok": true})";
    std::string accept = "127.0.0.1:" + std::to_string(port_);
    std::string cert = dir + "/server.crt", key = dir + "/server.key";
    std::vector<const char*> argv = {"openssl", "s_server",   "-accept", accept.c_str(),
                                     "-cert",   cert.c_str(), "-key",    key.c_str(),
                                     "-WWW",    "-quiet",     nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addchdir_np(&actions, root_.c_str());
    if (posix_spawnp(&pid_, "openssl", &actions, nullptr, const_cast<char**>(argv.data()),
                     environ) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~TlsServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  // Waits until the port accepts connections.
  bool ready() const {
    for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;
         std::this_thread::sleep_for(20ms)) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<std::uint16_t>(port_));
      bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      if (ok) return true;
    }
    return false;
  }
  std::string base() const { return "https://localhost:" + std::to_string(port_); }
  std::string url() const { return base() + "/doc.json"; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string root_;
};

std::unique_ptr<Client> http_client(const std::string& ca_file, bool verify = true) {
  ClientOptions o = test::client_options();
  o.http.ca_file = ca_file;
  o.http.verify_tls = verify;
  o.http.breaker.enabled = false;
  return test::connect(o);
}

TEST_F(TlsTest, HttpsWithTheCaFilePerClientPerRequestAndPerStep) {
  TlsServer server(tls_);
  ASSERT_TRUE(server.ready()) << "openssl s_server did not start";

  // No CA given: the system's store does not know the throwaway CA.
  auto plain = http_client("");
  auto refused = test::wait_result(plain->http(HttpRequest{.url = server.url()}));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("certificate"), std::string::npos)
      << refused.error().to_string();
  // The wrong CA: refused too.
  auto wrong = http_client(tls_ + "/other-ca.crt");
  EXPECT_FALSE(test::wait_result(wrong->http(HttpRequest{.url = server.url()})).ok());

  // Per client.
  auto with_ca = http_client(tls_ + "/ca.crt");
  auto r = test::wait_result(with_ca->http(HttpRequest{.url = server.url()}));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  // Per request, over a client that has none (or the wrong one).
  r = test::wait_result(wrong->http(HttpRequest{.url = server.url(), .ca_file = tls_ + "/ca.crt"}));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  // Per plan step, with ${VARS}.
  auto plan = Plan::from_json(
      R"({"name": "tls", "steps": [{"name": "page", "kind": "http",
          "http": {"base_url": "${URL}", "path": "/doc.json", "ca_file": "${TLS}/ca.crt"}}]})",
      {{"URL", server.base()}, {"TLS", tls_}});
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  auto run = test::wait_result(plain->run(plan.value(), {}));
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  EXPECT_NE(run->json.find(R"("page":{"ok":true})"), std::string::npos) << run->json;
  // Verification off: anything goes (documented as unsafe).
  auto unverified = http_client("", false);
  r = test::wait_result(unverified->http(HttpRequest{.url = server.url()}));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
}

}  // namespace
}  // namespace enrich
