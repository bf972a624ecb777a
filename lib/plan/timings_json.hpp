#pragma once
// PlanTimings as JSON: what the C API hands to the bindings (enrich_completion_timings_json),
// which build spans and histograms from it. Names follow the struct's fields.

#include <string>

#include "enrich/plan.hpp"

namespace enrich {

/// {"started_unix_ns":..., "total_us":..., "steps":[{"name":..., "kind":"sql"|"http", ...}]}.
/// Fields that do not apply to a step's kind, or that are unknown, are left out.
std::string timings_json(const PlanTimings& timings);

}  // namespace enrich
