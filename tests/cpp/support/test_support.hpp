#pragma once
// Shared helpers for the enrich test suites (header-only).
//
// Environment:
//   ENRICH_TEST_DSN         libpq DSN of the test server (role must be SUPERUSER). Tests that need
//                           a server FAIL (not skip) when it is missing.
//   ENRICH_TEST_PG_RESTART  shell command that restarts the test server (same port).
//   ENRICH_TEST_LOG         if set, clients created by the tests log to stderr at debug level.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "enrich/enrich.hpp"

namespace enrich {
// Lets gtest print error codes by name in EXPECT_EQ failures.
inline void PrintTo(ErrorCode code, std::ostream* os) {
  *os << to_string(code);
}
inline void PrintTo(LogLevel level, std::ostream* os) {
  *os << to_string(level);
}
}  // namespace enrich

// Assert/expect that a Result (a variable, evaluated more than once) is ok; prints the error.
#define ASSERT_OK(r) ASSERT_TRUE((r).ok()) << (r).error().to_string()
#define EXPECT_OK(r) EXPECT_TRUE((r).ok()) << (r).error().to_string()
// Assert that a Result failed with the given ErrorCode.
#define ASSERT_ERROR_CODE(r, c)                                           \
  do {                                                                    \
    ASSERT_FALSE((r).ok()) << "expected error " << ::enrich::to_string(c) \
                           << " but the operation succeeded";             \
    ASSERT_EQ((r).error().code, (c)) << (r).error().to_string();          \
  } while (0)
#define EXPECT_ERROR_CODE(r, c)                                    \
  do {                                                             \
    if ((r).ok()) {                                                \
      ADD_FAILURE() << "expected error " << ::enrich::to_string(c) \
                    << " but the operation succeeded";             \
    } else {                                                       \
      EXPECT_EQ((r).error().code, (c)) << (r).error().to_string(); \
    }                                                              \
  } while (0)

namespace enrich::test {

using namespace std::chrono_literals;

/// Upper bound for waiting on any single future in a test: a bug shows as a failure, not a hang.
inline constexpr std::chrono::milliseconds kWait{30000};

inline std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

inline std::string test_dsn() {
  return env_or_empty("ENRICH_TEST_DSN");
}

inline constexpr const char* kMissingDsnMessage =
    "ENRICH_TEST_DSN is not set. These tests need a Postgres server whose role is SUPERUSER, e.g.\n"
    "  scripts/pg start && eval \"$(scripts/pg env)\"\n"
    "  export ENRICH_TEST_DSN=postgresql://enrich:enrich@127.0.0.1:54329/enrich";

/// Base fixture of every test that talks to a server: fails (never skips) without a DSN.
class PgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dsn_ = test_dsn();
    if (dsn_.empty()) FAIL() << kMissingDsnMessage;
  }
  std::string dsn_;
};

/// A lower-case identifier unique to this process and call: safe as a table or application name.
inline std::string unique_name(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = [] {
    std::random_device rd;
    return static_cast<unsigned>(rd()) & 0xffffffu;
  }();
  std::string out(prefix);
  out += "_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)) + "_" +
         std::to_string(salt);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

inline bool is_uri_dsn(std::string_view dsn) {
  return dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0;
}

/// Adds (or overrides) one connection parameter; `value` must be a simple word.
inline std::string dsn_set(std::string dsn, std::string_view key, std::string_view value) {
  if (is_uri_dsn(dsn)) {
    dsn += (dsn.find('?') == std::string::npos) ? '?' : '&';
    dsn.append(key).append("=").append(value);
  } else {
    if (!dsn.empty()) dsn += ' ';
    dsn.append(key).append("='").append(value).append("'");
  }
  return dsn;
}

/// The DSN with its password replaced by (or set to) `password` (a simple word).
inline std::string dsn_with_password(const std::string& dsn, std::string_view password) {
  if (!is_uri_dsn(dsn)) return dsn_set(dsn, "password", password);
  auto scheme_end = dsn.find("://") + 3;
  auto authority_end = dsn.find_first_of("/?", scheme_end);
  if (authority_end == std::string::npos) authority_end = dsn.size();
  auto at = dsn.rfind('@', authority_end);
  if (at == std::string::npos || at < scheme_end) return dsn_set(dsn, "password", password);
  std::string userinfo = dsn.substr(scheme_end, at - scheme_end);
  std::string user = userinfo.substr(0, userinfo.find(':'));
  return dsn.substr(0, scheme_end) + user + ":" + std::string(password) + dsn.substr(at);
}

/// The DSN with user and password replaced (both simple words).
inline std::string dsn_with_user(const std::string& dsn, std::string_view user,
                                 std::string_view password) {
  if (!is_uri_dsn(dsn)) return dsn_set(dsn_set(dsn, "user", user), "password", password);
  auto scheme_end = dsn.find("://") + 3;
  auto authority_end = dsn.find_first_of("/?", scheme_end);
  if (authority_end == std::string::npos) authority_end = dsn.size();
  auto at = dsn.rfind('@', authority_end);
  std::string rest =
      (at == std::string::npos || at < scheme_end) ? dsn.substr(scheme_end) : dsn.substr(at + 1);
  return dsn.substr(0, scheme_end) + std::string(user) + ":" + std::string(password) + "@" + rest;
}

/// Client options for tests: the test DSN, a unique application_name (so the test can find its
/// own backends in pg_stat_activity), logging off unless ENRICH_TEST_LOG is set.
inline ClientOptions client_options(const std::string& application_name = "") {
  ClientOptions o;
  o.dsn = dsn_set(test_dsn(), "application_name",
                  application_name.empty() ? unique_name("enrich_test") : application_name);
  if (!env_or_empty("ENRICH_TEST_LOG").empty()) {
    o.log_sink = stderr_json_sink();
    o.log_level = LogLevel::debug;
  } else {
    o.log_sink = null_sink();
    o.log_level = LogLevel::off;
  }
  return o;
}

/// Client::create, recording a test failure (and returning nullptr) if it fails.
inline std::unique_ptr<Client> connect(ClientOptions options) {
  auto r = Client::create(std::move(options));
  if (!r.ok()) {
    ADD_FAILURE() << "Client::create failed: " << r.error().to_string();
    return nullptr;
  }
  return std::move(r).value();
}

inline constexpr const char* kTestTimeoutMarker = "TEST: future did not complete within";

/// Waits (bounded) for a future. A future that does not complete in time is a test failure and
/// yields an `internal` error whose message starts with kTestTimeoutMarker.
template <class T>
Result<T> wait_result(Future<T> f, std::chrono::milliseconds timeout = kWait) {
  if (!f.valid()) return make_error(ErrorCode::internal, "TEST: invalid future");
  if (!f.wait_for(timeout)) {
    ADD_FAILURE() << kTestTimeoutMarker << " " << timeout.count() << " ms";
    return make_error(ErrorCode::internal, std::string(kTestTimeoutMarker) + " " +
                                               std::to_string(timeout.count()) + " ms");
  }
  return f.get();
}

/// The first sample of a metric family of the client (a failure, and -1, if it has none).
inline double metric_value(Client& c, const std::string& name) {
  for (const auto& f : c.metrics())
    if (f.name == name && !f.samples.empty()) return f.samples[0].value;
  ADD_FAILURE() << "no metric " << name;
  return -1;
}

inline Result<QueryResult> run(Client& c, std::string sql, Params params = {},
                               QueryOptions options = {},
                               std::chrono::milliseconds timeout = kWait) {
  return wait_result(c.query(std::move(sql), std::move(params), options), timeout);
}

inline Result<QueryResult> run(Transaction& t, std::string sql, Params params = {},
                               QueryOptions options = {},
                               std::chrono::milliseconds timeout = kWait) {
  return wait_result(t.query(std::move(sql), std::move(params), options), timeout);
}

/// The first column of the first row as int64 (a failed query or conversion gives an error).
inline Result<std::int64_t> scalar_int(Client& c, std::string sql, Params params = {}) {
  auto r = run(c, std::move(sql), std::move(params));
  if (!r.ok()) return std::move(r).error();
  if (r->size() != 1) return make_error(ErrorCode::internal, "TEST: expected exactly one row");
  return r->row(0).try_get<std::int64_t>(0);
}

/// Polls `pred` until it is true or `timeout` passed; returns the last value of `pred`.
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds step = std::chrono::milliseconds(20)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= until) return pred();
    std::this_thread::sleep_for(step);
  }
}

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  std::chrono::milliseconds elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start_);
  }
  long long ms() const { return static_cast<long long>(elapsed().count()); }
  void reset() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// Drops a table (by name) when it goes out of scope. Declare it after the client it uses.
class TableGuard {
 public:
  TableGuard(Client& client, std::string name) : client_(client), name_(std::move(name)) {}
  ~TableGuard() { (void)run(client_, "DROP TABLE IF EXISTS " + name_, {}, {}, 10s); }
  TableGuard(const TableGuard&) = delete;
  TableGuard& operator=(const TableGuard&) = delete;
  const std::string& name() const { return name_; }

 private:
  Client& client_;
  std::string name_;
};

/// Number of backends (other than the caller's) connected with this application_name, optionally
/// restricted by an extra SQL condition on pg_stat_activity (e.g. "state = 'active'").
inline Result<std::int64_t> count_backends(Client& monitor, const std::string& application_name,
                                           const std::string& extra_condition = "") {
  std::string sql =
      "SELECT count(*)::int8 FROM pg_stat_activity WHERE application_name = $1 AND pid <> "
      "pg_backend_pid()";
  if (!extra_condition.empty()) sql += " AND (" + extra_condition + ")";
  return scalar_int(monitor, sql, {application_name});
}

/// A marker that makes one statement findable on the server: put it in a comment of the SQL,
/// `"SELECT pg_sleep(30) /* " + marker + " */"`, and wait_running(marker) finds exactly that one.
inline std::string statement_marker(std::string_view prefix = "enrich_marker") {
  return unique_name(prefix);
}

/// Statements active on the server (other than the caller's) whose text contains `marker`.
inline Result<std::int64_t> count_running(Client& monitor, const std::string& marker) {
  return scalar_int(monitor,
                    "SELECT count(*)::int8 FROM pg_stat_activity WHERE state = 'active' AND pid <> "
                    "pg_backend_pid() AND strpos(query, $1) > 0",
                    {marker});
}

/// Waits until at least `n` statements whose text contains `marker` run on the server, as a
/// connection of its own sees them in pg_stat_activity; at most `timeout`. A test that cancels a
/// running statement waits for it first, so that it cancels a statement that runs, not one still
/// on its way:  ASSERT_TRUE(test::wait_running(marker));
inline ::testing::AssertionResult wait_running(const std::string& marker, std::int64_t n = 1,
                                               std::chrono::milliseconds timeout = 10s) {
  auto monitor = Client::create(client_options(unique_name("enrich_monitor")));
  if (!monitor.ok()) {
    return ::testing::AssertionFailure()
           << "wait_running: the monitor could not connect: " << monitor.error().to_string();
  }
  std::int64_t last = 0;
  std::string last_error;
  bool seen = eventually(
      [&] {
        auto count = count_running(*monitor.value(), marker);
        if (!count.ok()) {
          last_error = count.error().to_string();
          return false;
        }
        last = count.value();
        return last >= n;
      },
      timeout);
  if (seen) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure()
                 << "the statement marked " << marker << " was not seen running in "
                 << "pg_stat_activity within " << timeout.count() << " ms (" << last << " of " << n
                 << " active)";
  if (!last_error.empty()) failure << "; last monitor error: " << last_error;
  return failure;
}

/// A log sink that records every event (thread-safe). Keep the capture alive longer than the
/// client (hold the shared_ptr).
class LogCapture : public std::enable_shared_from_this<LogCapture> {
 public:
  static std::shared_ptr<LogCapture> make() { return std::shared_ptr<LogCapture>(new LogCapture); }
  LogSink sink() {
    return [self = shared_from_this()](const LogEvent& e) {
      std::lock_guard lock(self->mu_);
      self->events_.push_back(e);
    };
  }
  std::vector<LogEvent> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  LogCapture() = default;
  mutable std::mutex mu_;
  std::vector<LogEvent> events_;
};

/// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
inline int closed_local_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 1;  // port 1 is as good a guess as any
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 1;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

inline bool contains_icase(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) ==
                                 std::tolower(static_cast<unsigned char>(b));
                        });
  return it != haystack.end();
}

}  // namespace enrich::test
