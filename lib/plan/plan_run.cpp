#include "plan/plan_run.hpp"

#include <fmt/format.h>

#include "core/json_escape.hpp"
#include "json/number_format.hpp"
#include "json/profile_json.hpp"

namespace enrich {

PlanRun::PlanRun(Env env, std::shared_ptr<const PlanImpl> plan, std::vector<BoundInput> inputs,
                 Options options, Promise<PlanOutput> promise)
    : env_(std::move(env)),
      plan_(std::move(plan)),
      inputs_(std::move(inputs)),
      profile_(options.profile),
      deadline_(earliest(options.deadline, Deadline::after(plan_->deadline))),
      use_primary_(options.use_primary || !plan_->reads_only),
      timed_(options.timed),
      traceparent_(std::move(options.traceparent)),
      tracestate_(std::move(options.tracestate)),
      promise_(std::move(promise)),
      steps_(plan_->steps.size()),
      remaining_(plan_->steps.size()) {
  if (timed_) {
    started_unix_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      steps_[i].timing.name = plan_->steps[i].name;
      steps_[i].timing.http = plan_->steps[i].kind == StepSpec::Kind::http;
      steps_[i].timing.operation = plan_->steps[i].operation;
      if (options.query_text) steps_[i].timing.query = plan_->steps[i].sql;
    }
  }
}

void PlanRun::log(LogLevel level, std::string event,
                  std::vector<std::pair<std::string, std::string>> fields) {
  if (!env_.logger.enabled(level)) return;
  // traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>
  if (traceparent_.size() >= 55 && traceparent_[2] == '-' && traceparent_[35] == '-') {
    fields.emplace_back("trace_id", traceparent_.substr(3, 32));
    fields.emplace_back("span_id", traceparent_.substr(36, 16));
  }
  env_.logger.log(level, std::move(event), std::move(fields));
}

void PlanRun::start() {
  if (deadline_.expired()) {
    fail(Error{ErrorCode::timeout,
               fmt::format("plan \"{}\": deadline expired before it started", plan_->name)});
    return;
  }
  if (deadline_.is_set()) {
    deadline_timer_ = env_.loop->add_timer(deadline_.when(), [self = shared_from_this()] {
      self->deadline_timer_ = 0;
      self->abort(ErrorCode::timeout,
                  fmt::format("plan \"{}\" exceeded its deadline", self->plan_->name));
    });
  }
  // Steps switched off by `when` are null at once.
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const auto& when = plan_->steps[i].options.when;
    if (when.empty()) continue;
    bool negate = when[0] == '!';
    std::string_view name = negate ? std::string_view(when).substr(1) : std::string_view(when);
    bool truthy = false;
    for (std::size_t k = 0; k < plan_->inputs.size(); ++k)
      if (plan_->inputs[k].name == name) truthy = inputs_[k].truthy;
    if (truthy == negate) {
      steps_[i].state = StepState::done;
      steps_[i].json = "null";
      steps_[i].timing.skipped = true;
      --remaining_;
    }
  }
  launch_ready();
  if (remaining_ == 0) finish();
}

void PlanRun::launch_ready() {
  std::vector<pg::QueryOpPtr> wave;
  std::vector<std::size_t> wave_steps;  // for the timings
  for (std::size_t i = 0; i < steps_.size() && !finished_; ++i) {
    if (steps_[i].state != StepState::waiting) continue;
    bool ready = true;
    for (std::size_t d : plan_->steps[i].depends_on)
      ready = ready && steps_[d].state == StepState::done;
    if (!ready) continue;
    steps_[i].state = StepState::running;
    if (timed_) {
      steps_[i].started = Clock::now();
      steps_[i].timing.start_us = since(started_, steps_[i].started);
    }
    if (plan_->steps[i].kind == StepSpec::Kind::http) {
      launch_http(i);
    } else if (auto op = make_query(i)) {
      wave.push_back(std::move(op));
      if (timed_) wave_steps.push_back(i);
    }
  }
  if (wave.empty() || finished_) return;
  for (std::size_t i : wave_steps) steps_[i].timing.wave = wave.size();
  env_.pools->submit_group(std::move(wave));
}

Result<std::string> PlanRun::resolve(const ValueRef& ref) const {
  if (ref.step.empty()) {
    for (std::size_t k = 0; k < plan_->inputs.size(); ++k)
      if (plan_->inputs[k].name == ref.input) {
        if (inputs_[k].is_null) return Error{ErrorCode::not_found, "null"};
        return inputs_[k].text;
      }
    return Error{ErrorCode::internal, "unknown input " + ref.input};
  }
  int index = plan_->find_step(ref.step);
  const Step& dep = steps_[static_cast<std::size_t>(index)];
  if (plan_->steps[static_cast<std::size_t>(index)].kind == StepSpec::Kind::sql) {
    if (dep.rows.empty()) return Error{ErrorCode::not_found, "no row"};
    auto col = dep.rows.find_column(ref.field);
    if (!col)
      return Error{ErrorCode::invalid_argument,
                   fmt::format("step \"{}\" has no column \"{}\"", ref.step, ref.field)};
    if (dep.rows.is_null(0, *col)) return Error{ErrorCode::not_found, "null"};
    return std::string(dep.rows.text(0, *col));
  }
  const json::Value* v = dep.document.find(ref.field);
  if (!v || v->is_null()) return Error{ErrorCode::not_found, "null"};
  switch (v->type()) {
    case json::Value::Type::string:
      return v->as_string();
    case json::Value::Type::number:
      return v->as_number().text;
    case json::Value::Type::boolean:
      return std::string(v->as_bool() ? "true" : "false");
    default:
      return json::serialize(*v);
  }
}

pg::QueryOpPtr PlanRun::make_query(std::size_t index) {
  const StepSpec& spec = plan_->steps[index];
  auto op = std::make_shared<pg::QueryOp>();
  op->sql = spec.sql;
  op->read_only = spec.read_only;
  op->use_primary = use_primary_;
  op->timed = timed_;
  op->coalesce = spec.options.coalesce;
  op->batch_type = spec.options.batch;
  op->deadline = deadline_;
  for (const auto& ref : spec.params) {
    auto value = resolve(ref);
    if (value.ok()) {
      op->params.emplace_back(std::move(value).value());
    } else if (value.error().code == ErrorCode::not_found) {
      op->params.emplace_back(nullptr);  // a null input or field binds SQL NULL
    } else {
      step_failed(index, std::move(value).error());
      return nullptr;
    }
  }
  op->promise.get_future().subscribe([self = shared_from_this(), index](Result<QueryResult> r) {
    self->on_query(index, std::move(r));
  });
  steps_[index].query = op;
  return op;
}

void PlanRun::launch_http(std::size_t index) {
  const StepSpec& spec = plan_->steps[index];
  std::string url = spec.http.base_url;
  for (const auto& part : spec.path_parts) {
    if (!part.is_value) {
      url += part.literal;
      continue;
    }
    auto value = resolve(part.ref);
    if (!value.ok()) {
      step_failed(index, value.error().code == ErrorCode::not_found
                             ? Error{ErrorCode::invalid_argument,
                                     fmt::format("step \"{}\": URL value \"{}\" is null", spec.name,
                                                 part.ref.step.empty()
                                                     ? part.ref.input
                                                     : part.ref.step + "." + part.ref.field)}
                             : std::move(value).error());
      return;
    }
    url += percent_encode(value.value());
  }
  auto op = std::make_shared<http::HttpOp>();
  op->request.method = spec.http.method;
  op->request.url = std::move(url);
  op->request.headers = spec.http.headers;
  op->request.body = spec.http.body;
  op->request.timeout = spec.http.timeout;
  op->request.retry = spec.http.retry;
  op->request.ca_file = spec.http.ca_file;
  op->request.deadline = deadline_;
  if (!traceparent_.empty()) {
    // The caller's span: the service sees this request as its child, as with an instrumented
    // httpx or fetch.
    op->request.headers.emplace_back("traceparent", traceparent_);
    if (!tracestate_.empty()) op->request.headers.emplace_back("tracestate", tracestate_);
  }
  if (timed_) {
    steps_[index].timing.method = op->request.method;
    steps_[index].timing.url = op->request.url;
  }
  op->promise.get_future().subscribe([self = shared_from_this(), index](Result<HttpResponse> r) {
    self->on_http(index, std::move(r));
  });
  steps_[index].request = op;
  env_.http->submit(std::move(op));
}

void PlanRun::time_query(std::size_t index, const Result<QueryResult>& result,
                         Clock::time_point done) {
  StepTiming& t = steps_[index].timing;
  t.duration_us = since(steps_[index].started, done);
  if (const auto& op = steps_[index].query) {
    if (op->sent_at != Clock::time_point{}) t.queued_us = since(steps_[index].started, op->sent_at);
    t.shared_sync = op->shared_sync;
    t.replica = op->pool && op->pool->is_replica();
    t.coalesced = op->coalesced;
    t.batched = op->batched;
    if (op->server) t.server = *op->server;
  }
  if (result.ok()) t.rows = static_cast<std::int64_t>(result.value().size());
}

void PlanRun::time_http(std::size_t index, const Result<HttpResponse>& result,
                        Clock::time_point done) {
  StepTiming& t = steps_[index].timing;
  t.duration_us = since(steps_[index].started, done);
  if (const auto& op = steps_[index].request) {
    t.attempts = std::max(1, op->attempts);
    if (!op->log_url.empty()) t.url = op->log_url;
  }
  if (result.ok()) {
    t.status = result.value().status;
    t.attempts = result.value().attempts;
    t.connect_us = result.value().connect_us;
    t.first_byte_us = result.value().first_byte_us;
  }
}

void PlanRun::on_query(std::size_t index, Result<QueryResult> result) {
  if (finished_) return;
  const StepSpec& spec = plan_->steps[index];
  Clock::time_point done = timed_ ? Clock::now() : Clock::time_point{};
  if (timed_) time_query(index, result, done);
  if (!result.ok()) {
    step_failed(index, std::move(result).error());
    return;
  }
  QueryResult rows = std::move(result).value();
  if (spec.options.required && spec.shape != ResultShape::many && rows.empty()) {
    if (timed_) steps_[index].timing.error = std::string(to_string(ErrorCode::not_found));
    fail(Error{ErrorCode::not_found,
               fmt::format("plan \"{}\": step \"{}\" found no row", plan_->name, spec.name)});
    return;
  }
  std::string json;
  // node-postgres hands `rows[0]` of an empty result as undefined, which JSON.stringify leaves
  // out: in the node profile a `one` or `value` step that finds no row has no key (a step
  // skipped by `when`, or a failed optional one, is still null, as the original's analytics).
  bool absent = profile_ == JsonProfile::node && spec.shape != ResultShape::many && rows.empty();
  if (spec.options.output && !absent) append_json(json, rows, spec.shape, profile_);
  if (timed_) steps_[index].timing.encode_us = since(done, Clock::now());
  steps_[index].rows = std::move(rows);
  step_done(index, std::move(json));
}

void PlanRun::on_http(std::size_t index, Result<HttpResponse> result) {
  if (finished_) return;
  const StepSpec& spec = plan_->steps[index];
  Clock::time_point done = timed_ ? Clock::now() : Clock::time_point{};
  if (timed_) time_http(index, result, done);
  if (!result.ok()) {
    step_failed(index, std::move(result).error());
    return;
  }
  const HttpResponse& response = result.value();
  if (response.status < 200 || response.status > 299) {
    step_failed(index, Error{ErrorCode::http, fmt::format("HTTP {} from {}", response.status,
                                                          response.effective_url)});
    return;
  }
  auto doc = json::parse(response.body, 512);
  if (!doc.ok()) {
    step_failed(index,
                Error{ErrorCode::http, fmt::format("invalid JSON from {}: {}",
                                                   response.effective_url, doc.error().message)});
    return;
  }
  std::string json;
  if (spec.options.output) json::append_profile_json(json, doc.value(), profile_);
  if (timed_) steps_[index].timing.encode_us = since(done, Clock::now());
  steps_[index].document = std::move(doc).value();
  step_done(index, std::move(json));
}

void PlanRun::step_done(std::size_t index, std::string json) {
  steps_[index].state = StepState::done;
  steps_[index].json = std::move(json);
  steps_[index].query.reset();
  steps_[index].request.reset();
  if (--remaining_ == 0) {
    finish();
    return;
  }
  launch_ready();
}

void PlanRun::step_failed(std::size_t index, Error error) {
  if (finished_) return;
  const StepSpec& spec = plan_->steps[index];
  if (timed_) {
    StepTiming& t = steps_[index].timing;
    t.error = std::string(to_string(error.code));
    t.sqlstate = error.sqlstate;
    if (t.duration_us == 0 && steps_[index].started != Clock::time_point{})
      t.duration_us = since(steps_[index].started, Clock::now());
  }
  if (deadline_.expired()) {
    // The plan's deadline, not the step's own timeout: the whole plan ends.
    abort(ErrorCode::timeout, fmt::format("plan \"{}\" exceeded its deadline", plan_->name));
    return;
  }
  if (spec.options.optional) {
    std::string warning =
        fmt::format("step \"{}\" failed and is null: {}", spec.name, error.to_string());
    log(LogLevel::warning, "plan.optional_step_failed",
        {{"plan", plan_->name}, {"step", spec.name}, {"error", error.to_string()}});
    warnings_.push_back(std::move(warning));
    step_done(index, "null");
    return;
  }
  error.message =
      fmt::format("plan \"{}\": step \"{}\": {}", plan_->name, spec.name, error.message);
  fail(std::move(error));
}

void PlanRun::finish() {
  if (finished_) return;
  finished_ = true;
  if (deadline_timer_) env_.loop->cancel_timer(deadline_timer_);
  auto elapsed = Clock::now() - started_;
  std::string out = "{";
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (!plan_->steps[i].options.output || steps_[i].json.empty()) continue;
    append_json_key(out, plan_->steps[i].name);
    out += steps_[i].json;
    out += ',';
  }
  append_json_key(out, plan_->meta_key);
  out += '{';
  append_json_key(out, plan_->processing_time_key);
  double ms = std::chrono::duration<double, std::milli>(elapsed).count();
  if (profile_ == JsonProfile::node)
    out += std::to_string(static_cast<long long>(ms));
  else
    json::append_python_float(out, ms);
  out += "}}";
  PlanOutput output{std::move(out), std::move(warnings_),
                    std::chrono::duration_cast<Milliseconds>(elapsed)};
  if (env_.metrics) {
    env_.metrics->plans_ok.fetch_add(1, std::memory_order_relaxed);
    env_.metrics->plan.observe(elapsed);
  }
  if (timed_) output.timings = take_timings(std::nullopt);
  promise_.set_value(std::move(output));
}

PlanTimings PlanRun::take_timings(std::optional<ErrorCode> stopped) {
  Clock::time_point now = Clock::now();
  PlanTimings timings;
  timings.started_unix_ns = started_unix_ns_;
  timings.total_us = since(started_, now);
  timings.steps.reserve(steps_.size());
  for (auto& step : steps_) {
    StepTiming& t = step.timing;
    if (stopped && step.state == StepState::waiting) {
      t.skipped = true;  // the run ended before it could start
    } else if (stopped && step.state == StepState::running && t.error.empty()) {
      t.duration_us = since(step.started, now);
      t.error = std::string(to_string(*stopped));
    }
    timings.steps.push_back(std::move(t));
  }
  return timings;
}

void PlanRun::count_failure() {
  if (!env_.metrics) return;
  env_.metrics->plans_failed.fetch_add(1, std::memory_order_relaxed);
  env_.metrics->plan.observe(Clock::now() - started_);
}

void PlanRun::fail(Error error) {
  if (finished_) return;
  finished_ = true;
  count_failure();
  if (deadline_timer_) env_.loop->cancel_timer(deadline_timer_);
  deadline_timer_ = 0;
  stop_outstanding(ErrorCode::cancelled, "another step of the plan failed");
  if (timed_)
    error.timings = std::make_shared<const PlanTimings>(take_timings(ErrorCode::cancelled));
  promise_.set_error(std::move(error));
}

void PlanRun::abort(ErrorCode code, std::string message) {
  if (finished_) return;
  std::string pending;
  for (std::size_t i = 0; i < steps_.size(); ++i)
    if (steps_[i].state != StepState::done)
      pending += (pending.empty() ? "" : ", ") + plan_->steps[i].name;
  finished_ = true;
  count_failure();
  if (deadline_timer_) env_.loop->cancel_timer(deadline_timer_);
  deadline_timer_ = 0;
  stop_outstanding(code, message);
  if (!pending.empty()) message += fmt::format(" (unfinished steps: {})", pending);
  Error error{code, std::move(message)};
  if (timed_) error.timings = std::make_shared<const PlanTimings>(take_timings(code));
  promise_.set_error(std::move(error));
}

void PlanRun::stop_outstanding(ErrorCode code, const std::string& message) {
  for (auto& step : steps_) {
    if (step.query) env_.pools->abort(step.query, code, message);
    if (step.request) env_.http->abort(step.request, code, message);
    step.query.reset();
    step.request.reset();
  }
}

}  // namespace enrich
