#pragma once
// libpq connection keywords derived once from the user's DSN, with client_encoding=UTF8 and a
// default application_name added, and enrich's own parameters (pg/dsn_options.hpp) taken out.

#include <optional>
#include <string>
#include <vector>

#include "enrich/error.hpp"

namespace enrich::pg {

class ConnParams {
 public:
  /// Parses `dsn` (key=value or URI); invalid_argument with libpq's message if it does not parse.
  static Result<ConnParams> parse(const std::string& dsn);

  const char* const* keywords() const { return keyword_ptrs_.data(); }
  const char* const* values() const { return value_ptrs_.data(); }
  /// The DSN with its password removed, for logs and error messages.
  const std::string& redacted() const { return redacted_; }
  /// The DSN's statement_cache=on|off, if it has one.
  std::optional<bool> statement_cache() const { return statement_cache_; }

  ConnParams(const ConnParams& other) { *this = other; }
  ConnParams& operator=(const ConnParams& other);
  ConnParams() = default;

 private:
  void rebuild_pointers();
  std::vector<std::string> keywords_, values_;
  std::vector<const char*> keyword_ptrs_, value_ptrs_;
  std::string redacted_;
  std::optional<bool> statement_cache_;
};

}  // namespace enrich::pg
