#pragma once
/// @file
/// Errors as values: every operation of enrich completes with either a value or an `Error`.

#include <array>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "enrich/export.hpp"

namespace enrich {

struct PlanTimings;

/// What went wrong, in categories a caller can act on.
enum class ErrorCode {
  connection,        ///< could not connect, or the connection broke while the operation ran
  timeout,           ///< the operation's timeout or the caller's deadline expired
  cancelled,         ///< cancelled by the caller, or the client was shut down
  pool_timeout,      ///< no connection became available within the pool's acquire timeout
  pool_queue_full,   ///< the pool's wait queue was full; the request was refused at once
  query,             ///< the server rejected the statement (see `Error::sqlstate`)
  invalid_argument,  ///< a parameter, option or input was wrong; nothing was sent
  not_found,         ///< a required row did not exist
  http,              ///< an HTTP transfer failed (protocol error, response too large, redirects)
  circuit_open,      ///< the host's circuit breaker is open; the call was not attempted
  closed,            ///< the object was already closed
  internal,          ///< a bug in enrich; the message says where
};

/// Stable lower-case name of an error code ("pool_timeout", ...).
ENRICH_EXPORT std::string_view to_string(ErrorCode code) noexcept;

/// Further fields of an error reported by Postgres (libpq's PG_DIAG_*), where the server sent
/// them. node-postgres and asyncpg give the same ones.
enum class ErrorField {
  severity,    ///< ERROR, FATAL, PANIC (not localized)
  position,    ///< 1-based character position in the statement text, as a decimal string
  schema,      ///< schema of the object the error is about
  table,       ///< table of the object
  column,      ///< column of the object
  data_type,   ///< data type of the object
  constraint,  ///< constraint that was violated
  where,       ///< call stack context (PL/pgSQL)
};
inline constexpr std::size_t kErrorFieldCount = 8;

/// An error: a code, a human-readable message, and for Postgres errors the SQLSTATE and the
/// server's DETAIL / HINT fields.
struct ENRICH_EXPORT Error {
  Error() = default;
  Error(ErrorCode code_, std::string message_, std::string sqlstate_ = {}, std::string detail_ = {},
        std::string hint_ = {})
      : code(code_),
        message(std::move(message_)),
        sqlstate(std::move(sqlstate_)),
        detail(std::move(detail_)),
        hint(std::move(hint_)) {}

  ErrorCode code = ErrorCode::internal;
  std::string message;
  std::string sqlstate;  ///< five-character SQLSTATE, empty when not a server error
  std::string detail;    ///< server's DETAIL field, if any
  std::string hint;      ///< server's HINT field, if any
  /// The server's other fields (see `ErrorField`), shared and immutable; null when none.
  std::shared_ptr<const std::array<std::string, kErrorFieldCount>> fields;
  /// A failed plan run that asked for timings (RunOptions::timings): where each step's time went
  /// until the run ended (PlanTimings, in enrich/plan.hpp). Null otherwise.
  std::shared_ptr<const PlanTimings> timings;

  /// One of the server's other fields, "" when it did not send it.
  std::string_view field(ErrorField f) const noexcept {
    return fields ? std::string_view((*fields)[static_cast<std::size_t>(f)]) : std::string_view();
  }

  /// True when repeating the same operation later may succeed (connection loss, timeouts,
  /// pool pressure, serialization failures and deadlocks).
  bool retriable() const noexcept;

  /// "code: message [SQLSTATE xxxxx]" — what a log line or exception text should say.
  std::string to_string() const;
};

/// Thrown only by the convenience accessors that cannot return a `Result` (`Result::value()` on
/// an error, typed row accessors on a conversion failure). Carries the `Error`.
class ENRICH_EXPORT Exception : public std::exception {
 public:
  explicit Exception(Error error) : error_(std::move(error)), what_(error_.to_string()) {}
  const Error& error() const noexcept { return error_; }
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  Error error_;
  std::string what_;
};

/// Either a value of type T or an `Error`.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// The value; throws `enrich::Exception` if this holds an error.
  T& value() & {
    check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  T& operator*() & { return value(); }

  /// The error; only valid when `!ok()`.
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  void check() const {
    if (!ok()) throw Exception(std::get<1>(v_));
  }
  std::variant<T, Error> v_;
};

/// Value type for operations that complete without a value.
struct Unit {
  bool operator==(const Unit&) const = default;
};

/// Shorthands that build an `Error`.
ENRICH_EXPORT Error make_error(ErrorCode code, std::string message);

}  // namespace enrich
