#pragma once
// JSON documents (from HTTP responses, json/jsonb columns) re-serialized the way each host
// runtime would after parsing them: JSON.parse + JSON.stringify, json.loads + json.dumps.

#include <string>

#include "enrich/json.hpp"
#include "json/value.hpp"

namespace enrich::json {

/// JSON.stringify(JSON.parse(...)): numbers as JS doubles, a repeated key keeps its first
/// position and last value, array-index keys first in ascending order.
void append_js_json(std::string& out, const Value& value);

/// json.dumps(json.loads(...)): integers exact, other numbers as Python floats, a repeated key
/// keeps its first position and last value.
void append_python_json(std::string& out, const Value& value);

/// The document as the profile's host would re-serialize it (postgres: compact, as parsed).
void append_profile_json(std::string& out, const Value& value, JsonProfile profile);

}  // namespace enrich::json
