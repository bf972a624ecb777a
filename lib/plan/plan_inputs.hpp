#pragma once
// Checks a run's inputs against the plan's declarations before any I/O, and converts them to
// the text forms used for SQL parameters and URL placeholders.

#include <string>
#include <vector>

#include "plan/plan_model.hpp"

namespace enrich {

struct BoundInput {
  bool is_null = true;
  std::string text;  // Postgres text form / URL value
  bool truthy = false;
};

/// One BoundInput per declared input, in declaration order. invalid_argument naming the input
/// for a missing required input, a wrong type, or an input the plan does not declare.
Result<std::vector<BoundInput>> bind_inputs(const PlanImpl& plan, const Inputs& inputs);

/// Parses a JSON object of inputs ({"userId": 42, ...}).
Result<Inputs> parse_inputs_json(std::string_view json);

/// Percent-encodes a value so that it stays inside one URL path segment or query value.
std::string percent_encode(std::string_view value);

}  // namespace enrich
