#include "enrich/error.hpp"

#include <fmt/format.h>

#include "enrich/future.hpp"

namespace enrich {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::connection:
      return "connection";
    case ErrorCode::timeout:
      return "timeout";
    case ErrorCode::cancelled:
      return "cancelled";
    case ErrorCode::pool_timeout:
      return "pool_timeout";
    case ErrorCode::pool_queue_full:
      return "pool_queue_full";
    case ErrorCode::query:
      return "query";
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::http:
      return "http";
    case ErrorCode::circuit_open:
      return "circuit_open";
    case ErrorCode::closed:
      return "closed";
    case ErrorCode::internal:
      return "internal";
  }
  return "unknown";
}

bool Error::retriable() const noexcept {
  switch (code) {
    case ErrorCode::connection:
    case ErrorCode::timeout:
    case ErrorCode::pool_timeout:
    case ErrorCode::pool_queue_full:
    case ErrorCode::circuit_open:
      return true;
    case ErrorCode::query:
      // serialization_failure, deadlock_detected, and the class of "the server is going away".
      return sqlstate == "40001" || sqlstate == "40P01" || sqlstate.starts_with("57P") ||
             sqlstate.starts_with("08");
    default:
      return false;
  }
}

std::string Error::to_string() const {
  std::string out = fmt::format("{}: {}", enrich::to_string(code), message);
  if (!sqlstate.empty()) out += fmt::format(" [SQLSTATE {}]", sqlstate);
  return out;
}

Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

namespace detail {
Error error_from_current_exception() {
  try {
    throw;
  } catch (const Exception& e) {
    return e.error();
  } catch (const std::exception& e) {
    return Error{ErrorCode::internal, fmt::format("exception in continuation: {}", e.what())};
  } catch (...) {
    return Error{ErrorCode::internal, "unknown exception in continuation"};
  }
}
}  // namespace detail

}  // namespace enrich
