// libFuzzer target: arbitrary bytes as a plan file (enrich::Plan::from_json), and the JSON parser
// underneath it. Built and run by tests/fuzz/run.sh.
//
// Besides "no crash, no leak, no UB" it checks invariants:
// - a rejected plan is an invalid_argument error with a message;
// - an accepted plan has a name list and input list consistent with itself, and binding no
//   inputs either succeeds or names a missing input;
// - JSON that parses serializes to JSON that parses again to the same serialization.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "enrich/plan.hpp"
#include "json/value.hpp"
#include "plan/plan_inputs.hpp"
#include "plan/plan_model.hpp"

namespace {

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "invariant violated: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void check_json_round_trip(std::string_view text) {
  auto doc = enrich::json::parse(text);
  if (!doc.ok()) {
    if (doc.error().code != enrich::ErrorCode::invalid_argument || doc.error().message.empty())
      fail("json::parse error is not invalid_argument with a message", doc.error().message);
    return;
  }
  std::string once = enrich::json::serialize(doc.value());
  auto again = enrich::json::parse(once);
  if (!again.ok()) fail("serialize() output does not parse", once + "\n" + again.error().message);
  std::string twice = enrich::json::serialize(again.value());
  if (once != twice) fail("serialize(parse(serialize(x))) differs", once + "\n" + twice);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_json_round_trip(text);

  static const enrich::PlanVariables vars = {{"ANALYTICS_URL", "http://127.0.0.1:8081"},
                                             {"TOKEN", "t0ken"}};
  auto plan = enrich::Plan::from_json(text, vars);
  if (!plan.ok()) {
    if (plan.error().code != enrich::ErrorCode::invalid_argument || plan.error().message.empty())
      fail("a rejected plan must be invalid_argument with a message", plan.error().message);
    return 0;
  }
  const enrich::Plan& p = plan.value();
  auto impl = enrich::detail::Access::impl(p);
  if (!impl) fail("an accepted plan has no implementation");
  if (p.step_names().size() != impl->steps.size()) fail("step_names() size");
  if (p.input_names().size() != impl->inputs.size()) fail("input_names() size");
  (void)p.name();
  (void)p.profile();

  auto bound = enrich::bind_inputs(*impl, {});
  if (bound.ok()) {
    if (bound.value().size() != impl->inputs.size()) fail("bind_inputs() size");
  } else if (bound.error().code != enrich::ErrorCode::invalid_argument) {
    fail("bind_inputs({}) error is not invalid_argument", bound.error().message);
  }
  return 0;
}
