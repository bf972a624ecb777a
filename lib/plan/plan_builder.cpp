#include "plan/plan_model.hpp"

namespace enrich {

struct PlanBuilder::State {
  std::shared_ptr<PlanImpl> plan = std::make_shared<PlanImpl>();
};

PlanBuilder::PlanBuilder(std::string name) : state_(std::make_unique<State>()) {
  state_->plan->name = std::move(name);
}
PlanBuilder::~PlanBuilder() = default;
PlanBuilder::PlanBuilder(PlanBuilder&&) noexcept = default;
PlanBuilder& PlanBuilder::operator=(PlanBuilder&&) noexcept = default;

PlanBuilder& PlanBuilder::input(std::string name, InputType type,
                                std::optional<InputValue> default_value) {
  InputSpec in;
  in.name = std::move(name);
  in.type = type;
  if (default_value) {
    in.has_default = true;
    in.default_value = std::move(*default_value);
  }
  state_->plan->inputs.push_back(std::move(in));
  return *this;
}

PlanBuilder& PlanBuilder::sql(std::string name, std::string sql, std::vector<ValueRef> params,
                              ResultShape shape, StepOptions options) {
  StepSpec step;
  step.name = std::move(name);
  step.kind = StepSpec::Kind::sql;
  step.sql = std::move(sql);
  step.params = std::move(params);
  step.shape = shape;
  step.options = std::move(options);
  state_->plan->steps.push_back(std::move(step));
  return *this;
}

PlanBuilder& PlanBuilder::http(std::string name, HttpStepSpec spec, StepOptions options) {
  StepSpec step;
  step.name = std::move(name);
  step.kind = StepSpec::Kind::http;
  while (!spec.base_url.empty() && spec.base_url.back() == '/') spec.base_url.pop_back();
  step.http = std::move(spec);
  step.options = std::move(options);
  state_->plan->steps.push_back(std::move(step));
  return *this;
}

PlanBuilder& PlanBuilder::profile(JsonProfile profile) {
  state_->plan->profile = profile;
  return *this;
}

PlanBuilder& PlanBuilder::deadline(Milliseconds deadline) {
  state_->plan->deadline = deadline;
  return *this;
}

PlanBuilder& PlanBuilder::meta(std::string key, std::string processing_time_key) {
  state_->plan->meta_key = std::move(key);
  state_->plan->processing_time_key = std::move(processing_time_key);
  return *this;
}

Result<Plan> PlanBuilder::build() {
  auto plan = std::move(state_->plan);
  state_->plan = std::make_shared<PlanImpl>();
  if (auto e = validate_plan(*plan))
    return Error{ErrorCode::invalid_argument, "plan: " + e->message};
  return detail::Access::make_plan(std::move(plan));
}

}  // namespace enrich
