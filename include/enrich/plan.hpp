#pragma once
/// @file
/// Plans: a declarative endpoint. Named SQL and HTTP steps run concurrently (a step that takes a
/// value from an earlier step waits for that step only) and are assembled into one JSON
/// document: one key per step in plan order, then a `meta` object with the processing time.
///
/// The same plan is written as a JSON file (docs/plans.md describes the format) so that C++,
/// Python and Node services load one definition, or built in C++ with `PlanBuilder`. Both go
/// through the same validation: an unknown step kind, a reference to a missing step or input,
/// a cycle, or a URL placeholder without an input is an `invalid_argument` error at load time
/// that names the problem. A `Plan` is immutable and cheap to copy; share it across threads.
/// Run one with `Client::run`.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "enrich/deadline.hpp"
#include "enrich/error.hpp"
#include "enrich/export.hpp"
#include "enrich/http.hpp"
#include "enrich/json.hpp"

namespace enrich {

/// A plan input's value as the host hands it over.
using InputValue = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string>;
/// Inputs by name. Strings are accepted for integer, number and boolean inputs when they spell
/// one exactly ("42", "true"), as path and query parameters do.
using Inputs = std::map<std::string, InputValue, std::less<>>;

enum class InputType { integer, number, string, boolean };

/// Where a SQL parameter or URL placeholder takes its value from: a plan input, or a field of
/// an earlier step's result (the first row of a SQL step, or a member of an HTTP step's JSON
/// object). Text form: "userId" or "user.org_id".
struct ValueRef {
  std::string input{};  ///< set for an input
  std::string step{};   ///< set for a step field
  std::string field{};

  static ValueRef of_input(std::string name) { return ValueRef{std::move(name), {}, {}}; }
  static ValueRef of_step(std::string step, std::string field) {
    return ValueRef{{}, std::move(step), std::move(field)};
  }
  /// Parses "name" or "step.field".
  ENRICH_EXPORT static ValueRef parse(std::string_view text);
};

/// Options shared by every step kind.
struct StepOptions {
  /// For `one`/`value` SQL steps: no row fails the plan with not_found.
  bool required = false;
  /// Any failure (error, timeout, non-2xx, invalid JSON) makes the field null and logs a warning
  /// instead of failing the plan.
  bool optional = false;
  /// Run only if this boolean input is true ("!name": only if false); else the field is null.
  std::string when{};
  /// False: an intermediate step other steps read from, left out of the document.
  bool output = true;
  /// SQL steps: single-flight, as QueryOptions::coalesce. Concurrent runs on the same I/O thread
  /// whose step has the same SQL and parameter values share one execution.
  bool coalesce = false;
  /// SQL steps: batching, as QueryOptions::batch: the SQL type of the key `$1` ("bigint").
  /// Concurrent runs on the same I/O thread whose step is ready in the same turn send it as one
  /// statement over their keys.
  std::string batch{};
};

/// An HTTP step: `base_url` (may use ${VAR} from the plan's variables or the environment,
/// resolved at load time) followed by `path`, whose {placeholders} are filled from inputs or
/// step fields, percent-encoded so that a value can never change the path or host.
struct HttpStepSpec {
  std::string method = "GET";
  std::string base_url{};
  std::string path{};
  HttpHeaders headers{};
  std::string body{};
  Milliseconds timeout{0};
  bool retry = false;
  std::string ca_file{};  ///< PEM CA file for HTTPS (empty: the client's http ca_file)
};

/// Variables for ${VAR} in plan files; a name missing here is read from the environment.
using PlanVariables = std::map<std::string, std::string, std::less<>>;

class PlanBuilder;

namespace detail {
struct Access;  // the library's own way in (lib/core/access.hpp)
}

/// An immutable, validated plan.
class ENRICH_EXPORT Plan {
 public:
  /// Loads and validates a plan file.
  static Result<Plan> load(const std::string& path, const PlanVariables& variables = {});
  /// Parses and validates a plan given as JSON text.
  static Result<Plan> from_json(std::string_view json, const PlanVariables& variables = {});

  const std::string& name() const;
  /// The profile a run uses unless `RunOptions::profile` says otherwise.
  JsonProfile profile() const;
  std::vector<std::string> step_names() const;
  std::vector<std::string> input_names() const;

 private:
  friend struct detail::Access;
  struct Impl;
  explicit Plan(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

/// Builds the same plans as the JSON format, in C++.
class ENRICH_EXPORT PlanBuilder {
 public:
  explicit PlanBuilder(std::string name);
  ~PlanBuilder();
  PlanBuilder(PlanBuilder&&) noexcept;
  PlanBuilder& operator=(PlanBuilder&&) noexcept;

  /// A required input (no default) or an optional one with a default.
  PlanBuilder& input(std::string name, InputType type,
                     std::optional<InputValue> default_value = std::nullopt);
  PlanBuilder& sql(std::string name, std::string sql, std::vector<ValueRef> params,
                   ResultShape shape, StepOptions options = {});
  PlanBuilder& http(std::string name, HttpStepSpec spec, StepOptions options = {});
  PlanBuilder& profile(JsonProfile profile);
  PlanBuilder& deadline(Milliseconds deadline);
  /// Key of the meta object and of the processing time inside it
  /// (default "meta" / "processingTimeMs").
  PlanBuilder& meta(std::string key, std::string processing_time_key);

  /// Validates and returns the plan; the builder is left empty.
  Result<Plan> build();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Per-run options.
struct RunOptions {
  std::optional<JsonProfile> profile{};  ///< default: the plan's
  Deadline deadline{};                   ///< the caller's; the plan's own deadline also applies
  /// Run every step on the primary even if replicas are configured and the plan only reads.
  bool use_primary = false;
  /// Collect per-step timings into PlanOutput::timings (also on when the client's `timings`
  /// option is).
  bool timings = false;
  /// W3C trace context of the caller's span for this run (`00-<trace id>-<span id>-<flags>`):
  /// HTTP steps send it as `traceparent` (and `tracestate`), and the run's log records carry its
  /// trace and span ids. Empty: none.
  std::string traceparent{};
  std::string tracestate{};
};

/// Where the time of one step went. Times are microseconds; `start_us` counts from the run's
/// start.
struct StepTiming {
  std::string name;
  bool http = false;     ///< an HTTP step, else SQL
  bool skipped = false;  ///< switched off by `when`, or not started before a failed run ended
  std::int64_t start_us = 0;
  std::int64_t duration_us = 0;  ///< until its result was there (encoding not included)
  std::int64_t encode_us = 0;    ///< turning its result into JSON
  std::string error;             ///< the error's kind ("timeout", "query", ...) if it failed
  // SQL steps
  std::int64_t queued_us = 0;  ///< until it was sent on a connection (pool wait)
  std::size_t wave = 0;        ///< statements sent in the same wave (it included)
  bool shared_sync = false;  ///< its wave shared one Sync: one round trip, one implicit transaction
  bool replica = false;      ///< ran on a read replica
  /// Its result came from one execution shared with other callers (StepOptions::coalesce); the
  /// fields above then describe that execution.
  bool coalesced = false;
  /// Its rows came from one statement over the keys of this many callers (StepOptions::batch);
  /// 0: it ran alone. The fields above then describe that statement.
  std::size_t batched = 0;
  std::string server;    ///< host:port of the server it ran on
  std::string sqlstate;  ///< of a failed statement
  std::int64_t rows = -1;
  std::string operation;  ///< the statement's first keyword: SELECT, WITH, ... (db.operation.name)
  /// The statement's text, only with ClientOptions::trace_query_text (it may hold literals).
  std::string query;
  // HTTP steps
  std::string method;
  std::string url;  ///< without user info; query values redacted
  long status = 0;
  int attempts = 0;                ///< 1 + retries
  std::int64_t connect_us = 0;     ///< last attempt: TCP (and TLS) connect; 0: a reused connection
  std::int64_t first_byte_us = 0;  ///< last attempt: until the response's first byte
};

/// Per-step timings of a run (RunOptions::timings).
struct PlanTimings {
  std::int64_t started_unix_ns = 0;  ///< wall clock at the run's start
  std::int64_t total_us = 0;         ///< the run, from start to the assembled document
  std::vector<StepTiming> steps;     ///< in the plan's step order
};

/// A plan's result: the assembled JSON document.
struct PlanOutput {
  std::string json;
  /// One line per optional step that failed and became null.
  std::vector<std::string> warnings;
  Milliseconds elapsed{0};
  /// With RunOptions::timings (or the client's timings option).
  std::optional<PlanTimings> timings{};
};

}  // namespace enrich
