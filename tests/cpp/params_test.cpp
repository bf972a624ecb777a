// Parameters of every common type round-trip through the server ($1::type), and Param's own
// text forms.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "enrich/client.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;
using namespace std::chrono;

// ---------------------------------------------------------------------------------------------
// Param without a server

TEST(ParamTest, NullForms) {
  EXPECT_TRUE(Param(nullptr).is_null());
  EXPECT_TRUE(Param(std::nullopt).is_null());
  EXPECT_TRUE(Param(std::optional<int>{}).is_null());
  EXPECT_TRUE(Param(std::optional<std::string>{}).is_null());
  Param some(std::optional<int>{7});
  ASSERT_FALSE(some.is_null());
  EXPECT_EQ(some.text(), "7");
}

TEST(ParamTest, IntegersAndStringsUseTheirTextForm) {
  EXPECT_EQ(Param(42).text(), "42");
  EXPECT_EQ(Param(std::int64_t{-9223372036854775807LL - 1}).text(), "-9223372036854775808");
  EXPECT_EQ(Param(std::uint16_t{65535}).text(), "65535");
  EXPECT_EQ(Param("abc").text(), "abc");
  EXPECT_EQ(Param(std::string("x y")).text(), "x y");
  EXPECT_EQ(Param(std::string_view("sv")).text(), "sv");
  EXPECT_FALSE(Param("").is_null()) << "the empty string is not NULL";
  EXPECT_EQ(Param("").text(), "");
}

std::string without_quotes(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '"'), s.end());
  return s;
}

TEST(ParamTest, ArrayLiteralForm) {
  // Elements may be quoted or not ({1,2} and {"1","2"} are the same array); NULL is unquoted.
  EXPECT_EQ(without_quotes(Param(std::vector<int>{1, -2, 3}).text()), "{1,-2,3}");
  EXPECT_EQ(Param(std::vector<int>{}).text(), "{}");
  std::string with_null = Param(std::vector<std::optional<int>>{1, std::nullopt}).text();
  EXPECT_EQ(without_quotes(with_null), "{1,NULL}");
  EXPECT_NE(with_null.find(",NULL}"), std::string::npos)
      << "NULL must not be quoted: " << with_null;
  std::string null_word = Param(std::vector<std::string>{"NULL"}).text();
  EXPECT_EQ(null_word, "{\"NULL\"}") << "the string 'NULL' must be quoted";
}

// ---------------------------------------------------------------------------------------------
// Round trips through the server

class ParamsTest : public test::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    client_ = test::connect(test::client_options());
    ASSERT_TRUE(client_);
  }
  Result<QueryResult> q(std::string sql, Params params = {}) {
    return test::run(*client_, std::move(sql), std::move(params));
  }
  std::unique_ptr<Client> client_;
};

TEST_F(ParamsTest, Bool) {
  for (bool v : {true, false}) {
    auto r = q("SELECT $1::bool, $1::bool::text", {v});
    ASSERT_OK(r);
    EXPECT_EQ(r->column_type(0), oid::bool_);
    EXPECT_EQ((*r)[0].get<bool>(0), v);
    EXPECT_EQ((*r)[0].text(0), v ? "t" : "f");
    EXPECT_EQ((*r)[0].get<std::string>(1), v ? "true" : "false");
  }
}

TEST_F(ParamsTest, Int16IncludingMinAndMax) {
  for (std::int16_t v :
       {std::int16_t{0}, std::int16_t{-1}, std::numeric_limits<std::int16_t>::min(),
        std::numeric_limits<std::int16_t>::max()}) {
    auto r = q("SELECT $1::int2", {v});
    ASSERT_OK(r);
    EXPECT_EQ(r->column_type(0), oid::int2);
    EXPECT_EQ((*r)[0].get<std::int16_t>(0), v);
    EXPECT_EQ((*r)[0].text(0), std::to_string(v));
  }
}

TEST_F(ParamsTest, Int32IncludingMinAndMax) {
  for (std::int32_t v : {0, 123456, std::numeric_limits<std::int32_t>::min(),
                         std::numeric_limits<std::int32_t>::max()}) {
    auto r = q("SELECT $1::int4", {v});
    ASSERT_OK(r);
    EXPECT_EQ(r->column_type(0), oid::int4);
    EXPECT_EQ((*r)[0].get<std::int32_t>(0), v);
  }
}

TEST_F(ParamsTest, Int64IncludingMinAndMax) {
  for (std::int64_t v :
       {std::int64_t{0}, std::int64_t{1} << 40, std::numeric_limits<std::int64_t>::min(),
        std::numeric_limits<std::int64_t>::max()}) {
    auto r = q("SELECT $1::int8, $1::int8::text", {v});
    ASSERT_OK(r);
    EXPECT_EQ(r->column_type(0), oid::int8);
    EXPECT_EQ((*r)[0].get<std::int64_t>(0), v);
    EXPECT_EQ((*r)[0].get<std::string>(1), std::to_string(v));
  }
}

TEST_F(ParamsTest, DoubleRoundTripsExactly) {
  for (double v : {0.0, -0.0, 1.5, 0.1, 1.0 / 3.0, -2.718281828459045, 1e300, 1e-300, 4.9e-324,
                   std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
                   std::numeric_limits<double>::min(), 123456789.123456789}) {
    auto r = q("SELECT $1::float8", {v});
    ASSERT_OK(r);
    EXPECT_EQ(r->column_type(0), oid::float8);
    double got = (*r)[0].get<double>(0);
    EXPECT_EQ(got, v) << "sent " << Param(v).text() << ", server returned " << (*r)[0].text(0);
    EXPECT_EQ(std::signbit(got), std::signbit(v)) << (*r)[0].text(0);
  }
}

TEST_F(ParamsTest, DoubleNanAndInfinities) {
  auto r = q("SELECT $1::float8, $2::float8, $3::float8, $1::float8 = 'NaN'::float8",
             {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
              -std::numeric_limits<double>::infinity()});
  ASSERT_OK(r);
  auto row = (*r)[0];
  EXPECT_TRUE(std::isnan(row.get<double>(0))) << row.text(0);
  EXPECT_EQ(row.text(0), "NaN");
  EXPECT_TRUE(std::isinf(row.get<double>(1)) && row.get<double>(1) > 0) << row.text(1);
  EXPECT_EQ(row.text(1), "Infinity");
  EXPECT_TRUE(std::isinf(row.get<double>(2)) && row.get<double>(2) < 0) << row.text(2);
  EXPECT_EQ(row.text(2), "-Infinity");
  EXPECT_TRUE(row.get<bool>(3));
}

TEST_F(ParamsTest, Float) {
  auto r = q("SELECT $1::float4, $2::float8", {1.25f, 0.1f});
  ASSERT_OK(r);
  EXPECT_EQ(r->column_type(0), oid::float4);
  EXPECT_EQ((*r)[0].get<float>(0), 1.25f);
  EXPECT_EQ((*r)[0].get<double>(1), static_cast<double>(0.1f))
      << "a float parameter is sent as the exact double value of the float";
}

TEST_F(ParamsTest, TextWithQuotesBackslashesUnicodeAndEmpty) {
  std::vector<std::string> values = {
      "plain",
      "it's \"quoted\"",
      "back\\slash \\\\ double \\x41",
      "ünïcødé ✓ 日本語 🎉",
      "",
      "line1\nline2\ttab\r",
      "'; DROP TABLE users; --",
      "$1 $2 ?",
      std::string(10000, 'x'),
  };
  for (const auto& v : values) {
    auto r = q("SELECT $1::text, octet_length($1::text), $1::text IS NULL", {v});
    ASSERT_OK(r);
    EXPECT_EQ(r->column_type(0), oid::text);
    EXPECT_EQ((*r)[0].get<std::string>(0), v);
    EXPECT_EQ((*r)[0].get<std::int64_t>(1), static_cast<std::int64_t>(v.size()));
    EXPECT_FALSE((*r)[0].get<bool>(2));
    EXPECT_FALSE((*r)[0].is_null(0));
  }
}

TEST_F(ParamsTest, TextFromCharPointerStringViewAndString) {
  const char* cp = "from const char*";
  std::string_view sv = "from string_view";
  std::string s = "from string";
  auto r = q("SELECT $1::text, $2::text, $3::text", {cp, sv, s});
  ASSERT_OK(r);
  EXPECT_EQ((*r)[0].get<std::string>(0), cp);
  EXPECT_EQ((*r)[0].get<std::string>(1), sv);
  EXPECT_EQ((*r)[0].get<std::string>(2), s);
  EXPECT_EQ((*r)[0].get<std::string_view>(2), s);
}

TEST_F(ParamsTest, NullViaNullptrAndOptional) {
  auto r = q("SELECT $1::int4, $2::text, $3::int8, $4::int4, $1::int4 IS NULL",
             {nullptr, std::optional<std::string>{}, std::optional<std::int64_t>{},
              std::optional<int>{5}});
  ASSERT_OK(r);
  auto row = (*r)[0];
  EXPECT_TRUE(row.is_null(0));
  EXPECT_TRUE(row.is_null(1));
  EXPECT_TRUE(row.is_null(2));
  EXPECT_FALSE(row.is_null(3));
  EXPECT_EQ(row.get<int>(3), 5);
  EXPECT_TRUE(row.get<bool>(4));
  EXPECT_EQ(row.get<std::optional<int>>(0), std::nullopt);
  EXPECT_EQ(row.get<std::optional<std::string>>(1), std::nullopt);
  EXPECT_EQ(row.get<std::optional<int>>(3), std::optional<int>(5));
  EXPECT_EQ(row.text(0), "");
}

TEST_F(ParamsTest, ByteaWithAllByteValues) {
  Bytes all;
  for (int i = 0; i < 256; ++i) all.data.push_back(static_cast<std::uint8_t>(i));
  auto r =
      q("SELECT $1::bytea, octet_length($1::bytea), get_byte($1::bytea, 0), "
        "get_byte($1::bytea, 255), md5($1::bytea)",
        {all});
  ASSERT_OK(r);
  EXPECT_EQ(r->column_type(0), oid::bytea);
  auto row = (*r)[0];
  Bytes back = row.get<Bytes>(0);
  EXPECT_EQ(back.data, all.data);
  EXPECT_EQ(row.get<int>(1), 256);
  EXPECT_EQ(row.get<int>(2), 0);
  EXPECT_EQ(row.get<int>(3), 255);
  EXPECT_EQ(row.get<std::string>(4), "e2c865db4162bed963bfaa9ef6ac18f0");  // md5 of 0x00..0xff
}

TEST_F(ParamsTest, EmptyBytea) {
  auto r = q("SELECT $1::bytea, octet_length($1::bytea)", {Bytes{}});
  ASSERT_OK(r);
  EXPECT_FALSE((*r)[0].is_null(0));
  EXPECT_TRUE((*r)[0].get<Bytes>(0).data.empty());
  EXPECT_EQ((*r)[0].get<int>(1), 0);
}

TEST_F(ParamsTest, TimestamptzFromSystemClock) {
  using std::chrono::sys_days;
  struct Case {
    system_clock::time_point tp;
    const char* text;
  };
  std::vector<Case> cases = {
      {sys_days{year{2024} / 2 / 29} + 13h + 45min + 7s + 123456us,
       "2024-02-29 13:45:07.123456+00"},
      {sys_days{year{1970} / 1 / 1}, "1970-01-01 00:00:00+00"},
      {sys_days{year{1969} / 7 / 20} + 20h + 17min + 40s + 500ms, "1969-07-20 20:17:40.5+00"},
      {sys_days{year{2038} / 1 / 19} + 3h + 14min + 8s + 1us, "2038-01-19 03:14:08.000001+00"},
  };
  for (const auto& c : cases) {
    auto r =
        q("SELECT $1::timestamptz, "
          "(extract(epoch from $1::timestamptz) * 1000000)::int8",
          {c.tp});
    ASSERT_OK(r);
    EXPECT_EQ(r->column_type(0), oid::timestamptz);
    EXPECT_EQ((*r)[0].text(0), c.text) << "sent " << Param(c.tp).text();
    EXPECT_EQ((*r)[0].get<std::int64_t>(1),
              duration_cast<microseconds>(c.tp.time_since_epoch()).count());
  }
}

TEST_F(ParamsTest, TimestamptzOfNowIsCloseToServerNow) {
  auto now = system_clock::now();
  auto r =
      q("SELECT abs(extract(epoch from ($1::timestamptz - clock_timestamp())))::float8", {now});
  ASSERT_OK(r);
  EXPECT_LT((*r)[0].get<double>(0), 5.0) << "client and server clocks are the same machine";
}

TEST_F(ParamsTest, IntArray) {
  std::vector<int> v = {1, -2, 3, std::numeric_limits<int>::max()};
  auto r =
      q("SELECT $1::int4[], array_length($1::int4[], 1), ($1::int4[])[2], "
        "($1::int4[])[4]",
        {v});
  ASSERT_OK(r);
  auto row = (*r)[0];
  EXPECT_EQ(row.text(0), "{1,-2,3,2147483647}");
  EXPECT_EQ(row.get<int>(1), 4);
  EXPECT_EQ(row.get<int>(2), -2);
  EXPECT_EQ(row.get<int>(3), std::numeric_limits<int>::max());
}

TEST_F(ParamsTest, EmptyArrayAndArrayWithNull) {
  auto r =
      q("SELECT cardinality($1::int8[]), cardinality($2::int4[]), ($2::int4[])[2] IS NULL, "
        "($2::int4[])[3]",
        {std::vector<std::int64_t>{}, std::vector<std::optional<int>>{1, std::nullopt, 3}});
  ASSERT_OK(r);
  auto row = (*r)[0];
  EXPECT_EQ(row.get<int>(0), 0);
  EXPECT_EQ(row.get<int>(1), 3);
  EXPECT_TRUE(row.get<bool>(2));
  EXPECT_EQ(row.get<int>(3), 3);
}

TEST_F(ParamsTest, TextArrayWithCommasQuotesAndNullLikeStrings) {
  std::vector<std::string> v = {"plain", "with,comma", "with \"quotes\"", "back\\slash", "NULL",
                                "null",  "",           "  padded  ",      "{braces}",    "ünï ✓",
                                "a'b",   "x\ny"};
  auto r =
      q("SELECT x, x IS NULL, i FROM unnest($1::text[]) WITH ORDINALITY AS t(x, i) "
        "ORDER BY i",
        {v});
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto row = (*r)[i];
    EXPECT_FALSE(row.get<bool>(1)) << "element " << i << " (" << v[i] << ") came back as NULL";
    EXPECT_EQ(row.get<std::string>(0), v[i]) << "element " << i;
  }
}

TEST_F(ParamsTest, TextArrayWithRealNull) {
  std::vector<std::optional<std::string>> v = {"a", std::nullopt, "NULL"};
  auto r = q("SELECT ($1::text[])[1], ($1::text[])[2] IS NULL, ($1::text[])[3]", {v});
  ASSERT_OK(r);
  EXPECT_EQ((*r)[0].get<std::string>(0), "a");
  EXPECT_TRUE((*r)[0].get<bool>(1));
  EXPECT_EQ((*r)[0].get<std::string>(2), "NULL");
}

TEST_F(ParamsTest, UuidAsString) {
  auto r = q("SELECT $1::uuid, $2::uuid = $1::uuid",
             {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"});
  ASSERT_OK(r);
  EXPECT_EQ(r->column_type(0), oid::uuid);
  EXPECT_EQ((*r)[0].get<std::string>(0), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_TRUE((*r)[0].get<bool>(1));
}

TEST_F(ParamsTest, JsonbAsString) {
  std::string doc = R"({"name": "O'Brien \"x\" \\ ü", "n": [1, 2, 3], "nested": {"ok": true}})";
  auto r =
      q("SELECT $1::jsonb, $1::jsonb ->> 'name', jsonb_array_length($1::jsonb -> 'n'), "
        "($1::jsonb #>> '{nested,ok}')::bool, $2::json",
        {doc, doc});
  ASSERT_OK(r);
  EXPECT_EQ(r->column_type(0), oid::jsonb);
  EXPECT_EQ(r->column_type(4), oid::json);
  auto row = (*r)[0];
  EXPECT_EQ(row.get<std::string>(1), "O'Brien \"x\" \\ ü");
  EXPECT_EQ(row.get<int>(2), 3);
  EXPECT_TRUE(row.get<bool>(3));
  EXPECT_EQ(row.get<std::string>(4), doc) << "json keeps the text as sent";
}

TEST_F(ParamsTest, NumericAsString) {
  for (std::string v : {"12345678901234567890.123456789012345678", "-0.000001", "0", "NaN"}) {
    auto r = q("SELECT $1::numeric", {v});
    ASSERT_OK(r);
    EXPECT_EQ(r->column_type(0), oid::numeric);
    EXPECT_EQ((*r)[0].get<std::string>(0), v);
  }
  auto r = q("SELECT $1::numeric * 2", {"1.25"});
  ASSERT_OK(r);
  EXPECT_EQ((*r)[0].get<double>(0), 2.5);
}

TEST_F(ParamsTest, ManyParametersOfMixedTypes) {
  auto r =
      q("SELECT $1::int4 + $2::int8, $3::text || $4::text, $5::bool, $6::float8 * 2, "
        "$7::text IS NULL",
        {40, std::int64_t{2}, "foo", std::string("bar"), false, 1.5, nullptr});
  ASSERT_OK(r);
  auto row = (*r)[0];
  EXPECT_EQ(row.get<std::int64_t>(0), 42);
  EXPECT_EQ(row.get<std::string>(1), "foobar");
  EXPECT_FALSE(row.get<bool>(2));
  EXPECT_EQ(row.get<double>(3), 3.0);
  EXPECT_TRUE(row.get<bool>(4));
}

TEST_F(ParamsTest, ParameterIsNeverInterpolatedIntoSql) {
  auto r = q("SELECT $1::text", {"1; SELECT pg_sleep(5)"});
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].get<std::string>(0), "1; SELECT pg_sleep(5)");
}

TEST_F(ParamsTest, WrongParameterCountFailsOnlyThatQuery) {
  auto bad = q("SELECT $1::int4 + $2::int4", {1});
  EXPECT_FALSE(bad.ok());
  auto bad2 = q("SELECT $1::int4", {1, 2});
  EXPECT_FALSE(bad2.ok());
  auto good = q("SELECT $1::int4 + $2::int4", {1, 2});
  ASSERT_OK(good);
  EXPECT_EQ((*good)[0].get<int>(0), 3);
}

TEST_F(ParamsTest, InvalidTextForTypeIsAServerError) {
  auto r = q("SELECT $1::int4", {"not a number"});
  ASSERT_ERROR_CODE(r, ErrorCode::query);
  EXPECT_EQ(r.error().sqlstate, "22P02");
}

}  // namespace
}  // namespace enrich
