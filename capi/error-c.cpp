// Errors, status names, versions and buffers.

#include <cstdlib>

#include "capi_internal.hpp"
#include "enrich/version.hpp"

using namespace enrich::capi;

namespace enrich::capi {

enrich_status to_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::connection:
      return ENRICH_ERR_CONNECTION;
    case ErrorCode::timeout:
      return ENRICH_ERR_TIMEOUT;
    case ErrorCode::cancelled:
      return ENRICH_ERR_CANCELLED;
    case ErrorCode::pool_timeout:
      return ENRICH_ERR_POOL_TIMEOUT;
    case ErrorCode::pool_queue_full:
      return ENRICH_ERR_POOL_QUEUE_FULL;
    case ErrorCode::query:
      return ENRICH_ERR_QUERY;
    case ErrorCode::invalid_argument:
      return ENRICH_ERR_INVALID_ARGUMENT;
    case ErrorCode::not_found:
      return ENRICH_ERR_NOT_FOUND;
    case ErrorCode::http:
      return ENRICH_ERR_HTTP;
    case ErrorCode::circuit_open:
      return ENRICH_ERR_CIRCUIT_OPEN;
    case ErrorCode::closed:
      return ENRICH_ERR_CLOSED;
    case ErrorCode::internal:
      return ENRICH_ERR_INTERNAL;
  }
  return ENRICH_ERR_INTERNAL;
}

enrich_error* new_error(const Error& error) {
  auto* e = new enrich_error;
  e->code = to_status(error.code);
  e->message = error.message;
  e->sqlstate = error.sqlstate;
  e->detail = error.detail;
  e->hint = error.hint;
  if (error.fields) e->diag = *error.fields;
  e->retriable = error.retriable();
  return e;
}

}  // namespace enrich::capi

extern "C" {

int enrich_version(void) {
  return ENRICH_VERSION_HEX;
}
const char* enrich_version_string(void) {
  return ENRICH_VERSION_STRING;
}

const char* enrich_status_name(enrich_status status) {
  switch (status) {
    case ENRICH_OK:
      return "ok";
    case ENRICH_ERR_CONNECTION:
      return "connection";
    case ENRICH_ERR_TIMEOUT:
      return "timeout";
    case ENRICH_ERR_CANCELLED:
      return "cancelled";
    case ENRICH_ERR_POOL_TIMEOUT:
      return "pool_timeout";
    case ENRICH_ERR_POOL_QUEUE_FULL:
      return "pool_queue_full";
    case ENRICH_ERR_QUERY:
      return "query";
    case ENRICH_ERR_INVALID_ARGUMENT:
      return "invalid_argument";
    case ENRICH_ERR_NOT_FOUND:
      return "not_found";
    case ENRICH_ERR_HTTP:
      return "http";
    case ENRICH_ERR_CIRCUIT_OPEN:
      return "circuit_open";
    case ENRICH_ERR_CLOSED:
      return "closed";
    case ENRICH_ERR_INTERNAL:
      return "internal";
    case ENRICH_ERR_NO_MEMORY:
      return "no_memory";
  }
  return "unknown";
}

enrich_status enrich_error_code(const enrich_error* error) {
  return (error = resolve(error)) ? error->code : ENRICH_ERR_INVALID_ARGUMENT;
}
const char* enrich_error_message(const enrich_error* error) {
  return (error = resolve(error)) ? error->message.c_str() : "";
}
const char* enrich_error_sqlstate(const enrich_error* error) {
  return (error = resolve(error)) ? error->sqlstate.c_str() : "";
}
const char* enrich_error_detail(const enrich_error* error) {
  return (error = resolve(error)) ? error->detail.c_str() : "";
}
const char* enrich_error_hint(const enrich_error* error) {
  return (error = resolve(error)) ? error->hint.c_str() : "";
}
const char* enrich_error_diag(const enrich_error* error, enrich_diag field) {
  auto i = static_cast<std::size_t>(field);
  if (!(error = resolve(error)) || i >= error->diag.size()) return nullptr;
  return error->diag[i].c_str();
}
int enrich_error_retriable(const enrich_error* error) {
  return (error = resolve(error)) && error->retriable ? 1 : 0;
}
void enrich_error_free(enrich_error* handle) {
  // Errors owned by a completion are freed with it (enrich_completion_free), not here.
  auto* error = resolve(handle);
  if (!error || error->owned_by_completion) return;
  retire(handle);
}

void enrich_free(void* buffer) {
  std::free(buffer);
}

}  // extern "C"
