#pragma once
// JSON documents (from HTTP responses, json/jsonb columns) re-serialized the way each host
// runtime would after parsing them: JSON.parse + JSON.stringify, json.loads + json.dumps.

#include <string>
#include <string_view>

#include "enrich/json.hpp"
#include "json/value.hpp"

namespace enrich::json {

/// JSON.stringify(JSON.parse(...)): numbers as JS doubles, a repeated key keeps its first
/// position and last value, array-index keys first in ascending order.
void append_js_json(std::string& out, const Value& value);

/// The same for a json or jsonb value's text, in one pass and without building a tree, when
/// nothing in it needs the tree: keys unique (jsonb's always are), none an array index, strings
/// without escapes,
/// numbers whose text is already what JSON.stringify writes (at most 15 digits, no exponent, no
/// trailing fraction zeros). Returns false with `out` unchanged otherwise; then parse it.
bool append_js_json_text(std::string& out, std::string_view text);

/// json.dumps(json.loads(...)): integers exact, other numbers as Python floats, a repeated key
/// keeps its first position and last value.
void append_python_json(std::string& out, const Value& value);

/// The document as the profile's host would re-serialize it (postgres: compact, as parsed).
void append_profile_json(std::string& out, const Value& value, JsonProfile profile);

}  // namespace enrich::json
