#pragma once
// enrich's own DSN parameters. They ride in the same DATABASE_URL as libpq's, so that one
// setting reaches every front end (C++, C, Python, Node, enrich-run), and are removed before
// libpq sees the DSN (libpq rejects parameters it does not know).
//
//   statement_cache=on|off   named prepared statements (see ClientOptions::prepared_statements)
//
// Both DSN forms: `postgresql://...?statement_cache=off` and `host=... statement_cache=off`.

#include <optional>
#include <string>
#include <string_view>

#include "enrich/error.hpp"

namespace enrich::pg {

struct DsnOptions {
  /// The DSN without enrich's parameters, for libpq.
  std::string libpq_dsn;
  /// statement_cache, when the DSN names it.
  std::optional<bool> statement_cache;
};

/// Splits enrich's parameters off `dsn`. invalid_argument for a bad value of one of them. Syntax
/// errors in the rest are left for libpq to report.
Result<DsnOptions> split_dsn_options(std::string_view dsn);

}  // namespace enrich::pg
