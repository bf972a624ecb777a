#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "pg/batch_sql.hpp"
#include "pg/read_only.hpp"
#include "plan/plan_model.hpp"

namespace enrich {

std::string_view to_string(InputType type) {
  switch (type) {
    case InputType::integer:
      return "integer";
    case InputType::number:
      return "number";
    case InputType::string:
      return "string";
    case InputType::boolean:
      return "boolean";
  }
  return "?";
}

ValueRef ValueRef::parse(std::string_view text) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return of_input(std::string(text));
  return of_step(std::string(text.substr(0, dot)), std::string(text.substr(dot + 1)));
}

const InputSpec* Plan::Impl::find_input(std::string_view name) const {
  for (const auto& i : inputs)
    if (i.name == name) return &i;
  return nullptr;
}

int Plan::Impl::find_step(std::string_view name) const {
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (steps[i].name == name) return static_cast<int>(i);
  return -1;
}

namespace {

Error invalid(std::string message) {
  return Error{ErrorCode::invalid_argument, std::move(message)};
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

// Splits "/users/{userId}/summary" into literal and placeholder parts.
std::optional<Error> parse_path(StepSpec& step) {
  const std::string& path = step.http.path;
  std::size_t i = 0;
  while (i < path.size()) {
    auto open = path.find('{', i);
    if (open == std::string::npos) {
      step.path_parts.push_back(UrlPart{path.substr(i), false, {}});
      break;
    }
    if (open > i) step.path_parts.push_back(UrlPart{path.substr(i, open - i), false, {}});
    auto close = path.find('}', open);
    if (close == std::string::npos)
      return invalid(fmt::format("step \"{}\": unclosed '{{' in path \"{}\"", step.name, path));
    std::string name = path.substr(open + 1, close - open - 1);
    if (name.empty())
      return invalid(fmt::format("step \"{}\": empty placeholder {{}} in path", step.name));
    step.path_parts.push_back(UrlPart{{}, true, ValueRef::parse(name)});
    i = close + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Error> validate_plan(PlanImpl& plan) {
  if (plan.name.empty()) return invalid("plan has no name");
  for (std::size_t i = 0; i < plan.inputs.size(); ++i) {
    const auto& in = plan.inputs[i];
    if (!valid_name(in.name)) return invalid(fmt::format("invalid input name \"{}\"", in.name));
    for (std::size_t j = 0; j < i; ++j)
      if (plan.inputs[j].name == in.name)
        return invalid(fmt::format("input \"{}\" is declared twice", in.name));
  }
  if (plan.steps.empty()) return invalid(fmt::format("plan \"{}\" has no steps", plan.name));
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    auto& step = plan.steps[i];
    if (!valid_name(step.name)) return invalid(fmt::format("invalid step name \"{}\"", step.name));
    if (step.name == plan.meta_key)
      return invalid(fmt::format("step \"{}\" has the name of the meta key", step.name));
    for (std::size_t j = 0; j < i; ++j)
      if (plan.steps[j].name == step.name)
        return invalid(fmt::format("step \"{}\" is declared twice", step.name));
    if (!step.options.when.empty()) {
      std::string_view w = step.options.when;
      if (w.starts_with('!')) w.remove_prefix(1);
      const InputSpec* in = plan.find_input(w);
      if (!in)
        return invalid(
            fmt::format("step \"{}\": \"when\" names unknown input \"{}\"", step.name, w));
      if (in->type != InputType::boolean)
        return invalid(
            fmt::format("step \"{}\": \"when\" input \"{}\" must be a boolean", step.name, w));
    }
    if (step.options.required && step.options.optional)
      return invalid(fmt::format("step \"{}\" cannot be both required and optional", step.name));
    if (step.options.coalesce && step.kind != StepSpec::Kind::sql)
      return invalid(fmt::format("step \"{}\": \"coalesce\" is for sql steps", step.name));
    std::vector<ValueRef> refs;
    if (step.kind == StepSpec::Kind::sql) {
      if (step.sql.empty()) return invalid(fmt::format("step \"{}\" has empty SQL", step.name));
      refs = step.params;
    } else {
      if (step.http.base_url.empty() && !step.http.path.starts_with("http"))
        return invalid(fmt::format("step \"{}\": HTTP step needs a base_url", step.name));
      step.path_parts.clear();
      if (auto e = parse_path(step)) return e;
      for (const auto& part : step.path_parts)
        if (part.is_value) refs.push_back(part.ref);
    }
    step.read_only = step.kind == StepSpec::Kind::sql && pg::is_read_only_sql(step.sql);
    if (!step.options.batch.empty()) {
      if (step.kind != StepSpec::Kind::sql)
        return invalid(fmt::format("step \"{}\": \"batch\" is for sql steps", step.name));
      if (!step.read_only)
        return invalid(fmt::format(
            "step \"{}\": \"batch\" is for statements that only read (SELECT, WITH, VALUES)",
            step.name));
      if (step.params.empty())
        return invalid(fmt::format(
            "step \"{}\": \"batch\" needs the key as the first parameter ($1)", step.name));
      if (auto text = pg::batch_statement(step.sql, step.options.batch); !text.ok())
        return invalid(fmt::format("step \"{}\": {}", step.name, text.error().message));
    }
    if (step.kind == StepSpec::Kind::sql) step.operation = pg::operation_name(step.sql);
    step.depends_on.clear();
    for (const auto& ref : refs) {
      if (ref.step.empty()) {
        if (!plan.find_input(ref.input))
          return invalid(fmt::format("step \"{}\" uses \"{}\", which is not an input of the plan",
                                     step.name, ref.input));
        continue;
      }
      int dep = plan.find_step(ref.step);
      if (dep < 0)
        return invalid(
            fmt::format("step \"{}\" refers to missing step \"{}\"", step.name, ref.step));
      if (static_cast<std::size_t>(dep) == i)
        return invalid(fmt::format("step \"{}\" refers to itself", step.name));
      if (ref.field.empty())
        return invalid(fmt::format("step \"{}\": reference to step \"{}\" names no field",
                                   step.name, ref.step));
      auto d = static_cast<std::size_t>(dep);
      if (std::find(step.depends_on.begin(), step.depends_on.end(), d) == step.depends_on.end())
        step.depends_on.push_back(d);
    }
  }
  // Cycle check: depth-first search with colours.
  std::vector<int> colour(plan.steps.size(), 0);
  std::vector<std::string> path;
  std::function<std::optional<Error>(std::size_t)> visit =
      [&](std::size_t i) -> std::optional<Error> {
    colour[i] = 1;
    path.push_back(plan.steps[i].name);
    for (std::size_t d : plan.steps[i].depends_on) {
      if (colour[d] == 1) {
        std::string cycle;
        for (const auto& n : path) cycle += n + " -> ";
        return invalid(fmt::format("steps form a cycle: {}{}", cycle, plan.steps[d].name));
      }
      if (colour[d] == 0)
        if (auto e = visit(d)) return e;
    }
    path.pop_back();
    colour[i] = 2;
    return std::nullopt;
  };
  for (std::size_t i = 0; i < plan.steps.size(); ++i)
    if (colour[i] == 0)
      if (auto e = visit(i)) return e;
  plan.reads_only = std::all_of(plan.steps.begin(), plan.steps.end(), [](const StepSpec& s) {
    return s.kind != StepSpec::Kind::sql || s.read_only;
  });
  return std::nullopt;
}

}  // namespace enrich
