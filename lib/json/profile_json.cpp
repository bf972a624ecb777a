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

bool is_integer_literal(std::string_view s) {
  return s.find_first_of(".eE") == std::string_view::npos;
}

}  // namespace

void append_js_json(std::string& out, const Value& value) {
  append_with(out, value, true,
              [](std::string& o, const Number& n) { append_js_number(o, n.as_double()); });
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
