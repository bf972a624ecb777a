// Completion accessors.

#include <libpq-fe.h>

#include <cstdlib>
#include <cstring>

#include "capi_internal.hpp"

using namespace enrich::capi;

namespace {
const pg_result* rows(const enrich_completion* handle) {
  const enrich_completion* c = resolve(handle);
  return c ? c->rows.raw() : nullptr;
}
}  // namespace

extern "C" {

enrich_completion_kind enrich_completion_kind_of(const enrich_completion* c) {
  return (c = resolve(c)) ? c->kind : static_cast<enrich_completion_kind>(0);
}
enrich_op_id enrich_completion_id(const enrich_completion* c) {
  return (c = resolve(c)) ? c->id : 0;
}
void* enrich_completion_user_data(const enrich_completion* c) {
  return (c = resolve(c)) ? c->user_data : nullptr;
}

enrich_status enrich_completion_status(const enrich_completion* c) {
  if (!(c = resolve(c))) return ENRICH_ERR_INVALID_ARGUMENT;
  return c->error ? c->error->code : ENRICH_OK;
}

const enrich_error* enrich_completion_error(const enrich_completion* c) {
  return (c = resolve(c)) ? c->error_handle : nullptr;
}

const char* enrich_completion_json(const enrich_completion* c, size_t* length) {
  if (!(c = resolve(c)) || !c->has_json) {
    if (length) *length = 0;
    return nullptr;
  }
  if (length) *length = c->json.size();
  return c->json.c_str();
}

const char* enrich_completion_timings_json(const enrich_completion* c, size_t* length) {
  if (!(c = resolve(c)) || c->timings_json.empty()) {
    if (length) *length = 0;
    return nullptr;
  }
  if (length) *length = c->timings_json.size();
  return c->timings_json.c_str();
}

enrich_status enrich_completion_take_json(enrich_completion* c, char** out, size_t* length) {
  if (!(c = resolve(c)) || !out) return ENRICH_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (length) *length = 0;
  if (!c->has_json) return ENRICH_ERR_NOT_FOUND;
  if (enrich_status s = copy_out(c->json, out); s != ENRICH_OK) return s;
  if (length) *length = c->json.size();
  c->json.clear();
  c->json.shrink_to_fit();
  c->has_json = false;
  return ENRICH_OK;
}

size_t enrich_completion_warning_count(const enrich_completion* c) {
  return (c = resolve(c)) ? c->warnings.size() : 0;
}
const char* enrich_completion_warning(const enrich_completion* c, size_t index) {
  if (!(c = resolve(c)) || index >= c->warnings.size()) return nullptr;
  return c->warnings[index].c_str();
}
double enrich_completion_elapsed_ms(const enrich_completion* c) {
  return (c = resolve(c)) ? c->elapsed_ms : 0;
}

size_t enrich_completion_rows(const enrich_completion* c) {
  auto* r = rows(c);
  return r ? static_cast<size_t>(PQntuples(r)) : 0;
}
size_t enrich_completion_columns(const enrich_completion* c) {
  auto* r = rows(c);
  return r ? static_cast<size_t>(PQnfields(r)) : 0;
}
const char* enrich_completion_column_name(const enrich_completion* c, size_t column) {
  if (column >= enrich_completion_columns(c)) return nullptr;
  return PQfname(rows(c), static_cast<int>(column));
}
uint32_t enrich_completion_column_type(const enrich_completion* c, size_t column) {
  if (column >= enrich_completion_columns(c)) return 0;
  return PQftype(rows(c), static_cast<int>(column));
}
int enrich_completion_is_null(const enrich_completion* c, size_t row, size_t column) {
  if (row >= enrich_completion_rows(c) || column >= enrich_completion_columns(c)) return 1;
  return PQgetisnull(rows(c), static_cast<int>(row), static_cast<int>(column)) ? 1 : 0;
}
const char* enrich_completion_value(const enrich_completion* c, size_t row, size_t column,
                                    size_t* length) {
  if (length) *length = 0;
  if (enrich_completion_is_null(c, row, column)) return nullptr;
  int r = static_cast<int>(row), k = static_cast<int>(column);
  if (length) *length = static_cast<size_t>(PQgetlength(rows(c), r, k));
  return PQgetvalue(rows(c), r, k);
}
int64_t enrich_completion_affected_rows(const enrich_completion* c) {
  return (c = resolve(c)) && c->rows.raw() ? c->rows.affected_rows() : 0;
}
const char* enrich_completion_command_tag(const enrich_completion* c) {
  // QueryResult's tag is the result's own or a std::string the library made: NUL-terminated.
  return (c = resolve(c)) && c->rows.raw() ? c->rows.command_tag().data() : "";
}

const char* enrich_completion_body(const enrich_completion* c, size_t* length) {
  if (!(c = resolve(c)) || c->kind != ENRICH_COMPLETION_HTTP || !c->has_json) {
    if (length) *length = 0;
    return nullptr;
  }
  if (length) *length = c->json.size();
  return c->json.data();
}

long enrich_completion_http_status(const enrich_completion* c) {
  return (c = resolve(c)) ? c->http_status : 0;
}
size_t enrich_completion_http_header_count(const enrich_completion* c) {
  return (c = resolve(c)) ? c->headers.size() : 0;
}
enrich_status enrich_completion_http_header(const enrich_completion* c, size_t index,
                                            const char** name, const char** value) {
  if (!(c = resolve(c)) || !name || !value) return ENRICH_ERR_INVALID_ARGUMENT;
  if (index >= c->headers.size()) return ENRICH_ERR_NOT_FOUND;
  *name = c->headers[index].first.c_str();
  *value = c->headers[index].second.c_str();
  return ENRICH_OK;
}

enrich_tx* enrich_completion_take_tx(enrich_completion* c) {
  if (!(c = resolve(c)) || !c->tx) return nullptr;
  return guarded_or<enrich_tx*>(nullptr, [&] { return publish(c->tx.release()); });
}

enrich_status enrich_completion_log(const enrich_completion* c, enrich_log_level* level,
                                    const char** event, const char** fields_json) {
  if (!(c = resolve(c)) || c->kind != ENRICH_COMPLETION_LOG) return ENRICH_ERR_INVALID_ARGUMENT;
  if (level) *level = c->log_level;
  if (event) *event = c->log_event.c_str();
  if (fields_json) *fields_json = c->log_fields.c_str();
  return ENRICH_OK;
}

void enrich_completion_free(enrich_completion* handle) {
  auto c = retire(handle);  // a second free finds nothing
  if (!c) return;
  if (c->error_handle) retire(c->error_handle).release();  // the error is the completion's
  try {
    c.reset();  // rolls back a transaction nobody took
  } catch (...) {
  }
}

}  // extern "C"
