#pragma once
// A small JSON document model and a strict parser (RFC 8259), for plan files and plan inputs.
// Numbers keep their source text so that integers beyond 2^53 are not rounded.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "enrich/error.hpp"

namespace enrich::json {

class Value;
using Array = std::vector<Value>;
using Object = std::vector<std::pair<std::string, Value>>;  // source order kept

struct Number {
  std::string text;  // as written in the source
  /// The value as int64 when it is an integer literal within range.
  std::optional<std::int64_t> as_int64() const;
  double as_double() const;
};

class Value {
 public:
  enum class Type { null, boolean, number, string, array, object };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(Number n) : v_(std::move(n)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Object o) : v_(std::move(o)) {}

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::null; }
  bool is_bool() const { return type() == Type::boolean; }
  bool is_number() const { return type() == Type::number; }
  bool is_string() const { return type() == Type::string; }
  bool is_array() const { return type() == Type::array; }
  bool is_object() const { return type() == Type::object; }

  bool as_bool() const { return std::get<bool>(v_); }
  const Number& as_number() const { return std::get<Number>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  Object& as_object() { return std::get<Object>(v_); }

  /// Member of an object by key (first match), or nullptr.
  const Value* find(std::string_view key) const;

 private:
  std::variant<std::nullptr_t, bool, Number, std::string, Array, Object> v_;
};

std::string_view type_name(Value::Type type);

/// Parses one JSON document. Errors are invalid_argument with line and column.
Result<Value> parse(std::string_view text, std::size_t max_depth = 64);

/// Compact serialization (no spaces), strings escaped like JSON.stringify.
std::string serialize(const Value& value);
void serialize_to(std::string& out, const Value& value);

}  // namespace enrich::json
