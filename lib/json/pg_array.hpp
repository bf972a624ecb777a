#pragma once
// Postgres's array text form ({1,2,NULL}, {"a b","c\"d"}, {{1,2},{3,4}}) as a tree, for the JSON
// profiles. The parser itself is types::visit_pg_array (lib/types/pg_text.hpp).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enrich::json {

struct PgArrayItem {
  bool is_array = false;
  std::optional<std::string> text;    // element text; nullopt = NULL (when !is_array)
  std::vector<PgArrayItem> children;  // when is_array
};

/// Parses an array literal; nullopt if it is not one this parser understands (for example one
/// with explicit bounds "[0:1]={...}"): the caller then falls back to the plain text.
std::optional<PgArrayItem> parse_pg_array(std::string_view text);

}  // namespace enrich::json
