// Plan files (JSON) -> validated Plan. Strict: unknown keys are errors, so that a typo in a plan
// file fails at load time instead of silently changing behaviour.

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "json/value.hpp"
#include "plan/plan_model.hpp"

namespace enrich {
namespace {

Error invalid(std::string message) {
  return Error{ErrorCode::invalid_argument, std::move(message)};
}

std::optional<Error> check_keys(const json::Value& obj,
                                std::initializer_list<std::string_view> allowed,
                                std::string_view where) {
  for (const auto& [k, v] : obj.as_object()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == k;
    if (!ok) return invalid(fmt::format("unknown key \"{}\" in {}", k, where));
  }
  return std::nullopt;
}

// ${VAR} and ${VAR:-default}, from `vars` first, then the environment.
Result<std::string> expand(std::string_view text, const PlanVariables& vars,
                           std::string_view where) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    auto start = text.find("${", i);
    if (start == std::string_view::npos) {
      out += text.substr(i);
      break;
    }
    out += text.substr(i, start - i);
    auto end = text.find('}', start);
    if (end == std::string_view::npos) return invalid(fmt::format("unclosed ${{ in {}", where));
    std::string_view expr = text.substr(start + 2, end - start - 2);
    std::string_view name = expr, fallback;
    bool has_fallback = false;
    if (auto d = expr.find(":-"); d != std::string_view::npos) {
      name = expr.substr(0, d);
      fallback = expr.substr(d + 2);
      has_fallback = true;
    }
    if (auto it = vars.find(name); it != vars.end()) {
      out += it->second;
    } else if (const char* env = std::getenv(std::string(name).c_str()); env && *env) {
      out += env;
    } else if (has_fallback) {
      out += fallback;
    } else {
      return invalid(fmt::format("variable {} is not set (used in {})", name, where));
    }
    i = end + 1;
  }
  return out;
}

Result<InputValue> to_input_value(const json::Value& v) {
  switch (v.type()) {
    case json::Value::Type::null:
      return InputValue(nullptr);
    case json::Value::Type::boolean:
      return InputValue(v.as_bool());
    case json::Value::Type::number:
      if (auto i = v.as_number().as_int64()) return InputValue(*i);
      return InputValue(v.as_number().as_double());
    case json::Value::Type::string:
      return InputValue(v.as_string());
    default:
      return invalid("an input value must be null, a boolean, a number or a string");
  }
}

Result<InputType> parse_input_type(std::string_view s, std::string_view input) {
  if (s == "integer") return InputType::integer;
  if (s == "number") return InputType::number;
  if (s == "string") return InputType::string;
  if (s == "boolean") return InputType::boolean;
  return invalid(fmt::format("input \"{}\": unknown type \"{}\" (integer, number, string, boolean)",
                             input, s));
}

Result<std::string> get_string(const json::Value& obj, std::string_view key, std::string_view where,
                               std::string fallback = {}) {
  const json::Value* v = obj.find(key);
  if (!v) return fallback;
  if (!v->is_string()) return invalid(fmt::format("\"{}\" in {} must be a string", key, where));
  return v->as_string();
}

Result<bool> get_bool(const json::Value& obj, std::string_view key, std::string_view where,
                      bool fallback) {
  const json::Value* v = obj.find(key);
  if (!v) return fallback;
  if (!v->is_bool()) return invalid(fmt::format("\"{}\" in {} must be true or false", key, where));
  return v->as_bool();
}

Result<std::int64_t> get_int(const json::Value& obj, std::string_view key, std::string_view where,
                             std::int64_t fallback) {
  const json::Value* v = obj.find(key);
  if (!v) return fallback;
  if (!v->is_number() || !v->as_number().as_int64() || *v->as_number().as_int64() < 0)
    return invalid(fmt::format("\"{}\" in {} must be a non-negative integer", key, where));
  return *v->as_number().as_int64();
}

#define TRY_ASSIGN(lhs, expr)                   \
  do {                                          \
    auto _r = (expr);                           \
    if (!_r.ok()) return std::move(_r).error(); \
    lhs = std::move(_r).value();                \
  } while (0)

Result<StepSpec> parse_step(const json::Value& v, std::size_t index, const PlanVariables& vars) {
  if (!v.is_object()) return invalid(fmt::format("step #{} must be an object", index + 1));
  StepSpec step;
  TRY_ASSIGN(step.name, get_string(v, "name", fmt::format("step #{}", index + 1)));
  if (step.name.empty()) return invalid(fmt::format("step #{} has no \"name\"", index + 1));
  std::string where = fmt::format("step \"{}\"", step.name);
  std::string kind;
  TRY_ASSIGN(kind, get_string(v, "kind", where));
  if (kind.empty()) kind = v.find("sql") ? "sql" : v.find("http") ? "http" : "";
  if (kind.empty())
    return invalid(fmt::format("{} has no kind: give it \"sql\" or \"http\"", where));
  if (kind != "sql" && kind != "http")
    return invalid(fmt::format("{} has unknown kind \"{}\" (sql or http)", where, kind));
  if (auto e = check_keys(v,
                          {"name", "kind", "sql", "params", "shape", "http", "required", "optional",
                           "when", "output", "coalesce", "batch"},
                          where))
    return *e;
  TRY_ASSIGN(step.options.required, get_bool(v, "required", where, false));
  TRY_ASSIGN(step.options.optional, get_bool(v, "optional", where, false));
  TRY_ASSIGN(step.options.output, get_bool(v, "output", where, true));
  TRY_ASSIGN(step.options.when, get_string(v, "when", where));
  TRY_ASSIGN(step.options.coalesce, get_bool(v, "coalesce", where, false));
  TRY_ASSIGN(step.options.batch, get_string(v, "batch", where));

  if (kind == "sql") {
    step.kind = StepSpec::Kind::sql;
    if (v.find("http")) return invalid(fmt::format("{} has both \"sql\" and \"http\"", where));
    TRY_ASSIGN(step.sql, get_string(v, "sql", where));
    std::string shape;
    TRY_ASSIGN(shape, get_string(v, "shape", where, "many"));
    auto parsed = parse_result_shape(shape);
    if (!parsed.ok()) return invalid(fmt::format("{}: {}", where, parsed.error().message));
    step.shape = parsed.value();
    if (const json::Value* params = v.find("params")) {
      if (!params->is_array())
        return invalid(fmt::format("\"params\" in {} must be an array", where));
      for (const auto& p : params->as_array()) {
        if (!p.is_string())
          return invalid(
              fmt::format("params of {} must be strings (\"input\" or \"step.field\")", where));
        step.params.push_back(ValueRef::parse(p.as_string()));
      }
    }
    return step;
  }
  step.kind = StepSpec::Kind::http;
  if (v.find("params") || v.find("shape") || v.find("coalesce") || v.find("batch"))
    return invalid(fmt::format(
        "{}: \"params\", \"shape\", \"coalesce\" and \"batch\" are for sql steps", where));
  const json::Value* h = v.find("http");
  if (!h || !h->is_object()) return invalid(fmt::format("\"http\" in {} must be an object", where));
  if (auto e = check_keys(
          *h, {"method", "base_url", "path", "headers", "body", "timeout_ms", "retry", "ca_file"},
          where))
    return *e;
  TRY_ASSIGN(step.http.method, get_string(*h, "method", where, "GET"));
  std::string base;
  TRY_ASSIGN(base, get_string(*h, "base_url", where));
  TRY_ASSIGN(step.http.base_url, expand(base, vars, where));
  while (!step.http.base_url.empty() && step.http.base_url.back() == '/')
    step.http.base_url.pop_back();
  TRY_ASSIGN(step.http.path, get_string(*h, "path", where));
  TRY_ASSIGN(step.http.body, get_string(*h, "body", where));
  std::int64_t timeout;
  TRY_ASSIGN(timeout, get_int(*h, "timeout_ms", where, 0));
  step.http.timeout = Milliseconds(timeout);
  TRY_ASSIGN(step.http.retry, get_bool(*h, "retry", where, false));
  std::string ca_file;
  TRY_ASSIGN(ca_file, get_string(*h, "ca_file", where));
  TRY_ASSIGN(step.http.ca_file, expand(ca_file, vars, where));
  if (const json::Value* headers = h->find("headers")) {
    if (!headers->is_object())
      return invalid(fmt::format("\"headers\" in {} must be an object", where));
    for (const auto& [k, hv] : headers->as_object()) {
      if (!hv.is_string())
        return invalid(fmt::format("header \"{}\" in {} must be a string", k, where));
      std::string value;
      TRY_ASSIGN(value, expand(hv.as_string(), vars, where));
      step.http.headers.emplace_back(k, value);
    }
  }
  return step;
}

}  // namespace

Result<Plan> Plan::from_json(std::string_view text, const PlanVariables& vars) {
  auto doc = json::parse(text);
  if (!doc.ok()) return invalid("plan: " + doc.error().message);
  const json::Value& v = doc.value();
  if (!v.is_object()) return invalid("plan: the document must be a JSON object");
  if (auto e = check_keys(
          v, {"name", "description", "profile", "deadline_ms", "meta", "inputs", "steps"}, "plan"))
    return *e;
  auto impl = std::make_shared<PlanImpl>();
  TRY_ASSIGN(impl->name, get_string(v, "name", "plan"));
  std::string profile;
  TRY_ASSIGN(profile, get_string(v, "profile", "plan", "node"));
  auto p = parse_json_profile(profile);
  if (!p.ok()) return invalid("plan: " + p.error().message);
  impl->profile = p.value();
  std::int64_t deadline;
  TRY_ASSIGN(deadline, get_int(v, "deadline_ms", "plan", 0));
  impl->deadline = Milliseconds(deadline);
  if (const json::Value* meta = v.find("meta")) {
    if (!meta->is_object()) return invalid("plan: \"meta\" must be an object");
    if (auto e = check_keys(*meta, {"key", "processing_time"}, "meta")) return *e;
    TRY_ASSIGN(impl->meta_key, get_string(*meta, "key", "meta", "meta"));
    TRY_ASSIGN(impl->processing_time_key,
               get_string(*meta, "processing_time", "meta", "processingTimeMs"));
  }
  if (const json::Value* inputs = v.find("inputs")) {
    if (!inputs->is_object()) return invalid("plan: \"inputs\" must be an object of name: {type}");
    for (const auto& [name, spec] : inputs->as_object()) {
      std::string where = fmt::format("input \"{}\"", name);
      if (!spec.is_object())
        return invalid(where + " must be an object like {\"type\": \"integer\"}");
      if (auto e = check_keys(spec, {"type", "default", "description"}, where)) return *e;
      InputSpec in;
      in.name = name;
      std::string type;
      TRY_ASSIGN(type, get_string(spec, "type", where));
      if (type.empty()) return invalid(where + " has no \"type\"");
      TRY_ASSIGN(in.type, parse_input_type(type, name));
      if (const json::Value* d = spec.find("default")) {
        in.has_default = true;
        TRY_ASSIGN(in.default_value, to_input_value(*d));
      }
      impl->inputs.push_back(std::move(in));
    }
  }
  const json::Value* steps = v.find("steps");
  if (!steps || !steps->is_array()) return invalid("plan: \"steps\" must be an array");
  for (std::size_t i = 0; i < steps->as_array().size(); ++i) {
    StepSpec step;
    TRY_ASSIGN(step, parse_step(steps->as_array()[i], i, vars));
    impl->steps.push_back(std::move(step));
  }
  if (auto e = validate_plan(*impl)) return invalid("plan: " + e->message);
  return detail::Access::make_plan(std::move(impl));
}

Result<Plan> Plan::load(const std::string& path, const PlanVariables& vars) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid(fmt::format("cannot read plan file \"{}\"", path));
  std::stringstream ss;
  ss << in.rdbuf();
  auto plan = from_json(ss.str(), vars);
  if (!plan.ok())
    return Error{ErrorCode::invalid_argument, fmt::format("{}: {}", path, plan.error().message)};
  return plan;
}

const std::string& Plan::name() const {
  return impl_->name;
}
JsonProfile Plan::profile() const {
  return impl_->profile;
}
std::vector<std::string> Plan::step_names() const {
  std::vector<std::string> out;
  for (const auto& s : impl_->steps) out.push_back(s.name);
  return out;
}
std::vector<std::string> Plan::input_names() const {
  std::vector<std::string> out;
  for (const auto& i : impl_->inputs) out.push_back(i.name);
  return out;
}

}  // namespace enrich
