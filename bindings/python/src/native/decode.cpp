// Query results to Python values, the way asyncpg decodes them (so an endpoint moved from
// asyncpg returns the same JSON through its response model): int2/4/8 -> int, float4 -> the
// float4 value widened to float, numeric -> Decimal, timestamptz -> UTC-aware datetime,
// timestamp -> naive datetime, date, uuid.UUID, bytea -> bytes, json/jsonb -> str, arrays ->
// (nested) lists, +-infinity dates/timestamps -> date/datetime .max/.min (naive, as asyncpg). The
// text form is in the session's TimeZone (enrich sets none: a pooler would not keep it), moved to
// UTC here, and DateStyle ISO. Rare types (time with time zone, interval, inet, ...) go through
// enrich._types.decode_text; anything unknown stays its Postgres text as str.

// clang-format off
#include "native.hpp"  // first: Python.h before datetime.h
// clang-format on
#include <datetime.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace enrich_py {
namespace {

using Decoder = PyObject* (*)(std::uint32_t oid, const char* s, std::size_t n);

PyObject* dec_text(std::uint32_t, const char* s, std::size_t n) {
  return PyUnicode_DecodeUTF8(s, static_cast<Py_ssize_t>(n), "replace");
}

PyObject* dec_bool(std::uint32_t, const char* s, std::size_t n) {
  return PyBool_FromLong(n > 0 && (s[0] == 't' || s[0] == 'T'));
}

PyObject* dec_int(std::uint32_t, const char* s, std::size_t n) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s, s + n, v);
  if (ec == std::errc() && p == s + n) return PyLong_FromLongLong(v);
  std::string copy(s, n);
  return PyLong_FromString(copy.c_str(), nullptr, 10);
}

PyObject* dec_float8(std::uint32_t, const char* s, std::size_t n) {
  std::string copy(s, n);  // strtod needs a terminator; also parses Infinity / NaN
  return PyFloat_FromDouble(std::strtod(copy.c_str(), nullptr));
}

PyObject* dec_float4(std::uint32_t, const char* s, std::size_t n) {
  // asyncpg reads the 4-byte float and widens it: 3.1 becomes 3.0999999046325684.
  std::string copy(s, n);
  return PyFloat_FromDouble(static_cast<double>(std::strtof(copy.c_str(), nullptr)));
}

PyObject* call1(const py::object& f, const char* s, std::size_t n) {
  PyObject* arg = PyUnicode_DecodeUTF8(s, static_cast<Py_ssize_t>(n), "replace");
  if (!arg) return nullptr;
  PyObject* r = PyObject_CallOneArg(f.ptr(), arg);
  Py_DECREF(arg);
  return r;
}

PyObject* dec_numeric(std::uint32_t, const char* s, std::size_t n) {
  return call1(refs().decimal, s, n);
}

PyObject* dec_uuid(std::uint32_t, const char* s, std::size_t n) {
  return call1(refs().uuid, s, n);
}

PyObject* dec_slow(std::uint32_t oid, const char* s, std::size_t n) {
  PyObject* text = PyUnicode_DecodeUTF8(s, static_cast<Py_ssize_t>(n), "replace");
  if (!text) return nullptr;
  PyObject* o = PyLong_FromUnsignedLong(oid);
  if (!o) {
    Py_DECREF(text);
    return nullptr;
  }
  PyObject* r = PyObject_CallFunctionObjArgs(refs().slow_decode.ptr(), o, text, nullptr);
  Py_DECREF(o);
  Py_DECREF(text);
  return r;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

PyObject* dec_bytea(std::uint32_t, const char* s, std::size_t n) {
  std::string out;
  if (n >= 2 && s[0] == '\\' && s[1] == 'x') {
    out.reserve((n - 2) / 2);
    for (std::size_t i = 2; i + 1 < n; i += 2) {
      int hi = hexval(s[i]), lo = hexval(s[i + 1]);
      if (hi < 0 || lo < 0) {
        PyErr_SetString(PyExc_ValueError, "malformed bytea value");
        return nullptr;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
    }
  } else {  // bytea_output = escape: \\ and \ooo octal
    for (std::size_t i = 0; i < n; ++i) {
      if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\\') {
        out.push_back('\\');
        ++i;
      } else if (s[i] == '\\' && i + 3 < n) {
        out.push_back(
            static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
        i += 3;
      } else {
        out.push_back(s[i]);
      }
    }
  }
  return PyBytes_FromStringAndSize(out.data(), static_cast<Py_ssize_t>(out.size()));
}

// ---- dates and times
// ------------------------------------------------------------------------------

struct Cursor {
  const char* p;
  const char* end;
  bool digits(int count, int& out) {
    out = 0;
    for (int i = 0; i < count; ++i) {
      if (p >= end || *p < '0' || *p > '9') return false;
      out = out * 10 + (*p++ - '0');
    }
    return true;
  }
  bool lit(char c) {
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }
};

struct Stamp {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, usec = 0;
  int offset_seconds = 0;
  bool has_offset = false;
};

// "YYYY-MM-DD" (year may have more digits; those and BC dates are left to the slow path).
bool parse_date(Cursor& c, Stamp& t) {
  // Postgres writes years past 9999 with more digits; one such timestamptz can still be a year
  // 9999 instant once moved to UTC.
  if (!c.digits(4, t.year)) return false;
  for (int extra = 0; c.p < c.end && *c.p >= '0' && *c.p <= '9'; ++extra) {
    if (extra == 2) return false;
    t.year = t.year * 10 + (*c.p++ - '0');
  }
  return c.lit('-') && c.digits(2, t.month) && c.lit('-') && c.digits(2, t.day);
}

// "HH:MM:SS[.ffffff]"
bool parse_time(Cursor& c, Stamp& t) {
  if (!(c.digits(2, t.hour) && c.lit(':') && c.digits(2, t.minute) && c.lit(':') &&
        c.digits(2, t.second)))
    return false;
  if (c.lit('.')) {
    int scale = 100000, count = 0;
    while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
      if (count < 6) t.usec += (*c.p - '0') * scale;
      scale /= 10;
      ++count;
      ++c.p;
    }
    if (count == 0) return false;
  }
  return t.hour < 24;
}

// "+HH[:MM[:SS]]"
bool parse_offset(Cursor& c, Stamp& t) {
  if (c.p >= c.end) return true;
  int sign = *c.p == '+' ? 1 : *c.p == '-' ? -1 : 0;
  if (!sign) return false;
  ++c.p;
  int h = 0, m = 0, s = 0;
  if (!c.digits(2, h)) return false;
  if (c.lit(':') && !c.digits(2, m)) return false;
  if (c.lit(':') && !c.digits(2, s)) return false;
  t.offset_seconds = sign * (h * 3600 + m * 60 + s);
  t.has_offset = true;
  return true;
}

bool is(const char* s, std::size_t n, std::string_view word) {
  return std::string_view(s, n) == word;
}

PyObject* dec_date(std::uint32_t oid, const char* s, std::size_t n) {
  if (is(s, n, "infinity")) return PyDate_FromDate(9999, 12, 31);
  if (is(s, n, "-infinity")) return PyDate_FromDate(1, 1, 1);
  Cursor c{s, s + n};
  Stamp t;
  if (!parse_date(c, t) || c.p != c.end || t.year < 1 || t.year > 9999) return dec_slow(oid, s, n);
  return PyDate_FromDate(t.year, t.month, t.day);
}

PyObject* dec_time(std::uint32_t oid, const char* s, std::size_t n) {
  Cursor c{s, s + n};
  Stamp t;
  if (!parse_time(c, t) || c.p != c.end) return dec_slow(oid, s, n);
  return PyTime_FromTime(t.hour, t.minute, t.second, t.usec);
}

PyObject* datetime_max(bool aware) {
  return PyDateTimeAPI->DateTime_FromDateAndTime(9999, 12, 31, 23, 59, 59, 999999,
                                                 aware ? PyDateTime_TimeZone_UTC : Py_None,
                                                 PyDateTimeAPI->DateTimeType);
}
PyObject* datetime_min(bool aware) {
  return PyDateTimeAPI->DateTime_FromDateAndTime(
      1, 1, 1, 0, 0, 0, 0, aware ? PyDateTime_TimeZone_UTC : Py_None, PyDateTimeAPI->DateTimeType);
}

// Days since 1970-01-01 of a proleptic Gregorian date and back (Howard Hinnant's algorithms).
long long days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

void civil_from_days(long long z, int& y, int& m, int& d) {
  z += 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yoe) + static_cast<int>(era) * 400 + (m <= 2);
}

// The wall clock of `t` moved to UTC (the server writes timestamptz in the session's TimeZone,
// which enrich does not set: a pooler would not let it).
void to_utc(Stamp& t) {
  long long secs = days_from_civil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.minute * 60 +
                   t.second - t.offset_seconds;
  long long days = secs / 86400 - (secs % 86400 < 0 ? 1 : 0);
  long long rest = secs - days * 86400;
  civil_from_days(days, t.year, t.month, t.day);
  t.hour = static_cast<int>(rest / 3600);
  t.minute = static_cast<int>(rest / 60 % 60);
  t.second = static_cast<int>(rest % 60);
  t.offset_seconds = 0;
}

PyObject* dec_timestamp_any(std::uint32_t oid, const char* s, std::size_t n, bool aware) {
  // asyncpg gives the naive datetime.max / .min for +-infinity, timestamptz included.
  if (is(s, n, "infinity")) return datetime_max(false);
  if (is(s, n, "-infinity")) return datetime_min(false);
  Cursor c{s, s + n};
  Stamp t;
  if (!parse_date(c, t) || !c.lit(' ') || !parse_time(c, t) || !parse_offset(c, t) ||
      c.p != c.end || t.year < 1)
    return dec_slow(oid, s, n);
  if (aware && t.has_offset && t.offset_seconds != 0) to_utc(t);
  if (t.year > 9999) return dec_slow(oid, s, n);  // not a datetime: as the slow path decides
  return PyDateTimeAPI->DateTime_FromDateAndTime(t.year, t.month, t.day, t.hour, t.minute, t.second,
                                                 t.usec, aware ? PyDateTime_TimeZone_UTC : Py_None,
                                                 PyDateTimeAPI->DateTimeType);
}

PyObject* dec_timestamp(std::uint32_t oid, const char* s, std::size_t n) {
  return dec_timestamp_any(oid, s, n, false);
}
PyObject* dec_timestamptz(std::uint32_t oid, const char* s, std::size_t n) {
  return dec_timestamp_any(oid, s, n, true);
}

// ---- type table
// -------------------------------------------------------------------------------------

Decoder scalar_decoder(std::uint32_t oid) {
  switch (oid) {
    case 16:
      return dec_bool;
    case 17:
      return dec_bytea;
    case 20:
    case 21:
    case 23:
    case 26:
    case 28:
      return dec_int;  // int8 int2 int4 oid xid
    case 700:
      return dec_float4;
    case 701:
      return dec_float8;
    case 1700:
      return dec_numeric;
    case 2950:
      return dec_uuid;
    case 1082:
      return dec_date;
    case 1083:
      return dec_time;
    case 1114:
      return dec_timestamp;
    case 1184:
      return dec_timestamptz;
    case 1186:  // interval
    case 1266:  // timetz
    case 869:   // inet
    case 650:   // cidr
      return dec_slow;
    default:
      return dec_text;  // text, varchar, json, jsonb, enums, and every unknown type
  }
}

/// Element type of an array type, 0 when `oid` is not a known array type.
std::uint32_t array_element(std::uint32_t oid) {
  switch (oid) {
    case 1000:
      return 16;
    case 1001:
      return 17;
    case 1002:
      return 18;
    case 1003:
      return 19;
    case 1005:
      return 21;
    case 1007:
      return 23;
    case 1009:
      return 25;
    case 1014:
      return 1042;
    case 1015:
      return 1043;
    case 1016:
      return 20;
    case 1021:
      return 700;
    case 1022:
      return 701;
    case 1028:
      return 26;
    case 1115:
      return 1114;
    case 1182:
      return 1082;
    case 1183:
      return 1083;
    case 1185:
      return 1184;
    case 1187:
      return 1186;
    case 1231:
      return 1700;
    case 1270:
      return 1266;
    case 2951:
      return 2950;
    case 199:
      return 114;
    case 3807:
      return 3802;
    case 1041:
      return 869;
    case 651:
      return 650;
    case 143:
      return 142;
    default:
      return 0;
  }
}

// Array text: {a,"b c",NULL,{nested}} with an optional "[lo:hi]=" dimension prefix.
PyObject* parse_array(const char*& p, const char* end, std::uint32_t elem, Decoder dec) {
  if (p >= end || *p != '{') {
    PyErr_SetString(PyExc_ValueError, "malformed array value");
    return nullptr;
  }
  ++p;
  PyObject* list = PyList_New(0);
  if (!list) return nullptr;
  if (p < end && *p == '}') {
    ++p;
    return list;
  }
  std::string buf;
  for (;;) {
    PyObject* item = nullptr;
    if (p < end && *p == '{') {
      item = parse_array(p, end, elem, dec);
    } else if (p < end && *p == '"') {
      ++p;
      buf.clear();
      while (p < end && *p != '"') {
        if (*p == '\\' && p + 1 < end) ++p;
        buf.push_back(*p++);
      }
      if (p < end) ++p;  // closing quote
      item = dec(elem, buf.c_str(), buf.size());
    } else {
      const char* start = p;
      while (p < end && *p != ',' && *p != '}') ++p;
      std::string_view token(start, static_cast<std::size_t>(p - start));
      if (token == "NULL") {
        Py_INCREF(Py_None);
        item = Py_None;
      } else {
        buf.assign(token);
        item = dec(elem, buf.c_str(), buf.size());
      }
    }
    if (!item || PyList_Append(list, item) < 0) {
      Py_XDECREF(item);
      Py_DECREF(list);
      return nullptr;
    }
    Py_DECREF(item);
    if (p < end && *p == ',') {
      ++p;
      continue;
    }
    if (p < end && *p == '}') {
      ++p;
      return list;
    }
    Py_DECREF(list);
    PyErr_SetString(PyExc_ValueError, "malformed array value");
    return nullptr;
  }
}

struct Column {
  PyObject* name = nullptr;  // owned
  std::uint32_t oid = 0;
  std::uint32_t elem = 0;  // array element type, 0 for scalars
  Decoder dec = dec_text;
};

PyObject* decode_value(const Column& col, const char* s, std::size_t n) {
  if (!col.elem) return col.dec(col.oid, s, n);
  const char* p = s;
  const char* end = s + n;
  if (p < end && *p == '[') {  // non-default lower bounds: "[0:2]={...}"
    while (p < end && *p != '=') ++p;
    if (p < end) ++p;
  }
  return parse_array(p, end, col.elem, col.dec);
}

struct Columns {
  std::vector<Column> cols;
  explicit Columns(const enrich_completion* c) {
    std::size_t n = enrich_completion_columns(c);
    cols.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const char* name = enrich_completion_column_name(c, i);
      cols[i].name =
          PyUnicode_DecodeUTF8(name, static_cast<Py_ssize_t>(std::strlen(name)), "replace");
      if (!cols[i].name) throw py::error_already_set();
      PyUnicode_InternInPlace(&cols[i].name);
      cols[i].oid = enrich_completion_column_type(c, i);
      cols[i].elem = array_element(cols[i].oid);
      cols[i].dec = scalar_decoder(cols[i].elem ? cols[i].elem : cols[i].oid);
    }
  }
  ~Columns() {
    for (auto& c : cols) Py_XDECREF(c.name);
  }
};

PyObject* cell(const enrich_completion* c, const Column& col, std::size_t row, std::size_t column) {
  std::size_t len = 0;
  const char* v = enrich_completion_value(c, row, column, &len);
  if (!v) {
    Py_INCREF(Py_None);
    return Py_None;
  }
  return decode_value(col, v, len);
}

PyObject* row_dict(const enrich_completion* c, const Columns& cols, std::size_t row) {
  PyObject* d = PyDict_New();
  if (!d) return nullptr;
  for (std::size_t k = 0; k < cols.cols.size(); ++k) {
    PyObject* v = cell(c, cols.cols[k], row, k);
    if (!v || PyDict_SetItem(d, cols.cols[k].name, v) < 0) {
      Py_XDECREF(v);
      Py_DECREF(d);
      return nullptr;
    }
    Py_DECREF(v);
  }
  return d;
}

py::object steal(PyObject* o) {
  if (!o) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(o);
}

py::object decode_rows(const enrich_completion* c, Kind kind) {
  std::size_t nrows = enrich_completion_rows(c);
  std::size_t ncols = enrich_completion_columns(c);
  if (kind == Kind::value) {
    if (nrows == 0 || ncols == 0) return py::none();
    Column col;
    col.oid = enrich_completion_column_type(c, 0);
    col.elem = array_element(col.oid);
    col.dec = scalar_decoder(col.elem ? col.elem : col.oid);
    return steal(cell(c, col, 0, 0));
  }
  Columns cols(c);
  if (kind == Kind::one) {
    if (nrows == 0) return py::none();
    return steal(row_dict(c, cols, 0));
  }
  py::object list = steal(PyList_New(static_cast<Py_ssize_t>(nrows)));
  for (std::size_t r = 0; r < nrows; ++r) {
    PyObject* d = row_dict(c, cols, r);
    if (!d) throw py::error_already_set();
    PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(r), d);
  }
  return list;
}

py::object bytes_of(const char* data, std::size_t len) {
  return steal(PyBytes_FromStringAndSize(data ? data : "", static_cast<Py_ssize_t>(len)));
}

}  // namespace

void init_decode() {
  PyDateTime_IMPORT;
  if (!PyDateTimeAPI) throw py::error_already_set();
}

py::object decode_completion(enrich_completion* c, Kind kind) {
  switch (kind) {
    case Kind::rows:
    case Kind::one:
    case Kind::value:
      return decode_rows(c, kind);
    case Kind::execute: {
      const char* tag = enrich_completion_command_tag(c);
      return py::str(tag ? tag : "");
    }
    case Kind::json: {
      std::size_t len = 0;
      const char* data = enrich_completion_json(c, &len);
      return bytes_of(data, len);
    }
    case Kind::http: {
      std::size_t len = 0;
      const char* body = enrich_completion_json(c, &len);
      std::size_t count = enrich_completion_http_header_count(c);
      py::list headers;
      for (std::size_t i = 0; i < count; ++i) {
        const char* name = nullptr;
        const char* value = nullptr;
        if (enrich_completion_http_header(c, i, &name, &value) != ENRICH_OK) continue;
        headers.append(py::make_tuple(steal(dec_text(0, name, std::strlen(name))),
                                      steal(dec_text(0, value, std::strlen(value)))));
      }
      return py::make_tuple(enrich_completion_http_status(c), std::move(headers),
                            bytes_of(body, len), enrich_completion_elapsed_ms(c));
    }
    case Kind::tx_begin: {
      auto tx = std::make_shared<NativeTx>();
      tx->handle = enrich_completion_take_tx(c);
      if (!tx->handle) raise_error(ENRICH_ERR_INTERNAL, "transaction completion without a handle");
      return py::cast(tx);
    }
    case Kind::tx_end:
      return py::none();
  }
  return py::none();
}

py::object outcome(enrich_completion* c, Kind kind, bool& is_error) {
  if (enrich_completion_status(c) != ENRICH_OK) {
    is_error = true;
    return make_error(enrich_completion_error(c));
  }
  try {
    is_error = false;
    return decode_completion(c, kind);
  } catch (py::error_already_set& e) {
    is_error = true;
    return e.value();
  }
}

}  // namespace enrich_py
