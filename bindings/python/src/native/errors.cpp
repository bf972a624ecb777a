// Errors: every failure becomes an instance of the enrich.Error hierarchy, built by the pure
// Python factory (enrich._errors.from_native) so that the classes live in one place.

#include <cstring>

#include "native.hpp"

namespace enrich_py {

PyRefs& refs() {
  static PyRefs* r = new PyRefs();  // leaked on purpose: see PyRefs
  return *r;
}

namespace {
py::object text(const char* s) {
  if (!s) s = "";
  PyObject* o = PyUnicode_DecodeUTF8(s, static_cast<Py_ssize_t>(std::strlen(s)), "replace");
  if (!o) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(o);
}
}  // namespace

py::object make_error(enrich_status status, const char* message, const char* sqlstate,
                      const char* detail, const char* hint, bool retriable,
                      const enrich_error* error) {
  auto& factory = refs().error_factory;
  if (!factory) {
    PyObject* e = PyObject_CallFunction(PyExc_RuntimeError, "s", message ? message : "");
    if (!e) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(e);
  }
  // The server's further fields, in enrich_diag order (enrich._errors.DIAG_FIELDS).
  py::tuple diag(error ? ENRICH_DIAG_WHERE + 1 : 0);
  for (int i = 0; error && i <= ENRICH_DIAG_WHERE; ++i)
    diag[static_cast<std::size_t>(i)] = text(enrich_error_diag(error, static_cast<enrich_diag>(i)));
  return factory(static_cast<int>(status), enrich_status_name(status), text(message),
                 text(sqlstate), text(detail), text(hint), retriable, diag);
}

py::object make_error(const enrich_error* error) {
  if (!error) return make_error(ENRICH_ERR_INTERNAL, "operation failed without an error object");
  return make_error(enrich_error_code(error), enrich_error_message(error),
                    enrich_error_sqlstate(error), enrich_error_detail(error),
                    enrich_error_hint(error), enrich_error_retriable(error) != 0, error);
}

void raise_error(enrich_status status, const std::string& message) {
  py::object e = make_error(status, message.c_str());
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(e.ptr())), e.ptr());
  throw py::error_already_set();
}

void raise_error(enrich_error* error) {
  py::object e;
  try {
    e = make_error(error);
  } catch (...) {
    enrich_error_free(error);
    throw;
  }
  enrich_error_free(error);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(e.ptr())), e.ptr());
  throw py::error_already_set();
}

}  // namespace enrich_py
