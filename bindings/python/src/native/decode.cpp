// Query results to Python values, the way asyncpg decodes them (so an endpoint moved from
// asyncpg returns the same JSON through its response model): int2/4/8 -> int, float4 -> the
// float4 value widened to float, numeric -> Decimal, timestamptz -> UTC-aware datetime,
// timestamp -> naive datetime, date, uuid.UUID, bytea -> bytes, json/jsonb -> str, arrays ->
// (nested) lists, +-infinity dates/timestamps -> date/datetime .max/.min (naive, as asyncpg). The
// text form is in the session's TimeZone (enrich sets none: a pooler would not keep it), moved to
// UTC here, and DateStyle ISO. Rare types (interval, inet, cidr) go through
// enrich._types.decode_text; anything unknown stays its Postgres text as str, as do dates and
// times Python cannot hold (BC, years past 9999).
//
// The type table and the text parsing (dates and times, bytea, array literals) are the core's
// (enrich_type_kind_of, enrich_parse_datetime, ...: the same code as the JSON profiles); this file
// only builds the Python objects.

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

// `module.name`, imported into `slot` on first use (with the GIL, as every decoder runs).
PyObject* call_lazy(py::object& slot, const char* module, const char* name, const char* s,
                    std::size_t n) {
  if (!slot) {
    try {
      slot = py::module_::import(module).attr(name);
    } catch (py::error_already_set& e) {
      e.restore();
      return nullptr;
    }
  }
  return call1(slot, s, n);
}

PyObject* dec_numeric(std::uint32_t, const char* s, std::size_t n) {
  return call_lazy(refs().decimal, "decimal", "Decimal", s, n);
}

PyObject* dec_uuid(std::uint32_t, const char* s, std::size_t n) {
  return call_lazy(refs().uuid, "uuid", "UUID", s, n);
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

PyObject* dec_bytea(std::uint32_t, const char* s, std::size_t n) {
  PyObject* out = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(n));
  if (!out) return nullptr;
  std::size_t len = 0;
  if (enrich_decode_bytea(s, n, PyBytes_AS_STRING(out), &len) != ENRICH_OK) {
    Py_DECREF(out);
    PyErr_SetString(PyExc_ValueError, "malformed bytea value");
    return nullptr;
  }
  if (_PyBytes_Resize(&out, static_cast<Py_ssize_t>(len)) < 0) return nullptr;
  return out;
}

// ---- dates and times
// ------------------------------------------------------------------------------

bool parsed(enrich_type_kind kind, const char* s, std::size_t n, enrich_datetime& t) {
  return enrich_parse_datetime(kind, s, n, 1, &t) == ENRICH_OK;
}

// What the core does not read as a date or time (BC dates, years past 9999, ...) has no Python
// value: asyncpg would fail, enrich gives the text.
PyObject* dec_date(std::uint32_t oid, const char* s, std::size_t n) {
  enrich_datetime t;
  if (!parsed(ENRICH_TYPE_DATE, s, n, t)) return dec_text(oid, s, n);
  if (t.infinity) return t.infinity > 0 ? PyDate_FromDate(9999, 12, 31) : PyDate_FromDate(1, 1, 1);
  if (t.year < 1 || t.year > 9999) return dec_text(oid, s, n);
  return PyDate_FromDate(t.year, t.month, t.day);
}

PyObject* dec_time(std::uint32_t oid, const char* s, std::size_t n) {
  enrich_datetime t;
  if (!parsed(ENRICH_TYPE_TIME, s, n, t) || t.hour > 23) return dec_text(oid, s, n);  // 24:00:00
  return PyTime_FromTime(t.hour, t.minute, t.second, t.microsecond);
}

PyObject* dec_timetz(std::uint32_t oid, const char* s, std::size_t n) {
  enrich_datetime t;
  if (!parsed(ENRICH_TYPE_TIMETZ, s, n, t) || t.hour > 23) return dec_text(oid, s, n);
  PyObject* delta = PyDelta_FromDSU(0, t.offset_seconds, 0);
  if (!delta) return nullptr;
  PyObject* tz = PyTimeZone_FromOffset(delta);
  Py_DECREF(delta);
  if (!tz) return nullptr;
  PyObject* out = PyDateTimeAPI->Time_FromTime(t.hour, t.minute, t.second, t.microsecond, tz,
                                               PyDateTimeAPI->TimeType);
  Py_DECREF(tz);
  return out;
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

PyObject* dec_timestamp_any(std::uint32_t oid, const char* s, std::size_t n, bool aware) {
  enrich_datetime t;
  // The server writes timestamptz in the session's TimeZone (enrich sets none: a pooler would
  // not keep it); the core moves it to UTC.
  if (!parsed(aware ? ENRICH_TYPE_TIMESTAMPTZ : ENRICH_TYPE_TIMESTAMP, s, n, t))
    return dec_text(oid, s, n);
  // asyncpg gives the naive datetime.max / .min for +-infinity, timestamptz included.
  if (t.infinity) return t.infinity > 0 ? datetime_max(false) : datetime_min(false);
  if (t.year < 1 || t.year > 9999) return dec_text(oid, s, n);
  return PyDateTimeAPI->DateTime_FromDateAndTime(
      t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond,
      aware ? PyDateTime_TimeZone_UTC : Py_None, PyDateTimeAPI->DateTimeType);
}

PyObject* dec_timestamp(std::uint32_t oid, const char* s, std::size_t n) {
  return dec_timestamp_any(oid, s, n, false);
}
PyObject* dec_timestamptz(std::uint32_t oid, const char* s, std::size_t n) {
  return dec_timestamp_any(oid, s, n, true);
}

// ---- the core's type table -> decoders
// -------------------------------------------------------------------------

Decoder scalar_decoder(std::uint32_t oid) {
  switch (enrich_type_kind_of(oid)) {
    case ENRICH_TYPE_BOOL:
      return dec_bool;
    case ENRICH_TYPE_BYTEA:
      return dec_bytea;
    case ENRICH_TYPE_INTEGER:
      return dec_int;
    case ENRICH_TYPE_FLOAT4:
      return dec_float4;
    case ENRICH_TYPE_FLOAT8:
      return dec_float8;
    case ENRICH_TYPE_NUMERIC:
      return dec_numeric;
    case ENRICH_TYPE_UUID:
      return dec_uuid;
    case ENRICH_TYPE_DATE:
      return dec_date;
    case ENRICH_TYPE_TIME:
      return dec_time;
    case ENRICH_TYPE_TIMETZ:
      return dec_timetz;
    case ENRICH_TYPE_TIMESTAMP:
      return dec_timestamp;
    case ENRICH_TYPE_TIMESTAMPTZ:
      return dec_timestamptz;
    case ENRICH_TYPE_INTERVAL:
    case ENRICH_TYPE_INET:
    case ENRICH_TYPE_CIDR:
      return dec_slow;
    default:
      return dec_text;  // text, varchar, json, jsonb, xml, enums, and every unknown type
  }
}

// Array literals to nested lists: the core walks the text, this builds the lists.
struct ListBuilder {
  std::uint32_t elem;
  Decoder dec;
  std::vector<PyObject*> stack;  // owned
  PyObject* result = nullptr;    // owned

  ~ListBuilder() {
    for (PyObject* o : stack) Py_DECREF(o);
    Py_XDECREF(result);
  }
  bool append(PyObject* item) {
    if (!item) return false;
    int rc = PyList_Append(stack.back(), item);
    Py_DECREF(item);
    return rc == 0;
  }
  static int begin(void* p) {
    auto* b = static_cast<ListBuilder*>(p);
    PyObject* list = PyList_New(0);
    if (!list) return 1;
    b->stack.push_back(list);
    return 0;
  }
  static int end(void* p) {
    auto* b = static_cast<ListBuilder*>(p);
    PyObject* done = b->stack.back();
    b->stack.pop_back();
    if (b->stack.empty()) {
      b->result = done;
      return 0;
    }
    return b->append(done) ? 0 : 1;
  }
  static int element(void* p, const char* text, std::size_t n) {
    auto* b = static_cast<ListBuilder*>(p);
    if (!text) {
      Py_INCREF(Py_None);
      return b->append(Py_None) ? 0 : 1;
    }
    return b->append(b->dec(b->elem, text, n)) ? 0 : 1;
  }
};

constexpr enrich_array_visitor kListVisitor{&ListBuilder::begin, &ListBuilder::end,
                                            &ListBuilder::element};

PyObject* parse_array(const char* s, std::size_t n, std::uint32_t elem, Decoder dec) {
  ListBuilder b{elem, dec, {}, nullptr};
  enrich_status st = enrich_parse_array(s, n, &kListVisitor, &b);
  if (st == ENRICH_OK && b.result) {
    PyObject* out = b.result;
    b.result = nullptr;
    return out;
  }
  if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "malformed array value");
  return nullptr;
}

struct Column {
  PyObject* name = nullptr;  // owned
  std::uint32_t oid = 0;
  std::uint32_t elem = 0;  // array element type, 0 for scalars
  Decoder dec = dec_text;
};

PyObject* decode_value(const Column& col, const char* s, std::size_t n) {
  if (!col.elem) return col.dec(col.oid, s, n);
  return parse_array(s, n, col.elem, col.dec);  // also with "[0:2]={...}" bounds
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
      cols[i].elem = enrich_array_element_type(cols[i].oid);
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
    col.elem = enrich_array_element_type(col.oid);
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
    case Kind::json:
    case Kind::json_timed: {
      std::size_t len = 0;
      const char* data = enrich_completion_json(c, &len);
      if (kind == Kind::json) return bytes_of(data, len);
      // Asked for: (document, timings JSON). The client's timings option can add timings to
      // runs that did not ask; those get the document alone (Kind::json).
      std::size_t timings_len = 0;
      const char* timings = enrich_completion_timings_json(c, &timings_len);
      return py::make_tuple(bytes_of(data, len),
                            timings ? py::str(timings, timings_len) : py::str("{}"));
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
    py::object error = make_error(enrich_completion_error(c));
    // A failed run that asked for timings: they go with the exception (`_enrich_timings`), so
    // that the plan's span still gets its step spans.
    std::size_t timings_len = 0;
    const char* timings =
        kind == Kind::json_timed ? enrich_completion_timings_json(c, &timings_len) : nullptr;
    if (timings) {
      try {
        error.attr("_enrich_timings") = py::str(timings, timings_len);
      } catch (py::error_already_set&) {  // an exception type without a __dict__: no step spans
      }
    }
    return error;
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
