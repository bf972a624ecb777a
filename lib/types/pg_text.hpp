#pragma once
// Parsers for Postgres's text output (DateStyle ISO, bytea_output hex or escape, array literals):
// the one text decoder that the JSON profiles and, through the C API, the Python binding share.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "types/pg_types.hpp"

namespace enrich::types {

/// A date, time or timestamp as Postgres writes it.
struct DateTime {
  int year = 0, month = 0, day = 0;  ///< 0 for a time of day
  int hour = 0, minute = 0, second = 0;
  int microsecond = 0;          ///< the first six fraction digits
  std::string_view fraction{};  ///< every fraction digit as written (may be empty)
  int offset_seconds = 0;       ///< east of UTC, when has_offset
  bool has_offset = false;
  int infinity = 0;  ///< +1 for "infinity", -1 for "-infinity" (then nothing else is set)
};

/// Parses the text of a date, time, timetz, timestamp or timestamptz (`kind`). Years have 4 to 6
/// digits (Postgres writes years past 9999 with more). False for what this does not read: BC
/// dates, other DateStyles, a timestamptz without an offset, trailing text.
bool parse_datetime(std::string_view text, TypeKind kind, DateTime& out);

/// Moves a value with an offset to UTC (offset 0); the date may change, and the year may leave
/// 1..9999.
void to_utc(DateTime& t);

/// Seconds since 1970-01-01T00:00:00Z of `t` (its offset applied).
std::int64_t epoch_seconds(const DateTime& t);

/// Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's algorithms).
std::int64_t days_from_civil(int year, int month, int day);
void civil_from_days(std::int64_t days, int& year, int& month, int& day);

/// The bytes of a bytea in either output form (hex "\x..." or escape); nullopt if malformed.
std::optional<std::string> decode_bytea(std::string_view text);

/// Receives an array literal's structure in order. Element texts are unescaped; `null` is an
/// unquoted NULL. Returning false stops the walk.
class ArrayVisitor {
 public:
  virtual ~ArrayVisitor() = default;
  virtual bool begin_array() = 0;
  virtual bool end_array() = 0;
  virtual bool element(std::string_view text, bool null) = 0;
};

/// Walks an array literal ({1,2,NULL}, {"a b","c\"d"}, {{1,2},{3,4}}). With `allow_bounds`, a
/// leading dimension decoration ("[0:1]={...}") is skipped; without it, such a literal is refused.
/// False if the text is not an array literal (or the visitor stopped).
bool visit_pg_array(std::string_view text, ArrayVisitor& visitor, bool allow_bounds);

}  // namespace enrich::types
