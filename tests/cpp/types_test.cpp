// The core's one type table and text decoder (lib/types), directly and through the C API that
// the Python binding decodes with.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "enrich.h"
#include "types/pg_text.hpp"
#include "types/pg_types.hpp"

namespace {

using namespace enrich::types;

TEST(PgTypes, KindsAndArrayElements) {
  EXPECT_EQ(type_kind(20), TypeKind::integer);
  EXPECT_EQ(type_kind(1184), TypeKind::timestamptz);
  EXPECT_EQ(type_kind(1007), TypeKind::other) << "an array type is not a scalar kind";
  EXPECT_EQ(type_kind(999999), TypeKind::other);
  EXPECT_EQ(array_element_type(1007), 23u);
  EXPECT_EQ(array_element_type(1185), 1184u);
  EXPECT_EQ(array_element_type(1187), 1186u) << "interval[]";
  EXPECT_EQ(array_element_type(23), 0u);
  // The C API is the same table.
  EXPECT_EQ(enrich_type_kind_of(3802), ENRICH_TYPE_JSONB);
  EXPECT_EQ(enrich_array_element_type(1231), 1700u);
}

TEST(PgText, TimestampsInEveryFormPostgresWrites) {
  DateTime t;
  ASSERT_TRUE(parse_datetime("2024-03-01 12:34:56.789+05:30", TypeKind::timestamptz, t));
  EXPECT_EQ(t.year, 2024);
  EXPECT_EQ(t.microsecond, 789000);
  EXPECT_EQ(t.fraction, "789");
  EXPECT_EQ(t.offset_seconds, 5 * 3600 + 30 * 60);
  to_utc(t);
  EXPECT_EQ(t.hour, 7);
  EXPECT_EQ(t.minute, 4);
  EXPECT_EQ(t.offset_seconds, 0);

  // A year-10000 wall clock east of UTC is still a year-9999 instant.
  ASSERT_TRUE(parse_datetime("10000-01-01 01:00:00+05:30", TypeKind::timestamptz, t));
  to_utc(t);
  EXPECT_EQ(t.year, 9999);
  EXPECT_EQ(t.month, 12);
  EXPECT_EQ(t.day, 31);
  EXPECT_EQ(t.hour, 19);

  ASSERT_TRUE(parse_datetime("1900-02-28 23:59:59.999999-00:25:21", TypeKind::timestamptz, t));
  EXPECT_EQ(t.offset_seconds, -(25 * 60 + 21));
  ASSERT_TRUE(parse_datetime("infinity", TypeKind::timestamp, t));
  EXPECT_EQ(t.infinity, 1);
  ASSERT_TRUE(parse_datetime("-infinity", TypeKind::date, t));
  EXPECT_EQ(t.infinity, -1);
  ASSERT_TRUE(parse_datetime("24:00:00", TypeKind::time, t));
  ASSERT_TRUE(parse_datetime("12:00:00.5-07", TypeKind::timetz, t));
  EXPECT_EQ(t.microsecond, 500000);

  for (const char* bad : {"0044-03-15 BC", "2024-13-01", "2024-03-01 12:00:00 PST",
                          "2024-03-01 12:00", "2024-03-01 12:00:00", "1234567-01-01", ""})
    EXPECT_FALSE(parse_datetime(bad, TypeKind::timestamptz, t)) << bad;
  EXPECT_FALSE(parse_datetime("2024-03-01", TypeKind::timestamp, t));
  EXPECT_FALSE(parse_datetime("infinity", TypeKind::time, t));
}

TEST(PgText, DatetimeThroughTheCApi) {
  enrich_datetime t{};
  const std::string s = "2024-03-01 00:30:00+01";
  ASSERT_EQ(enrich_parse_datetime(ENRICH_TYPE_TIMESTAMPTZ, s.data(), s.size(), 1, &t), ENRICH_OK);
  EXPECT_EQ(t.day, 29);  // February 29th, 23:30 UTC
  EXPECT_EQ(t.hour, 23);
  EXPECT_EQ(t.has_offset, 1);
  EXPECT_EQ(t.offset_seconds, 0);
  ASSERT_EQ(enrich_parse_datetime(ENRICH_TYPE_TIMESTAMPTZ, s.data(), s.size(), 0, &t), ENRICH_OK);
  EXPECT_EQ(t.offset_seconds, 3600);
  EXPECT_EQ(enrich_parse_datetime(ENRICH_TYPE_TEXT, s.data(), s.size(), 0, &t),
            ENRICH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(enrich_parse_datetime(ENRICH_TYPE_DATE, "x", 1, 0, &t), ENRICH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(enrich_parse_datetime(ENRICH_TYPE_DATE, nullptr, 0, 0, &t),
            ENRICH_ERR_INVALID_ARGUMENT);
}

TEST(PgText, ByteaInBothOutputForms) {
  EXPECT_EQ(decode_bytea("\\x00ff41"), std::string("\0\xff"
                                                   "A",
                                                   3));
  EXPECT_EQ(decode_bytea("a\\\\b\\001\\377"), std::string("a\\b\x01\xff", 5));
  EXPECT_EQ(decode_bytea("\\x"), std::string());
  EXPECT_FALSE(decode_bytea("\\x0"));
  EXPECT_FALSE(decode_bytea("\\xzz"));
  EXPECT_FALSE(decode_bytea("\\9"));
  char out[8];
  size_t n = 0;
  ASSERT_EQ(enrich_decode_bytea("\\x6869", 6, out, &n), ENRICH_OK);
  EXPECT_EQ(std::string(out, n), "hi");
  EXPECT_EQ(enrich_decode_bytea("\\x6", 3, out, &n), ENRICH_ERR_INVALID_ARGUMENT);
}

// Records the walk as text: [ ] for arrays, N for NULL, <text> for elements.
struct Trace {
  std::string s;
  int stop_after = -1;
  static int begin(void* p) { return static_cast<Trace*>(p)->add("["); }
  static int end(void* p) { return static_cast<Trace*>(p)->add("]"); }
  static int element(void* p, const char* text, size_t n) {
    return static_cast<Trace*>(p)->add(text ? "<" + std::string(text, n) + ">" : "N");
  }
  int add(const std::string& what) {
    s += what;
    return stop_after >= 0 && static_cast<int>(s.size()) >= stop_after ? 1 : 0;
  }
};

std::string walk(const std::string& text, enrich_status want = ENRICH_OK) {
  static const enrich_array_visitor v{&Trace::begin, &Trace::end, &Trace::element};
  Trace t;
  EXPECT_EQ(enrich_parse_array(text.data(), text.size(), &v, &t), want) << text;
  return t.s;
}

TEST(PgText, ArrayLiteralsThroughTheCApi) {
  EXPECT_EQ(walk(R"({1,NULL,"NULL","a,b","c\"d","x\\y",""})"), R"([<1>N<NULL><a,b><c"d><x\y><>])");
  EXPECT_EQ(walk("{{1,2},{3,4}}"), "[[<1><2>][<3><4>]]");
  EXPECT_EQ(walk("{}"), "[]");
  EXPECT_EQ(walk("[0:1]={7,8}"), "[<7><8>]") << "bounds are skipped";
  EXPECT_EQ(walk(R"({"café ☕","tab	here"})"), "[<café ☕><tab	here>]");
  walk("{1,2", ENRICH_ERR_INVALID_ARGUMENT);
  walk("{1,,2}", ENRICH_ERR_INVALID_ARGUMENT);
  walk("1,2", ENRICH_ERR_INVALID_ARGUMENT);
  walk("{1}x", ENRICH_ERR_INVALID_ARGUMENT);

  static const enrich_array_visitor v{&Trace::begin, &Trace::end, &Trace::element};
  Trace stop;
  stop.stop_after = 3;
  EXPECT_EQ(enrich_parse_array("{1,2,3}", 7, &v, &stop), ENRICH_ERR_CANCELLED);
  EXPECT_EQ(stop.s, "[<1>");
}

}  // namespace
