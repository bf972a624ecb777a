// The JSON building blocks: parser, escaping, number spellings of each profile, Postgres array
// literals. No server needed.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/json_escape.hpp"
#include "json/number_format.hpp"
#include "json/pg_array.hpp"
#include "json/profile_json.hpp"
#include "json/value.hpp"

namespace enrich::json {
namespace {

std::string js(double v) {
  std::string s;
  append_js_number(s, v);
  return s;
}
std::string py(double v) {
  std::string s;
  append_python_float(s, v);
  return s;
}
std::string escaped(std::string_view v) {
  std::string s;
  append_json_string(s, v);
  return s;
}

TEST(JsonParserTest, ParsesEveryKindOfValue) {
  auto v = parse(R"( {"a": [1, -2.5e3, true, false, null], "b": {"c": "d\u00e9\n"}} )");
  ASSERT_TRUE(v.ok()) << v.error().message;
  const Value* a = v.value().find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->as_array().size(), 5u);
  EXPECT_EQ(a->as_array()[0].as_number().as_int64(), 1);
  EXPECT_EQ(a->as_array()[1].as_number().as_double(), -2500.0);
  EXPECT_FALSE(a->as_array()[1].as_number().as_int64().has_value());
  EXPECT_TRUE(a->as_array()[2].as_bool());
  EXPECT_TRUE(a->as_array()[4].is_null());
  EXPECT_EQ(v.value().find("b")->find("c")->as_string(), "d\xC3\xA9\n");
}

TEST(JsonParserTest, KeepsBigIntegersExact) {
  auto v = parse("12345678901234567890123");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value().as_number().text, "12345678901234567890123");
}

TEST(JsonParserTest, DecodesSurrogatePairs) {
  auto v = parse(R"("\ud83d\ude80")");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value().as_string(), "\xF0\x9F\x9A\x80");
}

TEST(JsonParserTest, RejectsMalformedDocumentsWithPosition) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "\"\\ud800\"", "tru",
                          "{\"a\":1} x", "\"raw\ncontrol\"", "-", "[1 2]"}) {
    auto v = parse(bad);
    EXPECT_FALSE(v.ok()) << "accepted: " << bad;
    if (!v.ok()) {
      EXPECT_EQ(v.error().code, ErrorCode::invalid_argument);
      EXPECT_NE(v.error().message.find("line"), std::string::npos) << v.error().message;
    }
  }
}

TEST(JsonParserTest, LimitsNestingDepth) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(parse(deep, 64).ok());
  EXPECT_TRUE(parse(deep, 128).ok());
}

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(escaped("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(escaped("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(escaped(std::string("\x01\x1f", 2)), R"("\u0001\u001f")");
  EXPECT_EQ(escaped("caf\xC3\xA9 \xF0\x9F\x9A\x80"), "\"caf\xC3\xA9 \xF0\x9F\x9A\x80\"");
}

TEST(JsonEscapeTest, ReplacesInvalidUtf8SoTheOutputStaysValidJson) {
  EXPECT_EQ(escaped("a\xFF"
                    "b"),
            "\"a\xEF\xBF\xBD"
            "b\"");
  EXPECT_EQ(escaped("\xC3"), "\"\xEF\xBF\xBD\"");  // truncated sequence
  EXPECT_EQ(escaped("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
  EXPECT_EQ(escaped("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                  // overlong
}

TEST(NumberFormatTest, JavaScriptNumberToString) {
  EXPECT_EQ(js(0), "0");
  EXPECT_EQ(js(-0.0), "0");
  EXPECT_EQ(js(1), "1");
  EXPECT_EQ(js(0.1), "0.1");
  EXPECT_EQ(js(-2.5), "-2.5");
  EXPECT_EQ(js(1e21), "1e+21");
  EXPECT_EQ(js(1e20), "100000000000000000000");
  EXPECT_EQ(js(123456789012345680000.0), "123456789012345680000");
  EXPECT_EQ(js(1e-6), "0.000001");
  EXPECT_EQ(js(1e-7), "1e-7");
  EXPECT_EQ(js(1.5e-7), "1.5e-7");
  EXPECT_EQ(js(4.2f), "4.199999809265137");
  EXPECT_EQ(js(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(js(std::numeric_limits<double>::infinity()), "null");
}

TEST(NumberFormatTest, PydanticFloatSpelling) {
  // Expected values are pydantic_core.to_json() outputs (pydantic 2, as FastAPI responds).
  EXPECT_EQ(py(0), "0.0");
  EXPECT_EQ(py(1), "1.0");
  EXPECT_EQ(py(123), "123.0");
  EXPECT_EQ(py(0.1), "0.1");
  EXPECT_EQ(py(1e16), "1e+16");
  EXPECT_EQ(py(1e15), "1000000000000000.0");
  EXPECT_EQ(py(1e-5), "0.00001");
  EXPECT_EQ(py(1.234e-5), "0.00001234");
  EXPECT_EQ(py(1e-6), "1e-6");
  EXPECT_EQ(py(1.5e-7), "1.5e-7");
  EXPECT_EQ(py(1.5e16), "1.5e+16");
  EXPECT_EQ(py(-0.0), "-0.0");
  EXPECT_EQ(py(0.0001), "0.0001");
  EXPECT_EQ(py(1e300), "1e+300");
  EXPECT_EQ(py(5e-324), "5e-324");
  EXPECT_EQ(py(static_cast<double>(4.2f)), "4.199999809265137");
  EXPECT_EQ(py(std::numeric_limits<double>::quiet_NaN()), "null");
}

TEST(NumberFormatTest, PythonDecimalStringsMatchAsyncpg) {
  // Expected values were produced by asyncpg 0.32 + str(Decimal) on the same numerics.
  EXPECT_EQ(python_decimal_string("100"), "100");
  EXPECT_EQ(python_decimal_string("12.50"), "12.50");
  EXPECT_EQ(python_decimal_string("12345678000000"), "1.234567800E+13");
  EXPECT_EQ(python_decimal_string("0.000"), "0.000");
  EXPECT_EQ(python_decimal_string("10000"), "1E+4");
  EXPECT_EQ(python_decimal_string("120.0"), "120.0");
  EXPECT_EQ(python_decimal_string("-0.5"), "-0.5");
  EXPECT_EQ(python_decimal_string("10000.00"), "10000.00");
  EXPECT_EQ(python_decimal_string("0.00012345"), "0.00012345");
  EXPECT_EQ(python_decimal_string("123456789.123456789"), "123456789.123456789");
  EXPECT_EQ(python_decimal_string("0"), "0");
  EXPECT_EQ(python_decimal_string("0.0000000"), "0E-7");
  EXPECT_EQ(python_decimal_string("-100000.10"), "-100000.10");
  EXPECT_EQ(python_decimal_string("0.00000000000000000001"), "1E-20");
  EXPECT_EQ(python_decimal_string("99999999"), "99999999");
  EXPECT_EQ(python_decimal_string("0.0000001"), "1E-7");
  EXPECT_EQ(python_decimal_string("0.00000010"), "1.0E-7");
  EXPECT_EQ(python_decimal_string("100000000000000000000"), "1E+20");
  EXPECT_EQ(python_decimal_string("NaN"), "NaN");
}

TEST(PgArrayTest, ParsesQuotedNullAndNestedElements) {
  auto a = parse_pg_array(R"({1,NULL,"NULL","a,b","c\"d","x\\y"})");
  ASSERT_TRUE(a.has_value());
  ASSERT_EQ(a->children.size(), 6u);
  EXPECT_EQ(a->children[0].text, "1");
  EXPECT_FALSE(a->children[1].text.has_value());
  EXPECT_EQ(a->children[2].text, "NULL");
  EXPECT_EQ(a->children[3].text, "a,b");
  EXPECT_EQ(a->children[4].text, "c\"d");
  EXPECT_EQ(a->children[5].text, "x\\y");
  auto nested = parse_pg_array("{{1,2},{3,4}}");
  ASSERT_TRUE(nested.has_value());
  ASSERT_EQ(nested->children.size(), 2u);
  EXPECT_TRUE(nested->children[1].is_array);
  EXPECT_EQ(nested->children[1].children[0].text, "3");
  EXPECT_TRUE(parse_pg_array("{}").has_value());
  EXPECT_FALSE(parse_pg_array("[0:1]={1,2}").has_value());  // explicit bounds: caller uses text
  EXPECT_FALSE(parse_pg_array("{1,2").has_value());
}

TEST(ProfileJsonTest, NodeReserializesLikeJsonStringify) {
  auto v = parse(R"({"b":1,"a":[1.0,2.50,1e2],"10":"x","2":true,"b":3,"01":0})");
  ASSERT_TRUE(v.ok());
  std::string out;
  append_js_json(out, v.value());
  // Array-index keys first in ascending order ("01" is not one), repeated "b" keeps its first
  // position and its last value, numbers as JS prints them.
  EXPECT_EQ(out, R"({"2":true,"10":"x","b":3,"a":[1,2.5,100],"01":0})");
}

// jsonb's text transcoded in one pass must give exactly what the parse + re-serialize path gives,
// and decline (leaving the output as it was) whenever it could not.
TEST(ProfileJsonTest, JsonbFastPathMatchesTheParserOrDeclines) {
  auto tree = [](std::string_view text) {
    auto v = parse(text);
    EXPECT_TRUE(v.ok()) << text;
    std::string out;
    if (v.ok()) append_js_json(out, v.value());
    return out;
  };
  // jsonb's output: ", " and ": " separators, keys sorted by length.
  for (std::string_view text : {
           R"({"a": 1, "bb": [1, 2.5, -3, 0, -0.25, 0.000001, 123456789012345], "ccc": null})",
           R"({"x": {"y": [[], {}, [true, false, null]]}, "name": "Zoë 👍 €", "e": ""})",
           R"([1, "two", 3.14159, {"k": "v"}])", R"("just a string")", "42", "true", "null",
           R"({"01": 1, "a1": 2, "-1": 3, "1.5": 4})",  // none of these keys is an array index
       }) {
    std::string out = "prefix:";
    ASSERT_TRUE(append_js_json_text(out, text)) << text;
    EXPECT_EQ(out, "prefix:" + tree(text)) << text;
  }
  // Declined: the parser's path gives a different text, or the fast path cannot tell.
  for (std::string_view text : {
           R"({"b": 1, "10": 2})",           // an array-index key: JS moves it first
           R"({"s": "line\nbreak"})",        // an escape: the parser unescapes it
           R"({"s": "quote\" inside"})",     //
           "{\"s\": \"raw\ttab\"}",          // a raw control character: not jsonb's output
           R"({"n": 1.50})",                 // trailing zero: JS writes 1.5
           R"({"n": 1e3})",                  // exponent
           R"({"n": -0})",                   // JS writes 0
           R"({"n": 0.0000001})",            // JS writes 1e-7
           R"({"n": 1234567890123456789})",  // beyond 15 digits: JS rounds it
           R"({"n": 01})",
           R"({"a": 1)",
           R"([1]])",
           "",
           "   ",
           R"({"a": tru})",
       }) {
    std::string out = "prefix:";
    EXPECT_FALSE(append_js_json_text(out, text)) << text;
    EXPECT_EQ(out, "prefix:") << text;
  }
}

TEST(ProfileJsonTest, PythonReserializesLikeJsonDumps) {
  auto v = parse(R"({"b":1,"a":[1.0,2.50,1e2,12345678901234567890],"10":"x","b":3})");
  ASSERT_TRUE(v.ok());
  std::string out;
  append_python_json(out, v.value());
  EXPECT_EQ(out, R"({"b":3,"a":[1.0,2.5,100.0,12345678901234567890],"10":"x"})");
}

}  // namespace
}  // namespace enrich::json
