#pragma once
// A strict parser for flat JSON objects whose values are all strings (what format_log_json
// emits). Used to check that log lines are valid JSON and decode to the original fields.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enrich::test {

namespace json_detail {

inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

inline bool hex4(std::string_view s, size_t& i, std::uint32_t& out) {
  if (i + 4 > s.size()) return false;
  out = 0;
  for (int k = 0; k < 4; ++k) {
    char c = s[i++];
    out <<= 4;
    if (c >= '0' && c <= '9')
      out |= static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      out |= static_cast<std::uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      out |= static_cast<std::uint32_t>(c - 'A' + 10);
    else
      return false;
  }
  return true;
}

inline bool parse_string(std::string_view s, size_t& i, std::string& out) {
  if (i >= s.size() || s[i] != '"') return false;
  ++i;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      ++i;
      return true;
    }
    if (c < 0x20) return false;  // raw control characters are not allowed in JSON strings
    if (c != '\\') {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    ++i;
    if (i >= s.size()) return false;
    char e = s[i++];
    switch (e) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        std::uint32_t cp = 0;
        if (!hex4(s, i, cp)) return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          std::uint32_t lo = 0;
          if (i + 2 > s.size() || s[i] != '\\' || s[i + 1] != 'u') return false;
          i += 2;
          if (!hex4(s, i, lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return false;
        }
        append_utf8(out, cp);
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

inline void skip_ws(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
}

}  // namespace json_detail

/// Parses `{"k":"v",...}`; nullopt if it is not valid JSON of that shape.
inline std::optional<std::vector<std::pair<std::string, std::string>>> parse_flat_json_object(
    std::string_view s) {
  using namespace json_detail;
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  skip_ws(s, i);
  if (i >= s.size() || s[i] != '{') return std::nullopt;
  ++i;
  skip_ws(s, i);
  if (i < s.size() && s[i] == '}') {
    ++i;
  } else {
    while (true) {
      std::string key, value;
      skip_ws(s, i);
      if (!parse_string(s, i, key)) return std::nullopt;
      skip_ws(s, i);
      if (i >= s.size() || s[i] != ':') return std::nullopt;
      ++i;
      skip_ws(s, i);
      if (!parse_string(s, i, value)) return std::nullopt;
      out.emplace_back(std::move(key), std::move(value));
      skip_ws(s, i);
      if (i >= s.size()) return std::nullopt;
      if (s[i] == ',') {
        ++i;
        continue;
      }
      if (s[i] == '}') {
        ++i;
        break;
      }
      return std::nullopt;
    }
  }
  skip_ws(s, i);
  if (i != s.size()) return std::nullopt;
  return out;
}

}  // namespace enrich::test
