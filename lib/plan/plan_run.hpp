#pragma once
// One run of a plan on one I/O thread: starts every step whose inputs are ready (the SQL steps
// of a wave together on one connection, one Sync each), encodes each result to JSON as it
// arrives, and assembles the document when the last step is done. Loop thread only.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/event_loop.hpp"
#include "core/logger.hpp"
#include "enrich/plan.hpp"
#include "http/http_client.hpp"
#include "json/value.hpp"
#include "pg/pool_set.hpp"
#include "plan/plan_inputs.hpp"
#include "plan/plan_model.hpp"

namespace enrich {

class PlanRun : public std::enable_shared_from_this<PlanRun> {
 public:
  struct Env {
    EventLoop* loop;
    pg::PoolSet* pools;
    http::HttpClient* http;
    Logger logger;
    Metrics* metrics = nullptr;
  };

  struct Options {
    JsonProfile profile = JsonProfile::node;
    Deadline deadline{};
    bool use_primary = false;
    bool timed = false;       // collect PlanOutput::timings
    bool query_text = false;  // and the SQL steps' text in them (trace_query_text)
    std::string traceparent, tracestate;
  };

  PlanRun(Env env, std::shared_ptr<const PlanImpl> plan, std::vector<BoundInput> inputs,
          Options options, Promise<PlanOutput> promise);

  void start();
  /// Ends the run now with `code` and stops every outstanding step (server-side too).
  void abort(ErrorCode code, std::string message);

 private:
  enum class StepState { waiting, running, done };
  struct Step {
    StepState state = StepState::waiting;
    std::string json;  // the encoded field value; empty: the key is left out
    QueryResult rows;  // kept for steps that others read fields from
    json::Value document;
    pg::QueryOpPtr query;
    http::HttpOpPtr request;
    Clock::time_point started{};
    StepTiming timing;  // filled when timed_
  };

  void launch_ready();
  pg::QueryOpPtr make_query(std::size_t index);
  void launch_http(std::size_t index);
  void on_query(std::size_t index, Result<QueryResult> result);
  void on_http(std::size_t index, Result<HttpResponse> result);
  void step_done(std::size_t index, std::string json);
  void step_failed(std::size_t index, Error error);
  Result<std::string> resolve(const ValueRef& ref) const;
  void finish();
  void fail(Error error);
  void count_failure();
  /// Where a step's time went, when its result arrived at `done` (timed_ only).
  void time_query(std::size_t index, const Result<QueryResult>& result, Clock::time_point done);
  void time_http(std::size_t index, const Result<HttpResponse>& result, Clock::time_point done);
  /// The run's timings (timed_ only). When a failed run ends (`stopped`: the error its unfinished
  /// steps were stopped with), the steps still running are timed until now with that error, and
  /// the steps never started are marked skipped.
  PlanTimings take_timings(std::optional<ErrorCode> stopped);
  /// A log event of this run, with the caller's trace ids when it gave a traceparent.
  void log(LogLevel level, std::string event,
           std::vector<std::pair<std::string, std::string>> fields);
  std::int64_t since(Clock::time_point from, Clock::time_point to) const {
    return std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
  }
  void stop_outstanding(ErrorCode code, const std::string& message);

  Env env_;
  std::shared_ptr<const PlanImpl> plan_;
  std::vector<BoundInput> inputs_;
  JsonProfile profile_;
  Deadline deadline_;
  bool use_primary_;  // the caller asked for it, or the plan writes
  bool timed_;
  std::string traceparent_, tracestate_;
  std::int64_t started_unix_ns_ = 0;  // when timed_
  Promise<PlanOutput> promise_;
  std::vector<Step> steps_;
  std::size_t remaining_;
  bool finished_ = false;
  Clock::time_point started_ = Clock::now();
  EventLoop::TimerId deadline_timer_ = 0;
  std::vector<std::string> warnings_;
};

}  // namespace enrich
