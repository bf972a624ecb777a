#pragma once
// JSON string escaping shared by the log formatter and (later) the result encoders.

#include <string>
#include <string_view>

namespace enrich {

/// Appends `value` as a quoted JSON string. Control characters are escaped; bytes that are not
/// valid UTF-8 become U+FFFD so that the output is always valid JSON.
void append_json_string(std::string& out, std::string_view value);

/// Appends `"key":`.
inline void append_json_key(std::string& out, std::string_view key) {
  append_json_string(out, key);
  out += ':';
}

}  // namespace enrich
