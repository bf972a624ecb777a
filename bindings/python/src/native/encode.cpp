// Query parameters: Python values to Postgres text format ($1..$n are sent as text and typed by
// the server from the statement). The common types are handled here; the rest (Decimal,
// datetime, date, time, timedelta, UUID, lists, dicts, ...) by enrich._params.encode.

#include <cmath>
#include <cstring>

#include "native.hpp"

namespace enrich_py {
namespace {

const char kHex[] = "0123456789abcdef";

void bytes_literal(std::string& out, const char* data, std::size_t n) {
  out.reserve(2 + 2 * n);
  out = "\\x";
  for (std::size_t i = 0; i < n; ++i) {
    auto b = static_cast<unsigned char>(data[i]);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
}

[[noreturn]] void bad_param(std::size_t index, py::handle value, const char* why) {
  std::string type = py::str(py::type::handle_of(value).attr("__name__"));
  raise_error(ENRICH_ERR_INVALID_ARGUMENT,
              "parameter $" + std::to_string(index + 1) + " (" + type + "): " + why);
}

}  // namespace

void Params::add(py::handle value, std::size_t index) {
  PyObject* v = value.ptr();
  std::string s;
  bool null = false;
  if (v == Py_None) {
    null = true;
  } else if (PyBool_Check(v)) {
    s = v == Py_True ? "true" : "false";
  } else if (PyLong_Check(v)) {
    PyObject* i = PyNumber_Index(v);  // plain int text also for IntEnum and other subclasses
    if (!i) throw py::error_already_set();
    PyObject* str = PyObject_Str(i);
    Py_DECREF(i);
    if (!str) throw py::error_already_set();
    Py_ssize_t n = 0;
    const char* u = PyUnicode_AsUTF8AndSize(str, &n);
    if (u) s.assign(u, static_cast<std::size_t>(n));
    Py_DECREF(str);
    if (!u) throw py::error_already_set();
  } else if (PyFloat_Check(v)) {
    double d = PyFloat_AS_DOUBLE(v);
    if (std::isnan(d))
      s = "NaN";
    else if (std::isinf(d))
      s = d > 0 ? "Infinity" : "-Infinity";
    else {
      char* r = PyOS_double_to_string(d, 'r', 0, 0, nullptr);  // repr(), shortest round trip
      if (!r) throw py::error_already_set();
      s = r;
      PyMem_Free(r);
    }
  } else if (PyUnicode_Check(v)) {
    Py_ssize_t n = 0;
    const char* u = PyUnicode_AsUTF8AndSize(v, &n);
    if (!u) throw py::error_already_set();
    if (std::memchr(u, '\0', static_cast<std::size_t>(n)))
      bad_param(index, value, "text cannot contain NUL characters");
    s.assign(u, static_cast<std::size_t>(n));
  } else if (PyBytes_Check(v)) {
    bytes_literal(s, PyBytes_AS_STRING(v), static_cast<std::size_t>(PyBytes_GET_SIZE(v)));
  } else if (PyByteArray_Check(v)) {
    bytes_literal(s, PyByteArray_AS_STRING(v), static_cast<std::size_t>(PyByteArray_GET_SIZE(v)));
  } else if (PyMemoryView_Check(v)) {
    py::bytes b = py::reinterpret_borrow<py::object>(value).attr("tobytes")();
    std::string_view view = b;
    bytes_literal(s, view.data(), view.size());
  } else {
    py::object r;
    try {
      r = refs().slow_encode(value);
    } catch (py::error_already_set& e) {
      if (e.matches(PyExc_TypeError) || e.matches(PyExc_ValueError))
        bad_param(index, value, py::str(e.value()).cast<std::string>().c_str());
      throw;
    }
    if (r.is_none()) {
      null = true;
    } else {
      s = r.cast<std::string>();
      if (s.find('\0') != std::string::npos)
        bad_param(index, value, "text cannot contain NUL characters");
    }
  }
  storage.push_back(std::move(s));
  nulls.push_back(null);
}

void Params::from(py::handle sequence) {
  if (sequence.is_none()) return;
  py::sequence seq = py::reinterpret_borrow<py::sequence>(sequence);
  std::size_t n = seq.size();
  storage.reserve(n);
  nulls.reserve(n);
  for (std::size_t i = 0; i < n; ++i) add(seq[i], i);
}

const char* const* Params::data() {
  // Built at the last moment: the strings may have moved since they were added.
  pointers.resize(storage.size());
  for (std::size_t i = 0; i < storage.size(); ++i)
    pointers[i] = nulls[i] ? nullptr : storage[i].c_str();
  return pointers.data();
}

}  // namespace enrich_py
