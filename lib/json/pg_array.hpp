#pragma once
// Parser for Postgres's array text form ({1,2,NULL}, {"a b","c\"d"}, {{1,2},{3,4}}).

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

/// Element type OID of a built-in array type OID, or 0 if `array_oid` is not one we know.
unsigned array_element_type(unsigned array_oid);

}  // namespace enrich::json
