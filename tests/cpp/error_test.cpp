// Errors as values, Result<T>, Exception, and Deadline. No database needed.

#include "enrich/error.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "enrich/deadline.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;

Error err(ErrorCode code, std::string sqlstate = "") {
  Error e = make_error(code, "message");
  e.sqlstate = std::move(sqlstate);
  return e;
}

TEST(ErrorTest, ToStringOfEveryCodeIsItsStableName) {
  EXPECT_EQ(to_string(ErrorCode::connection), "connection");
  EXPECT_EQ(to_string(ErrorCode::timeout), "timeout");
  EXPECT_EQ(to_string(ErrorCode::cancelled), "cancelled");
  EXPECT_EQ(to_string(ErrorCode::pool_timeout), "pool_timeout");
  EXPECT_EQ(to_string(ErrorCode::pool_queue_full), "pool_queue_full");
  EXPECT_EQ(to_string(ErrorCode::query), "query");
  EXPECT_EQ(to_string(ErrorCode::invalid_argument), "invalid_argument");
  EXPECT_EQ(to_string(ErrorCode::not_found), "not_found");
  EXPECT_EQ(to_string(ErrorCode::closed), "closed");
  EXPECT_EQ(to_string(ErrorCode::internal), "internal");
}

TEST(ErrorTest, ToStringOfOutOfRangeCodeIsNotEmpty) {
  EXPECT_FALSE(to_string(static_cast<ErrorCode>(9999)).empty());
}

TEST(ErrorTest, MakeErrorSetsCodeAndMessage) {
  Error e = make_error(ErrorCode::not_found, "no row");
  EXPECT_EQ(e.code, ErrorCode::not_found);
  EXPECT_EQ(e.message, "no row");
  EXPECT_TRUE(e.sqlstate.empty());
  EXPECT_TRUE(e.detail.empty());
  EXPECT_TRUE(e.hint.empty());
}

TEST(ErrorTest, ErrorToStringHasCodeMessageAndSqlstate) {
  Error e = make_error(ErrorCode::query, "syntax error at or near \"SELEC\"");
  e.sqlstate = "42601";
  std::string s = e.to_string();
  EXPECT_EQ(s.rfind("query: ", 0), 0u) << s;
  EXPECT_NE(s.find("syntax error at or near \"SELEC\""), std::string::npos) << s;
  EXPECT_NE(s.find("SQLSTATE 42601"), std::string::npos) << s;

  Error plain = make_error(ErrorCode::timeout, "query timed out");
  std::string p = plain.to_string();
  EXPECT_EQ(p.rfind("timeout: query timed out", 0), 0u) << p;
  EXPECT_EQ(p.find("SQLSTATE"), std::string::npos) << "no SQLSTATE when there is none: " << p;
}

TEST(ErrorTest, RetriableForTransientFailures) {
  EXPECT_TRUE(err(ErrorCode::connection).retriable());
  EXPECT_TRUE(err(ErrorCode::timeout).retriable());
  EXPECT_TRUE(err(ErrorCode::pool_timeout).retriable());
  EXPECT_TRUE(err(ErrorCode::pool_queue_full).retriable());
  EXPECT_TRUE(err(ErrorCode::query, "40001").retriable()) << "serialization_failure";
  EXPECT_TRUE(err(ErrorCode::query, "40P01").retriable()) << "deadlock_detected";
}

TEST(ErrorTest, NotRetriableForPermanentFailures) {
  EXPECT_FALSE(err(ErrorCode::query, "42601").retriable()) << "syntax error";
  EXPECT_FALSE(err(ErrorCode::query, "23505").retriable()) << "unique violation";
  EXPECT_FALSE(err(ErrorCode::query, "22012").retriable()) << "division by zero";
  EXPECT_FALSE(err(ErrorCode::query).retriable());
  EXPECT_FALSE(err(ErrorCode::invalid_argument).retriable());
  EXPECT_FALSE(err(ErrorCode::not_found).retriable());
  EXPECT_FALSE(err(ErrorCode::closed).retriable());
  EXPECT_FALSE(err(ErrorCode::internal).retriable());
  EXPECT_FALSE(err(ErrorCode::cancelled).retriable());
}

TEST(ErrorTest, ResultHoldsValueOrError) {
  Result<int> ok = 5;
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(ok.value(), 5);
  EXPECT_EQ(*ok, 5);

  Result<std::string> s = std::string("abc");
  EXPECT_EQ(s->size(), 3u);

  Result<int> bad = make_error(ErrorCode::closed, "closed");
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(bad.error().code, ErrorCode::closed);
}

TEST(ErrorTest, ResultValueThrowsEnrichExceptionOnError) {
  Error e = make_error(ErrorCode::query, "duplicate key");
  e.sqlstate = "23505";
  e.detail = "Key (id)=(1) already exists.";
  Result<int> r = e;
  try {
    (void)r.value();
    FAIL() << "value() on an error must throw";
  } catch (const Exception& ex) {
    EXPECT_EQ(ex.error().code, ErrorCode::query);
    EXPECT_EQ(ex.error().sqlstate, "23505");
    EXPECT_EQ(ex.error().detail, "Key (id)=(1) already exists.");
    EXPECT_EQ(std::string(ex.what()), e.to_string());
  }
  const Result<int>& cr = r;
  EXPECT_THROW((void)cr.value(), Exception);
  EXPECT_THROW((void)std::move(r).value(), Exception);
  EXPECT_THROW((void)*r, Exception);
}

TEST(ErrorTest, ExceptionIsAStdException) {
  try {
    throw Exception(make_error(ErrorCode::internal, "oops"));
  } catch (const std::exception& ex) {
    EXPECT_NE(std::string(ex.what()).find("oops"), std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// Deadline

TEST(DeadlineTest, DefaultAndNoneAreNotSetAndNeverExpire) {
  Deadline d;
  EXPECT_FALSE(d.is_set());
  EXPECT_FALSE(d.expired());
  EXPECT_EQ(d.remaining(), Milliseconds::max());
  EXPECT_EQ(Deadline::none(), d);
}

TEST(DeadlineTest, AfterZeroOrNegativeMeansNoDeadline) {
  EXPECT_FALSE(Deadline::after(Milliseconds(0)).is_set());
  EXPECT_FALSE(Deadline::after(Milliseconds(-5)).is_set());
}

TEST(DeadlineTest, AfterExpiresOnTime) {
  auto before = Clock::now();
  auto d = Deadline::after(50ms);
  auto after = Clock::now();
  EXPECT_TRUE(d.is_set());
  EXPECT_GE(d.when(), before + 50ms);
  EXPECT_LE(d.when(), after + 50ms);
  EXPECT_FALSE(d.expired());
  EXPECT_GT(d.remaining().count(), 0);
  EXPECT_LE(d.remaining().count(), 50);
  // The moments around the deadline, without waiting for them.
  auto t = d.when();
  EXPECT_FALSE(d.expired(t - 1ns));
  EXPECT_EQ(d.remaining(t - 1ns), 1ms) << "rounded up: not expired yet";
  EXPECT_EQ(d.remaining(t - 20ms), 20ms);
  EXPECT_TRUE(d.expired(t));
  EXPECT_EQ(d.remaining(t), 0ms);
  EXPECT_TRUE(d.expired(t + 1h));
  EXPECT_EQ(d.remaining(t + 1h), 0ms);
}

TEST(DeadlineTest, PastDeadlineIsExpired) {
  auto d = Deadline::at(Clock::now() - 1s);
  EXPECT_TRUE(d.is_set());
  EXPECT_TRUE(d.expired());
  EXPECT_EQ(d.remaining(), Milliseconds(0));
}

TEST(DeadlineTest, EarliestPicksTheEarlierAndIgnoresNone) {
  auto soon = Deadline::after(1s);
  auto later = Deadline::after(10s);
  EXPECT_EQ(earliest(soon, later), soon);
  EXPECT_EQ(earliest(later, soon), soon);
  EXPECT_EQ(earliest(Deadline::none(), later), later);
  EXPECT_EQ(earliest(later, Deadline::none()), later);
  EXPECT_FALSE(earliest(Deadline::none(), Deadline::none()).is_set());
}

}  // namespace
}  // namespace enrich
