#pragma once
// The validated, immutable form of a plan shared by the loader, the builder and the executor.

#include <optional>
#include <string>
#include <vector>

#include "core/access.hpp"
#include "enrich/plan.hpp"

namespace enrich {

struct InputSpec {
  std::string name;
  InputType type = InputType::string;
  bool has_default = false;
  InputValue default_value;
};

/// A piece of an HTTP path template: literal text, or a value to percent-encode.
struct UrlPart {
  std::string literal;
  bool is_value = false;
  ValueRef ref;
};

struct StepSpec {
  enum class Kind { sql, http };
  std::string name;
  Kind kind = Kind::sql;
  StepOptions options;
  // sql
  std::string sql;
  std::vector<ValueRef> params;
  ResultShape shape = ResultShape::one;
  // http
  HttpStepSpec http;
  std::vector<UrlPart> path_parts;
  // derived
  std::vector<std::size_t> depends_on;  // indexes of steps read by this one
  bool read_only = false;               // sql only reads (pg::is_read_only_sql), checked once
  std::string operation;                // sql: its first keyword (pg::operation_name), for timings
};

// Hidden: internal to the library even though Plan is exported.
struct __attribute__((visibility("hidden"))) Plan::Impl {
  std::string name;
  JsonProfile profile = JsonProfile::node;
  Milliseconds deadline{0};  // zero: none
  std::string meta_key = "meta";
  std::string processing_time_key = "processingTimeMs";
  std::vector<InputSpec> inputs;
  std::vector<StepSpec> steps;
  /// Every SQL step only reads: the plan may run on a read replica. A plan that writes runs
  /// wholly on the primary, so that its later steps read what its earlier ones wrote.
  bool reads_only = false;

  const InputSpec* find_input(std::string_view name) const;
  int find_step(std::string_view name) const;  // -1 if missing
};

/// Checks names, references, placeholders and cycles, and fills depends_on and path_parts.
/// Returns the first problem found (invalid_argument), or nullopt.
std::optional<Error> validate_plan(PlanImpl& plan);

std::string_view to_string(InputType type);

}  // namespace enrich
