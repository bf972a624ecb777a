// Plans through the C API.

#include "capi_internal.hpp"
#include "json/value.hpp"

using namespace enrich;
using namespace enrich::capi;

namespace {

enrich_status fail(enrich_error** error, const Error& e) {
  if (error) *error = publish(new_error(e));
  return to_status(e.code);
}

Result<PlanVariables> parse_variables(const char* variables_json) {
  PlanVariables vars;
  if (!variables_json) return vars;
  auto doc = json::parse(variables_json);
  if (!doc.ok())
    return Error{ErrorCode::invalid_argument, "plan variables: " + doc.error().message};
  if (!doc.value().is_object())
    return Error{ErrorCode::invalid_argument, "plan variables must be a JSON object of strings"};
  for (const auto& [k, v] : doc.value().as_object()) {
    if (!v.is_string())
      return Error{ErrorCode::invalid_argument, "plan variable \"" + k + "\" must be a string"};
    vars[k] = v.as_string();
  }
  return vars;
}

template <class Load>
enrich_status make_plan(enrich_plan** out, const char* variables_json, enrich_error** error,
                        Load load) {
  return guarded([&] {
    if (error) *error = nullptr;
    if (!out) return fail(error, Error{ErrorCode::invalid_argument, "out is NULL"});
    *out = nullptr;
    auto vars = parse_variables(variables_json);
    if (!vars.ok()) return fail(error, vars.error());
    Result<Plan> plan = load(vars.value());
    if (!plan.ok()) return fail(error, plan.error());
    auto handle = std::make_unique<enrich_plan>();
    handle->plan.emplace(std::move(plan).value());
    *out = publish(handle.release());
    return ENRICH_OK;
  });
}

}  // namespace

extern "C" {

enrich_status enrich_plan_load(enrich_plan** out, const char* path, const char* variables_json,
                               enrich_error** error) {
  if (!path) {
    if (error) *error = publish(new_error(Error{ErrorCode::invalid_argument, "path is NULL"}));
    if (out) *out = nullptr;
    return ENRICH_ERR_INVALID_ARGUMENT;
  }
  return make_plan(out, variables_json, error,
                   [&](const PlanVariables& vars) { return Plan::load(path, vars); });
}

enrich_status enrich_plan_from_json(enrich_plan** out, const char* json, size_t length,
                                    const char* variables_json, enrich_error** error) {
  if (!json) {
    if (error) *error = publish(new_error(Error{ErrorCode::invalid_argument, "json is NULL"}));
    if (out) *out = nullptr;
    return ENRICH_ERR_INVALID_ARGUMENT;
  }
  return make_plan(out, variables_json, error, [&](const PlanVariables& vars) {
    return Plan::from_json(std::string_view(json, length), vars);
  });
}

void enrich_plan_free(enrich_plan* handle) {
  retire(handle);  // destroys the plan; a second free finds nothing
}

const char* enrich_plan_name(const enrich_plan* plan) {
  if (!(plan = resolve(plan)) || !plan->plan) return "";
  return plan->plan->name().c_str();
}

}  // extern "C"
