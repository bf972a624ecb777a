#pragma once
/// @file
/// Query results straight to JSON, in three profiles, so that an endpoint moved onto enrich
/// returns what it returned before. See docs/json-profiles.md for the full type table.
///
/// - `postgres`: what Postgres's own `row_to_json` gives (numbers bare, json embedded,
///   timestamps "2024-03-05T06:07:08.57+00:00", bytea "\\x..").
/// - `node`: what node-postgres with its default type parsers followed by `JSON.stringify`
///   gives (int8 and numeric as strings, timestamps as UTC ISO-8601 with milliseconds and `Z`,
///   json/jsonb parsed and re-serialized, bytea as {"type":"Buffer","data":[...]}). Timestamps
///   without time zone and dates are read as node-postgres does in a process whose TZ is UTC.
/// - `python`: what asyncpg rows become through a FastAPI response model (pydantic 2): int8 as
///   numbers, numeric as str(Decimal), real as its double value, json/jsonb as strings,
///   timestamps "2024-03-05T06:07:08.570001Z", bytea decoded as UTF-8.
/// Types outside the documented set (interval, inet, enums, ...) are their Postgres text form in
/// a JSON string in every profile. Strings are always escaped into valid JSON (invalid UTF-8
/// from the database becomes U+FFFD).

#include <string>
#include <string_view>

#include "enrich/error.hpp"
#include "enrich/export.hpp"
#include "enrich/pg/result.hpp"

namespace enrich {

enum class JsonProfile { postgres, node, python };

/// How a statement's result becomes one JSON value.
enum class ResultShape {
  one,    ///< the first row as an object, or null when there is none
  many,   ///< an array of row objects
  value,  ///< the first column of the first row, or null
};

ENRICH_EXPORT std::string_view to_string(JsonProfile profile) noexcept;
ENRICH_EXPORT Result<JsonProfile> parse_json_profile(std::string_view name);
ENRICH_EXPORT std::string_view to_string(ResultShape shape) noexcept;
ENRICH_EXPORT Result<ResultShape> parse_result_shape(std::string_view name);

/// Appends `result` in `shape` as JSON to `out`.
ENRICH_EXPORT void append_json(std::string& out, const QueryResult& result, ResultShape shape,
                               JsonProfile profile);
/// The same, as a new string.
ENRICH_EXPORT std::string to_json(const QueryResult& result, ResultShape shape,
                                  JsonProfile profile);

}  // namespace enrich
