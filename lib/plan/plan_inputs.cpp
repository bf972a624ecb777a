#include "plan/plan_inputs.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "json/number_format.hpp"
#include "json/value.hpp"

namespace enrich {
namespace {

Error wrong(const InputSpec& in, std::string_view got) {
  return Error{ErrorCode::invalid_argument,
               fmt::format("input \"{}\" must be {} {}, got {}", in.name,
                           in.type == InputType::integer ? "an" : "a", to_string(in.type), got)};
}

std::string describe(const InputValue& v) {
  struct {
    std::string operator()(std::nullptr_t) { return "null"; }
    std::string operator()(bool b) { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) { return std::to_string(i); }
    std::string operator()(double d) { return fmt::format("{}", d); }
    std::string operator()(const std::string& s) {
      return fmt::format("\"{}\"", s.size() > 40 ? s.substr(0, 40) + "..." : s);
    }
  } visitor;
  return std::visit(visitor, v);
}

std::string double_text(double d) {
  std::string out;
  json::append_js_number(out, d);
  return out;
}

Result<BoundInput> bind(const InputSpec& in, const InputValue& v) {
  BoundInput b;
  b.is_null = false;
  switch (in.type) {
    case InputType::integer:
      if (auto* i = std::get_if<std::int64_t>(&v)) {
        b.text = std::to_string(*i);
      } else if (auto* s = std::get_if<std::string>(&v)) {
        std::int64_t parsed;
        const char* end = s->data() + s->size();
        auto [p, ec] = std::from_chars(s->data(), end, parsed);
        if (s->empty() || ec != std::errc() || p != end) return wrong(in, describe(v));
        b.text = std::to_string(parsed);
      } else {
        return wrong(in, describe(v));
      }
      return b;
    case InputType::number: {
      double d;
      if (auto* i = std::get_if<std::int64_t>(&v)) {
        b.text = std::to_string(*i);
        return b;
      } else if (auto* f = std::get_if<double>(&v)) {
        d = *f;
      } else if (auto* s = std::get_if<std::string>(&v)) {
        const char* end = s->data() + s->size();
        auto [p, ec] = std::from_chars(s->data(), end, d);
        if (s->empty() || ec != std::errc() || p != end) return wrong(in, describe(v));
      } else {
        return wrong(in, describe(v));
      }
      if (!std::isfinite(d)) return wrong(in, describe(v));
      b.text = double_text(d);
      return b;
    }
    case InputType::boolean:
      if (auto* x = std::get_if<bool>(&v)) {
        b.truthy = *x;
      } else if (auto* s = std::get_if<std::string>(&v)) {
        std::string lower;
        for (char c : *s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower == "true" || lower == "1")
          b.truthy = true;
        else if (lower == "false" || lower == "0")
          b.truthy = false;
        else
          return wrong(in, describe(v));
      } else {
        return wrong(in, describe(v));
      }
      b.text = b.truthy ? "true" : "false";
      return b;
    case InputType::string:
      if (auto* s = std::get_if<std::string>(&v)) {
        b.text = *s;
        return b;
      }
      return wrong(in, describe(v));
  }
  return wrong(in, describe(v));
}

}  // namespace

Result<std::vector<BoundInput>> bind_inputs(const PlanImpl& plan, const Inputs& inputs) {
  for (const auto& [name, value] : inputs)
    if (!plan.find_input(name))
      return Error{
          ErrorCode::invalid_argument,
          fmt::format("unknown input \"{}\" (plan \"{}\" takes: {})", name, plan.name, [&] {
            std::string names;
            for (const auto& i : plan.inputs) names += (names.empty() ? "" : ", ") + i.name;
            return names;
          }())};
  std::vector<BoundInput> out;
  out.reserve(plan.inputs.size());
  for (const auto& in : plan.inputs) {
    auto it = inputs.find(in.name);
    const InputValue* v = (it == inputs.end() || std::holds_alternative<std::nullptr_t>(it->second))
                              ? nullptr
                              : &it->second;
    if (!v && in.has_default) v = &in.default_value;
    if (!v || std::holds_alternative<std::nullptr_t>(*v)) {
      if (in.has_default) {  // an explicit null default
        out.emplace_back();
        continue;
      }
      return Error{ErrorCode::invalid_argument,
                   fmt::format("missing input \"{}\" ({})", in.name, to_string(in.type))};
    }
    auto b = bind(in, *v);
    if (!b.ok()) return std::move(b).error();
    out.push_back(std::move(b).value());
  }
  return out;
}

Result<Inputs> parse_inputs_json(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc.ok()) return Error{ErrorCode::invalid_argument, "inputs: " + doc.error().message};
  if (!doc.value().is_object())
    return Error{ErrorCode::invalid_argument, "inputs must be a JSON object"};
  Inputs out;
  for (const auto& [k, v] : doc.value().as_object()) {
    switch (v.type()) {
      case json::Value::Type::null:
        out[k] = nullptr;
        break;
      case json::Value::Type::boolean:
        out[k] = v.as_bool();
        break;
      case json::Value::Type::number:
        if (auto i = v.as_number().as_int64())
          out[k] = *i;
        else
          out[k] = v.as_number().as_double();
        break;
      case json::Value::Type::string:
        out[k] = v.as_string();
        break;
      default:
        return Error{
            ErrorCode::invalid_argument,
            fmt::format("input \"{}\" must be a scalar, got an {}", k, json::type_name(v.type()))};
    }
  }
  return out;
}

std::string percent_encode(std::string_view value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  // "." and ".." are dot-segments that URL normalisation would resolve: encode their dots too.
  bool only_dots = !value.empty() && value.find_first_not_of('.') == std::string_view::npos;
  std::string out;
  out.reserve(value.size() * 3);
  for (unsigned char c : value) {
    bool unreserved =
        std::isalnum(c) || c == '-' || c == '_' || c == '~' || (c == '.' && !only_dots);
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

}  // namespace enrich
