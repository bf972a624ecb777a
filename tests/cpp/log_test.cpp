// Structured logging: JSON formatting, DSN redaction, sinks and levels.

#include "enrich/log.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/logger.hpp"
#include "enrich/client.hpp"
#include "support/json.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;
using test::parse_flat_json_object;
using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(LogTest, LevelNames) {
  EXPECT_EQ(to_string(LogLevel::debug), "debug");
  EXPECT_EQ(to_string(LogLevel::info), "info");
  EXPECT_EQ(to_string(LogLevel::warning), "warning");
  EXPECT_EQ(to_string(LogLevel::error), "error");
  EXPECT_EQ(to_string(LogLevel::off), "off");
}

TEST(LogTest, FormatLogJsonHasLevelEventThenFieldsInOrder) {
  LogEvent e{LogLevel::warning, "pg.connect_failed", {{"dsn", "host=db"}, {"error", "refused"}}};
  EXPECT_EQ(format_log_json(e),
            R"({"level":"warning","event":"pg.connect_failed","dsn":"host=db","error":"refused"})");
}

TEST(LogTest, FormatLogJsonWithoutFields) {
  auto line = format_log_json(LogEvent{LogLevel::error, "x.y", {}});
  auto parsed = parse_flat_json_object(line);
  ASSERT_TRUE(parsed) << "not valid JSON: " << line;
  EXPECT_EQ(*parsed, (Fields{{"level", "error"}, {"event", "x.y"}}));
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogTest, FormatLogJsonEscapesQuotesBackslashesAndControlCharacters) {
  std::string nasty = "say \"hi\" \\ path C:\\dir\nnew line\ttab\r\b\f";
  nasty += '\x01';
  nasty += '\x1f';
  nasty += "\x7f end";
  std::string unicode = "ünïcødé ✓ 日本 🎉";
  LogEvent e{LogLevel::info,
             "ev\"ent\\name",
             {{"ke\"y", nasty}, {"unicode", unicode}, {"empty", ""}, {"nl\nkey", "v"}}};
  std::string line = format_log_json(e);
  for (unsigned char c : line) {
    ASSERT_GE(c, 0x20u) << "raw control character in JSON output: " << line;
  }
  auto parsed = parse_flat_json_object(line);
  ASSERT_TRUE(parsed) << "not valid JSON: " << line;
  Fields expected{{"level", "info"}, {"event", "ev\"ent\\name"},
                  {"ke\"y", nasty},  {"unicode", unicode},
                  {"empty", ""},     {"nl\nkey", "v"}};
  EXPECT_EQ(*parsed, expected) << line;
}

TEST(LogTest, RedactDsnUriReplacesPassword) {
  EXPECT_EQ(redact_dsn("postgresql://alice:s3cr3t@db.example.com:5432/app?sslmode=require"),
            "postgresql://alice:***@db.example.com:5432/app?sslmode=require");
  EXPECT_EQ(redact_dsn("postgres://alice:s3cr3t@localhost/app"),
            "postgres://alice:***@localhost/app");
}

TEST(LogTest, RedactDsnUriWithEncodedCharactersInPassword) {
  std::string r = redact_dsn("postgresql://bob:p%40ss%3Aw0rd@h:5432/db");
  EXPECT_EQ(r.find("p%40ss"), std::string::npos) << r;
  EXPECT_EQ(r.find("w0rd"), std::string::npos) << r;
  EXPECT_NE(r.find("bob"), std::string::npos) << r;
  EXPECT_NE(r.find("h:5432/db"), std::string::npos) << r;
}

TEST(LogTest, RedactDsnUriPasswordInQueryParameter) {
  std::string r =
      redact_dsn("postgresql://db.example.com/app?user=alice&password=s3cr3t&sslmode=disable");
  EXPECT_EQ(r.find("s3cr3t"), std::string::npos) << r;
  EXPECT_NE(r.find("user=alice"), std::string::npos) << r;
  EXPECT_NE(r.find("sslmode=disable"), std::string::npos) << r;
  EXPECT_NE(r.find("db.example.com/app"), std::string::npos) << r;
}

// key=value DSNs may come back with their keywords in another order (libpq's own parser does
// that); what matters is which keyword=value pairs they contain.
std::multiset<std::string> kv_tokens(const std::string& dsn) {
  std::multiset<std::string> out;
  std::istringstream in(dsn);
  std::string token;
  while (in >> token) out.insert(token);
  return out;
}

TEST(LogTest, RedactDsnKeyValueReplacesPassword) {
  auto r = redact_dsn("host=db user=alice password=s3cr3t dbname=app");
  EXPECT_EQ(kv_tokens(r), kv_tokens("host=db user=alice password=*** dbname=app")) << r;
}

TEST(LogTest, RedactDsnKeyValueQuotedAndSpacedPasswords) {
  std::string quoted = redact_dsn(R"(host=db password='s3 cr\'3t x' dbname=app)");
  EXPECT_EQ(quoted.find("s3"), std::string::npos) << quoted;
  EXPECT_EQ(quoted.find("3t x"), std::string::npos) << quoted;
  EXPECT_NE(quoted.find("host=db"), std::string::npos) << quoted;
  EXPECT_NE(quoted.find("dbname=app"), std::string::npos) << quoted;

  std::string spaced = redact_dsn("host=db password = s3cr3t dbname=app");
  EXPECT_EQ(spaced.find("s3cr3t"), std::string::npos) << spaced;
  EXPECT_NE(spaced.find("dbname=app"), std::string::npos) << spaced;

  std::string last = redact_dsn("host=db password=s3cr3t");
  EXPECT_EQ(last.find("s3cr3t"), std::string::npos) << last;
}

TEST(LogTest, RedactDsnLeavesDsnWithoutPasswordIntact) {
  for (std::string dsn : {"postgresql://alice@db.example.com:5432/app?sslmode=require",
                          "postgresql:///app?host=/tmp", ""}) {
    EXPECT_EQ(redact_dsn(dsn), dsn);
  }
  for (std::string dsn :
       {"host=db user=alice dbname=app", "host=db user=passwordless dbname=app"}) {
    auto r = redact_dsn(dsn);
    EXPECT_EQ(kv_tokens(r), kv_tokens(dsn)) << r;
    EXPECT_EQ(r.find("***"), std::string::npos) << r;
  }
}

TEST(LogTest, LoggerFiltersBelowMinLevel) {
  std::vector<LogEvent> got;
  Logger logger([&](const LogEvent& e) { got.push_back(e); }, LogLevel::warning);
  EXPECT_FALSE(logger.enabled(LogLevel::debug));
  EXPECT_FALSE(logger.enabled(LogLevel::info));
  EXPECT_TRUE(logger.enabled(LogLevel::warning));
  EXPECT_TRUE(logger.enabled(LogLevel::error));
  logger.log(LogLevel::debug, "a");
  logger.log(LogLevel::info, "b");
  logger.log(LogLevel::warning, "c", {{"k", "v"}});
  logger.log(LogLevel::error, "d");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, "c");
  EXPECT_EQ(got[0].level, LogLevel::warning);
  EXPECT_EQ(got[0].fields, (Fields{{"k", "v"}}));
  EXPECT_EQ(got[1].name, "d");
}

TEST(LogTest, DefaultLoggerAndOffLevelLogNothing) {
  Logger none;
  EXPECT_FALSE(none.enabled(LogLevel::error));
  int calls = 0;
  Logger off([&](const LogEvent&) { calls++; }, LogLevel::off);
  off.log(LogLevel::error, "x");
  EXPECT_EQ(calls, 0);
}

TEST(LogTest, StderrSinkWritesOneJsonLinePerEventAndTheNullSinkNothing) {
  LogEvent event{LogLevel::warning, "pool.connect_failed", {{"host", "db"}, {"attempt", "2"}}};
  ::testing::internal::CaptureStderr();
  stderr_json_sink()(event);
  stderr_json_sink()(event);
  std::string written = ::testing::internal::GetCapturedStderr();
  std::string line = format_log_json(event) + "\n";
  EXPECT_EQ(written, line + line);

  ::testing::internal::CaptureStderr();
  null_sink()(event);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

// ---------------------------------------------------------------------------------------------
// A real client: failures are logged through the custom sink, passwords never appear.

class ClientLogTest : public test::PgTest {};

std::string all_text(const LogEvent& e) {
  std::string s = e.name;
  for (auto& [k, v] : e.fields) s += "|" + k + "=" + v;
  return s;
}

TEST_F(ClientLogTest, BadPasswordIsLoggedWithoutThePassword) {
  const std::string password = "Wr0ngPa55" + test::unique_name("x");
  auto capture = test::LogCapture::make();
  auto opts = test::client_options();
  opts.dsn = test::dsn_with_password(opts.dsn, password);
  opts.log_sink = capture->sink();
  opts.log_level = LogLevel::debug;
  opts.pool.reconnect_backoff_initial = 50ms;
  {
    auto client = test::connect(opts);
    ASSERT_TRUE(client);
    auto r = test::run(*client, "SELECT 1", {}, {}, 10s);
    ASSERT_ERROR_CODE(r, ErrorCode::connection);
    EXPECT_EQ(r.error().message.find(password), std::string::npos) << r.error().message;
  }
  auto events = capture->events();
  ASSERT_FALSE(events.empty()) << "a failed connect must be logged";
  bool warning_or_worse = false;
  for (const auto& e : events) {
    if (e.level >= LogLevel::warning) warning_or_worse = true;
    EXPECT_EQ(all_text(e).find(password), std::string::npos)
        << "password leaked into log event: " << format_log_json(e);
    EXPECT_EQ(format_log_json(e).find(password), std::string::npos);
  }
  EXPECT_TRUE(warning_or_worse) << "a failed connect should be logged at warning or above";
}

TEST_F(ClientLogTest, SinkReceivesOnlyEventsAtOrAboveTheClientLevel) {
  for (LogLevel level : {LogLevel::warning, LogLevel::error, LogLevel::off}) {
    auto capture = test::LogCapture::make();
    auto opts = test::client_options();
    opts.dsn = test::dsn_with_password(opts.dsn, "definitely-wrong");
    opts.log_sink = capture->sink();
    opts.log_level = level;
    {
      auto client = test::connect(opts);
      ASSERT_TRUE(client);
      auto r = test::run(*client, "SELECT 1", {}, {}, 10s);
      EXPECT_FALSE(r.ok());
    }
    for (const auto& e : capture->events()) {
      EXPECT_GE(e.level, level) << "event below the client's level " << to_string(level) << ": "
                                << format_log_json(e);
      EXPECT_NE(e.level, LogLevel::off);
    }
    if (level == LogLevel::warning) {
      EXPECT_FALSE(capture->events().empty());
    }
    if (level == LogLevel::off) {
      EXPECT_TRUE(capture->events().empty());
    }
  }
}

TEST_F(ClientLogTest, HealthyClientDoesNotLogWarnings) {
  auto capture = test::LogCapture::make();
  auto opts = test::client_options();
  opts.log_sink = capture->sink();
  opts.log_level = LogLevel::warning;
  {
    auto client = test::connect(opts);
    ASSERT_TRUE(client);
    auto r = test::run(*client, "SELECT 1");
    ASSERT_OK(r);
  }
  for (const auto& e : capture->events()) {
    ADD_FAILURE() << "unexpected warning from a healthy client: " << format_log_json(e);
  }
}

}  // namespace
}  // namespace enrich
