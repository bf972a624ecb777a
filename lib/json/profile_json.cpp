#include "json/profile_json.hpp"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_escape.hpp"
#include "json/number_format.hpp"

namespace enrich::json {
namespace {

bool is_array_index(std::string_view key) {
  if (key.empty() || key.size() > 10) return false;
  if (key.size() > 1 && key[0] == '0') return false;
  std::uint64_t v = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v < 4294967295ULL;
}

// Object members after duplicate keys are merged: first position, last value.
std::vector<std::pair<std::string_view, const Value*>> merged_members(const Object& object) {
  std::vector<std::pair<std::string_view, const Value*>> members;
  for (const auto& [k, v] : object) {
    std::string_view key = k;  // clang < 16 cannot capture a structured binding
    auto it = std::find_if(members.begin(), members.end(), [&](auto& m) { return m.first == key; });
    if (it != members.end())
      it->second = &v;
    else
      members.emplace_back(k, &v);
  }
  return members;
}

template <class AppendNumber>
void append_with(std::string& out, const Value& v, bool js_key_order, AppendNumber number) {
  switch (v.type()) {
    case Value::Type::number:
      number(out, v.as_number());
      return;
    case Value::Type::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.as_array()) {
        if (!first) out += ',';
        first = false;
        append_with(out, item, js_key_order, number);
      }
      out += ']';
      return;
    }
    case Value::Type::object: {
      auto members = merged_members(v.as_object());
      if (js_key_order)
        std::stable_sort(members.begin(), members.end(), [](const auto& a, const auto& b) {
          bool ia = is_array_index(a.first), ib = is_array_index(b.first);
          if (ia != ib) return ia;
          if (!ia) return false;
          if (a.first.size() != b.first.size()) return a.first.size() < b.first.size();
          return a.first < b.first;
        });
      out += '{';
      bool first = true;
      for (const auto& [k, val] : members) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, k);
        out += ':';
        append_with(out, *val, js_key_order, number);
      }
      out += '}';
      return;
    }
    default:
      serialize_to(out, v);
  }
}

// A number token that JSON.stringify(JSON.parse(token)) writes unchanged:
// -?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?, not -0, at most 15 significant digits (so the token's digits
// are the double's shortest round trip) and, below 1, at most 5 zeros after the point (smaller
// values are written with an exponent).
bool is_js_canonical_number(std::string_view t) {
  std::size_t i = t.size() > 0 && t[0] == '-' ? 1 : 0;
  std::size_t int_start = i;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
  std::size_t int_digits = i - int_start;
  if (int_digits == 0 || (int_digits > 1 && t[int_start] == '0')) return false;
  bool int_zero = int_digits == 1 && t[int_start] == '0';
  std::size_t significant = int_zero ? 0 : int_digits;
  if (i < t.size()) {
    if (t[i] != '.') return false;
    std::size_t frac_start = ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    if (i != t.size() || i == frac_start || t[i - 1] == '0') return false;
    std::size_t frac = i - frac_start;
    if (int_zero) {
      std::size_t zeros = 0;
      while (t[frac_start + zeros] == '0') ++zeros;
      if (zeros > 5) return false;
      significant = frac - zeros;
    } else {
      significant += frac;
    }
  } else if (int_zero && int_start == 1) {
    return false;  // "-0": JSON.stringify writes 0
  }
  return significant <= 15;
}

bool is_integer_literal(std::string_view s) {
  return s.find_first_of(".eE") == std::string_view::npos;
}

}  // namespace

void append_js_json(std::string& out, const Value& value) {
  append_with(out, value, true,
              [](std::string& o, const Number& n) { append_js_number(o, n.as_double()); });
}

bool append_js_json_text(std::string& out, std::string_view s) {
  const std::size_t mark = out.size();
  auto decline = [&] {
    out.resize(mark);
    return false;
  };
  // What may come next. The grammar is checked as the parser would, so that whatever this
  // accepts the parser accepts too, with the same result.
  enum class Want { value, first_key, key, colon, comma_or_end };
  Want want = Want::value;
  constexpr int kMaxDepth = 64;  // deeper documents take the parser's path
  char open[kMaxDepth];
  std::size_t key_base[kMaxDepth];  // an object's first key in `keys`
  std::vector<std::string_view> keys;
  int depth = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
  auto after_value = [&] { want = Want::comma_or_end; };
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    if (depth == 0 && want == Want::comma_or_end) return decline();  // text after the document
    switch (c) {
      case '{':
      case '[':
        if (want != Want::value || depth == kMaxDepth) return decline();
        key_base[depth] = keys.size();
        open[depth++] = c;
        out += c;
        want = c == '{' ? Want::first_key : Want::value;
        if (c == '[') {
          // An empty array: "]" may follow at once.
          std::size_t j = i + 1;
          while (j < s.size() && is_space(s[j])) ++j;
          if (j < s.size() && s[j] == ']') {
            --depth;
            out += ']';
            i = j + 1;
            after_value();
            continue;
          }
        }
        ++i;
        continue;
      case '}':
      case ']': {
        char expected = c == '}' ? '{' : '[';
        bool may_close = want == Want::comma_or_end || (c == '}' && want == Want::first_key);
        if (depth == 0 || open[depth - 1] != expected || !may_close) return decline();
        --depth;
        keys.resize(key_base[depth]);
        out += c;
        ++i;
        after_value();
        continue;
      }
      case ',':
        if (want != Want::comma_or_end || depth == 0) return decline();
        out += ',';
        want = open[depth - 1] == '{' ? Want::key : Want::value;
        ++i;
        continue;
      case ':':
        if (want != Want::colon) return decline();
        out += ':';
        want = Want::value;
        ++i;
        continue;
      case '"': {
        if (want != Want::value && want != Want::key && want != Want::first_key) return decline();
        std::size_t j = i + 1;
        while (j < s.size() && s[j] != '"' && s[j] != '\\' &&
               static_cast<unsigned char>(s[j]) >= 0x20)
          ++j;
        if (j == s.size() || s[j] != '"') return decline();  // an escape: the parser unescapes
        std::string_view text = s.substr(i + 1, j - i - 1);
        if (want != Want::value) {
          if (is_array_index(text)) return decline();  // JS moves these first
          // A repeated key (never in jsonb, possible in json) is merged by the parser.
          for (std::size_t k = key_base[depth - 1]; k < keys.size(); ++k)
            if (keys[k] == text) return decline();
          keys.push_back(text);
          want = Want::colon;
        } else {
          after_value();
        }
        append_json_string(out, text);
        i = j + 1;
        continue;
      }
      default: {
        if (want != Want::value) return decline();
        std::size_t j = i;
        while (j < s.size() && s[j] != ',' && s[j] != ']' && s[j] != '}' && s[j] != ':' &&
               !is_space(s[j]))
          ++j;
        std::string_view token = s.substr(i, j - i);
        if (token != "true" && token != "false" && token != "null" &&
            !is_js_canonical_number(token))
          return decline();
        out.append(token);
        i = j;
        after_value();
      }
    }
  }
  if (depth != 0 || want != Want::comma_or_end) return decline();
  return true;
}

void append_python_json(std::string& out, const Value& value) {
  append_with(out, value, false, [](std::string& o, const Number& n) {
    if (is_integer_literal(n.text)) {
      // Python ints are exact; "-0" is 0.
      o += n.text == "-0" ? std::string("0") : n.text;
    } else {
      append_python_float(o, n.as_double());
    }
  });
}

void append_profile_json(std::string& out, const Value& value, JsonProfile profile) {
  switch (profile) {
    case JsonProfile::node:
      append_js_json(out, value);
      return;
    case JsonProfile::python:
      append_python_json(out, value);
      return;
    case JsonProfile::postgres:
      serialize_to(out, value);
      return;
  }
}

}  // namespace enrich::json
