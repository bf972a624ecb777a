// Result -> JSON in the three profiles (see include/enrich/json.hpp).

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/json_escape.hpp"
#include "enrich/json.hpp"
#include "json/number_format.hpp"
#include "json/pg_array.hpp"
#include "json/profile_json.hpp"
#include "json/value.hpp"
#include "types/pg_text.hpp"
#include "types/pg_types.hpp"

namespace enrich {

std::string_view to_string(JsonProfile profile) noexcept {
  switch (profile) {
    case JsonProfile::postgres:
      return "postgres";
    case JsonProfile::node:
      return "node";
    case JsonProfile::python:
      return "python";
  }
  return "?";
}

Result<JsonProfile> parse_json_profile(std::string_view name) {
  if (name == "postgres") return JsonProfile::postgres;
  if (name == "node") return JsonProfile::node;
  if (name == "python") return JsonProfile::python;
  return Error{ErrorCode::invalid_argument,
               "unknown JSON profile \"" + std::string(name) + "\" (postgres, node or python)"};
}

std::string_view to_string(ResultShape shape) noexcept {
  switch (shape) {
    case ResultShape::one:
      return "one";
    case ResultShape::many:
      return "many";
    case ResultShape::value:
      return "value";
  }
  return "?";
}

Result<ResultShape> parse_result_shape(std::string_view name) {
  if (name == "one") return ResultShape::one;
  if (name == "many") return ResultShape::many;
  if (name == "value") return ResultShape::value;
  return Error{ErrorCode::invalid_argument,
               "unknown result shape \"" + std::string(name) + "\" (one, many or value)"};
}

namespace {

using json::append_js_number;
using json::append_python_float;

// ---- timestamps ---------------------------------------------------------------------------------

using types::DateTime;
using types::epoch_seconds;

// The date, timestamp or timestamptz `text`; false for BC, infinity and other forms, which callers
// print as text.
bool parse_timestamp(std::string_view text, bool with_time, bool with_zone, DateTime& t) {
  auto kind = !with_time  ? types::TypeKind::date
              : with_zone ? types::TypeKind::timestamptz
                          : types::TypeKind::timestamp;
  return types::parse_datetime(text, kind, t) && t.infinity == 0;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

void append_2(std::string& out, int v) {
  out += static_cast<char>('0' + v / 10);
  out += static_cast<char>('0' + v % 10);
}

// Writes "YYYY-MM-DDTHH:MM:SS" for `epoch_seconds`; false if the year is not 4 digits.
bool append_iso_seconds(std::string& out, std::int64_t epoch_seconds) {
  std::int64_t days = floor_div(epoch_seconds, 86400);
  std::int64_t secs = epoch_seconds - days * 86400;
  int y, m, d;
  types::civil_from_days(days, y, m, d);
  if (y < 0 || y > 9999) return false;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04d", y);
  out += buf;
  out += '-';
  append_2(out, m);
  out += '-';
  append_2(out, d);
  out += 'T';
  append_2(out, static_cast<int>(secs / 3600));
  out += ':';
  append_2(out, static_cast<int>(secs / 60 % 60));
  out += ':';
  append_2(out, static_cast<int>(secs % 60));
  return true;
}

// node-postgres: new Date(Date.UTC(..., ms)) with ms = trunc(1000 * parseFloat("0.ffffff")),
// then Date#toJSON().
bool append_node_timestamp(std::string& out, const DateTime& t) {
  int ms = 0;
  if (!t.fraction.empty()) {
    std::string frac = "0." + std::string(t.fraction);
    ms = static_cast<int>(std::trunc(1000 * std::strtod(frac.c_str(), nullptr)));
  }
  std::int64_t total_ms = epoch_seconds(t) * 1000 + ms;
  std::int64_t secs = floor_div(total_ms, 1000);
  int millis = static_cast<int>(total_ms - secs * 1000);
  std::string tmp = "\"";
  if (!append_iso_seconds(tmp, secs)) return false;
  char buf[8];
  std::snprintf(buf, sizeof buf, ".%03dZ\"", millis);
  tmp += buf;
  out += tmp;
  return true;
}

// pydantic: datetime.isoformat()-like, microseconds only when non-zero, "Z" for UTC.
bool append_python_timestamp(std::string& out, const DateTime& t, bool aware) {
  std::string tmp = "\"";
  if (!append_iso_seconds(tmp, epoch_seconds(t))) return false;
  if (!t.fraction.empty()) {
    std::string micros(t.fraction.substr(0, 6));
    micros.append(6 - micros.size(), '0');
    if (micros != "000000") tmp += "." + micros;
  }
  if (aware) tmp += 'Z';
  tmp += '"';
  out += tmp;
  return true;
}

// row_to_json in a session with TimeZone=UTC, whatever the session's TimeZone is (a pooler may
// not let us set it): the instant in UTC, the fraction as Postgres wrote it, "+00:00".
bool append_postgres_utc(std::string& out, const DateTime& t) {
  std::string tmp = "\"";
  if (!append_iso_seconds(tmp, epoch_seconds(t))) return false;
  if (!t.fraction.empty()) {
    tmp += '.';
    tmp += t.fraction;
  }
  tmp += "+00:00\"";
  out += tmp;
  return true;
}

// row_to_json: the ISO text with a 'T' and an offset of the form +HH:MM.
void append_postgres_timestamp(std::string& out, std::string_view text, bool with_zone) {
  std::string s(text);
  if (auto sp = s.find(' '); sp != std::string::npos && sp == 10) s[sp] = 'T';
  if (with_zone && s.size() >= 3) {
    auto sign = s.find_last_of("+-");
    if (sign != std::string::npos && sign > 10 && s.size() - sign == 3) s += ":00";
  }
  append_json_string(out, s);
}

// ---- values -------------------------------------------------------------------------------------

bool is_special_float(std::string_view t) {
  return t == "NaN" || t == "Infinity" || t == "-Infinity";
}

// A bytea's bytes; its text as it is if it does not decode.
std::string bytea_bytes(std::string_view text) {
  auto bytes = types::decode_bytea(text);
  return bytes ? std::move(*bytes) : std::string(text);
}

void append_value(std::string& out, std::string_view text, unsigned type, JsonProfile profile,
                  bool in_array);

void append_array(std::string& out, const json::PgArrayItem& item, unsigned element_type,
                  JsonProfile profile) {
  if (!item.is_array) {
    if (!item.text)
      out += "null";
    else
      append_value(out, *item.text, element_type, profile, true);
    return;
  }
  out += '[';
  bool first = true;
  for (const auto& child : item.children) {
    if (!first) out += ',';
    first = false;
    append_array(out, child, element_type, profile);
  }
  out += ']';
}

void append_value(std::string& out, std::string_view text, unsigned type, JsonProfile profile,
                  bool in_array) {
  const bool pg = profile == JsonProfile::postgres, node = profile == JsonProfile::node;
  switch (type) {
    case oid::bool_:
      out += (text == "t" || text == "true") ? "true" : "false";
      return;
    case oid::int2:
    case oid::int4:
    case 26:  // oid
      out += text;
      return;
    case oid::int8:
      if (node)
        append_json_string(out, text);
      else
        out += text;
      return;
    case oid::numeric:
      if (pg) {
        if (is_special_float(text))
          append_json_string(out, text);
        else
          out += text;
      } else if (node) {
        // node-postgres leaves numeric as a string, but parses numeric[] elements as floats.
        if (in_array)
          append_js_number(out, std::strtod(std::string(text).c_str(), nullptr));
        else
          append_json_string(out, text);
      } else {
        append_json_string(out, json::python_decimal_string(text));
      }
      return;
    case oid::float4:
    case oid::float8: {
      if (pg) {
        if (is_special_float(text))
          append_json_string(out, text);
        else
          out += text;
        return;
      }
      std::string s(text);
      if (node) {
        // parseFloat of the text: float4 is not widened through a float, unlike asyncpg.
        append_js_number(out, std::strtod(s.c_str(), nullptr));
      } else {
        append_python_float(out, type == oid::float4
                                     ? static_cast<double>(std::strtof(s.c_str(), nullptr))
                                     : std::strtod(s.c_str(), nullptr));
      }
      return;
    }
    case oid::json:
    case oid::jsonb:
      if (pg) {
        out += text;
      } else if (node) {
        // Most values need no tree (jsonb's own output nearly always; json text unless it
        // repeats a key or uses escapes): transcode them in one pass.
        if (json::append_js_json_text(out, text)) return;
        auto parsed = json::parse(text, 512);
        if (parsed.ok())
          json::append_js_json(out, parsed.value());
        else
          append_json_string(out, text);
      } else {
        append_json_string(out, text);
      }
      return;
    case oid::timestamptz:
    case oid::timestamp:
    case oid::date: {
      bool zone = type == oid::timestamptz, time = type != oid::date;
      DateTime t{};
      if (pg && zone && parse_timestamp(text, time, zone, t) && append_postgres_utc(out, t)) return;
      if (pg || (profile == JsonProfile::python && type == oid::date)) {
        if (time)
          append_postgres_timestamp(out, text, zone);
        else
          append_json_string(out, text);
        return;
      }
      if (parse_timestamp(text, time, zone, t)) {
        if (node ? append_node_timestamp(out, t) : append_python_timestamp(out, t, zone)) return;
      }
      if (node && (text == "infinity" || text == "-infinity")) {
        out += "null";  // node-postgres turns them into +-Infinity, which JSON.stringify nulls
        return;
      }
      if (profile == JsonProfile::python && time && (text == "infinity" || text == "-infinity")) {
        append_json_string(
            out, text == "infinity" ? "9999-12-31T23:59:59.999999" : "0001-01-01T00:00:00");
        return;
      }
      append_json_string(out, text);
      return;
    }
    case oid::bytea:
      if (pg) {
        append_json_string(out, text);
      } else if (node) {
        out += R"({"type":"Buffer","data":[)";
        std::string bytes = bytea_bytes(text);
        for (std::size_t i = 0; i < bytes.size(); ++i) {
          if (i) out += ',';
          out += std::to_string(static_cast<unsigned char>(bytes[i]));
        }
        out += "]}";
      } else {
        append_json_string(out, bytea_bytes(text));
      }
      return;
    default:
      if (unsigned element = types::array_element_type(type)) {
        if (auto parsed = json::parse_pg_array(text)) {
          append_array(out, *parsed, element, profile);
          return;
        }
      }
      append_json_string(out, text);
  }
}

struct Column {
  std::string key;  // escaped, quoted, with the colon
  unsigned type;
};

std::vector<Column> columns_of(const pg_result* r) {
  std::vector<Column> cols;
  int n = PQnfields(r);
  cols.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    Column c;
    append_json_string(c.key, PQfname(r, i));
    c.key += ':';
    c.type = PQftype(r, i);
    cols.push_back(std::move(c));
  }
  return cols;
}

void append_cell(std::string& out, const pg_result* r, int row, int col, unsigned type,
                 JsonProfile profile) {
  if (PQgetisnull(r, row, col)) {
    out += "null";
    return;
  }
  append_value(
      out,
      std::string_view(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col))),
      type, profile, false);
}

void append_row(std::string& out, const pg_result* r, int row, const std::vector<Column>& cols,
                JsonProfile profile) {
  out += '{';
  for (std::size_t c = 0; c < cols.size(); ++c) {
    if (c) out += ',';
    out += cols[c].key;
    append_cell(out, r, row, static_cast<int>(c), cols[c].type, profile);
  }
  out += '}';
}

}  // namespace

void append_json(std::string& out, const QueryResult& result, ResultShape shape,
                 JsonProfile profile) {
  const pg_result* r = result.raw();
  int rows = r ? PQntuples(r) : 0;
  switch (shape) {
    case ResultShape::value:
      if (rows == 0 || PQnfields(r) == 0)
        out += "null";
      else
        append_cell(out, r, 0, 0, PQftype(r, 0), profile);
      return;
    case ResultShape::one: {
      if (rows == 0) {
        out += "null";
        return;
      }
      append_row(out, r, 0, columns_of(r), profile);
      return;
    }
    case ResultShape::many: {
      out += '[';
      if (rows > 0) {
        auto cols = columns_of(r);
        for (int i = 0; i < rows; ++i) {
          if (i) out += ',';
          append_row(out, r, i, cols, profile);
        }
      }
      out += ']';
      return;
    }
  }
}

std::string to_json(const QueryResult& result, ResultShape shape, JsonProfile profile) {
  std::string out;
  append_json(out, result, shape, profile);
  return out;
}

}  // namespace enrich
