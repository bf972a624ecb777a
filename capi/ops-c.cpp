// Asynchronous operations: queries, HTTP requests, plan runs and transactions. Each one gets an
// id in the client's cancel registry and delivers exactly one completion to its target.

#include <thread>

#include "capi_internal.hpp"
#include "core/access.hpp"
#include "enrich/json.hpp"
#include "plan/timings_json.hpp"

using namespace enrich;
using namespace enrich::capi;

namespace {

/// use_primary, which a version-1 struct does not have (do not read past its end).
bool use_primary(const enrich_call_options* o) {
  return o && o->version >= 2 && o->use_primary != 0;
}

QueryOptions query_options(const enrich_call_options* o) {
  QueryOptions q;
  if (!o) return q;
  if (o->timeout_ms > 0) q.timeout = Milliseconds(o->timeout_ms);
  if (o->deadline_ms > 0) q.deadline = Deadline::after(Milliseconds(o->deadline_ms));
  q.use_primary = use_primary(o);
  q.coalesce = o->version >= 3 && o->coalesce != 0;  // a version-2 struct ends before it
  if (o->version >= 4 && o->batch) q.batch = o->batch;
  return q;
}

std::optional<JsonProfile> profile_of(const enrich_call_options* o) {
  if (!o) return std::nullopt;
  switch (o->profile) {
    case ENRICH_PROFILE_POSTGRES:
      return JsonProfile::postgres;
    case ENRICH_PROFILE_NODE:
      return JsonProfile::node;
    case ENRICH_PROFILE_PYTHON:
      return JsonProfile::python;
    default:
      return std::nullopt;
  }
}

enrich_status check_options(const enrich_call_options* o) {
  if (!o) return ENRICH_OK;
  if (o->version < 1 || o->version > ENRICH_CALL_OPTIONS_VERSION)
    return ENRICH_ERR_INVALID_ARGUMENT;
  long long profile = raw_enum(o->profile), shape = raw_enum(o->shape);
  if (profile < ENRICH_PROFILE_DEFAULT || profile > ENRICH_PROFILE_PYTHON)
    return ENRICH_ERR_INVALID_ARGUMENT;
  if (shape < ENRICH_SHAPE_NONE || shape > ENRICH_SHAPE_VALUE) return ENRICH_ERR_INVALID_ARGUMENT;
  if (o->timeout_ms < 0 || o->deadline_ms < 0) return ENRICH_ERR_INVALID_ARGUMENT;
  return ENRICH_OK;
}

Params to_params(const char* const* params, size_t count) {
  Params out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.emplace_back(params[i]);  // NULL -> SQL NULL
  return out;
}

enrich_completion* new_completion(enrich_completion_kind kind, enrich_op_id id, void* user_data) {
  auto* c = new enrich_completion;
  c->kind = kind;
  c->id = id;
  c->user_data = user_data;
  return c;
}

/// Starts the operation with `start()` (which returns its future), registers it, and wires the
/// completion: on the I/O thread, `fill` turns the result into the completion, which goes to
/// `target`.
template <class T, class Start, class Fill>
enrich_status launch(const std::shared_ptr<ClientCore>& core, Target target,
                     enrich_completion_kind kind, void* user_data, enrich_op_id* out_id,
                     Start start, Fill fill) {
  Future<T> future = start();
  // Registered with its canceller in one step: an enrich_cancel that finds the id (even one
  // guessed before this returns) can always use it. The completion cannot run before
  // subscribe() below, so end(id) always follows begin().
  enrich_op_id id = core->begin(future.canceller());
  if (out_id) *out_id = id;
  auto complete = [core, target = std::move(target), kind, id, user_data, fill](Result<T> r) {
    core->end(id);
    auto* c = new_completion(kind, id, user_data);
    try {
      if (r.ok())
        fill(*c, std::move(r).value());
      else {
        c->error.reset(new_error(r.error()));
        // A failed plan run that asked for timings: they say where its time went until it ended.
        if (r.error().timings) c->timings_json = timings_json(*r.error().timings);
      }
    } catch (...) {
      c->error.reset(new_error(Error{ErrorCode::internal, "failed to build the completion"}));
    }
    target.deliver(c);
  };
  // A future that is complete already (bad input, a closed client, or a very fast result) runs
  // its continuation inside subscribe(), on this thread. Callbacks and notify hooks must run on
  // an I/O thread (enrich.h), never inside the caller's enrich_* call: hand such a completion to
  // one. Only when none is left (a client closing, a forked child) is it delivered here.
  const auto caller = std::this_thread::get_id();
  // `complete` holds a reference to the core, so this pointer lives as long as the continuation.
  ClientCore* raw_core = core.get();
  future.subscribe([complete = std::move(complete), caller, raw_core](Result<T> r) mutable {
    if (std::this_thread::get_id() == caller) {
      auto shared = std::make_shared<std::pair<decltype(complete), Result<T>>>(std::move(complete),
                                                                               std::move(r));
      if (raw_core->client && detail::Access::post_to_io(*raw_core->client, [shared] {
            shared->first(std::move(shared->second));
          }))
        return;
      shared->first(std::move(shared->second));
      return;
    }
    complete(std::move(r));
  });
  return ENRICH_OK;
}

Target queue_target(enrich_queue* queue) {
  return Target{queue->core, nullptr, nullptr};
}

auto fill_query(std::optional<JsonProfile> profile, enrich_result_shape shape) {
  return [profile, shape](enrich_completion& c, QueryResult rows) {
    if (shape != ENRICH_SHAPE_NONE) {
      ResultShape s = shape == ENRICH_SHAPE_ONE    ? ResultShape::one
                      : shape == ENRICH_SHAPE_MANY ? ResultShape::many
                                                   : ResultShape::value;
      append_json(c.json, rows, s, profile.value_or(JsonProfile::postgres));
      c.has_json = true;
    }
    c.rows = std::move(rows);
  };
}

enrich_status start_query(enrich_client* client, Target target, const char* sql,
                          const char* const* params, size_t count,
                          const enrich_call_options* options, void* user_data,
                          enrich_op_id* out_id) {
  if (!sql || (count > 0 && !params)) return ENRICH_ERR_INVALID_ARGUMENT;
  if (auto s = check_options(options); s != ENRICH_OK) return s;
  auto shape = options ? options->shape : ENRICH_SHAPE_NONE;
  return launch<QueryResult>(
      client->core, std::move(target), ENRICH_COMPLETION_QUERY, user_data, out_id,
      [&] {
        return client->core->client->query(sql, to_params(params, count), query_options(options));
      },
      fill_query(profile_of(options), shape));
}

auto fill_plan() {
  return [](enrich_completion& c, PlanOutput out) {
    c.json = std::move(out.json);
    c.has_json = true;
    c.warnings = std::move(out.warnings);
    c.elapsed_ms = static_cast<double>(out.elapsed.count());
    if (out.timings) c.timings_json = timings_json(*out.timings);
  };
}

enrich_status start_plan(enrich_client* client, Target target, const enrich_plan* plan,
                         const char* inputs_json, const enrich_call_options* options,
                         void* user_data, enrich_op_id* out_id) {
  if (!(plan = resolve(plan)) || !plan->plan) return ENRICH_ERR_INVALID_ARGUMENT;
  if (auto s = check_options(options); s != ENRICH_OK) return s;
  RunOptions run;
  run.profile = profile_of(options);
  run.use_primary = use_primary(options);
  if (options && options->version >= 2) {
    run.timings = options->timings != 0;
    if (options->traceparent) run.traceparent = options->traceparent;
    if (options->tracestate) run.tracestate = options->tracestate;
  }
  if (options && options->deadline_ms > 0)
    run.deadline = Deadline::after(Milliseconds(options->deadline_ms));
  std::string inputs = inputs_json ? inputs_json : "{}";
  return launch<PlanOutput>(
      client->core, std::move(target), ENRICH_COMPLETION_PLAN, user_data, out_id,
      [&] { return client->core->client->run_json(*plan->plan, inputs, run); }, fill_plan());
}

}  // namespace

extern "C" {

enrich_status enrich_query(enrich_client* client, enrich_queue* queue, const char* sql,
                           const char* const* params, size_t param_count,
                           const enrich_call_options* options, void* user_data,
                           enrich_op_id* out_id) {
  return guarded([&] {
    if (!(client = resolve(client)) || !(queue = resolve(queue)))
      return ENRICH_ERR_INVALID_ARGUMENT;
    return start_query(client, queue_target(queue), sql, params, param_count, options, user_data,
                       out_id);
  });
}

enrich_status enrich_query_cb(enrich_client* client, const char* sql, const char* const* params,
                              size_t param_count, const enrich_call_options* options,
                              enrich_completion_fn callback, void* payload, enrich_op_id* out_id) {
  return guarded([&] {
    if (!(client = resolve(client)) || !callback) return ENRICH_ERR_INVALID_ARGUMENT;
    return start_query(client, Target{nullptr, callback, payload}, sql, params, param_count,
                       options, payload, out_id);
  });
}

namespace {

enrich_status start_http(enrich_client* client, Target target, const enrich_http_request* request,
                         const enrich_call_options* options, void* user_data,
                         enrich_op_id* out_id) {
  if (!request || !request->url) return ENRICH_ERR_INVALID_ARGUMENT;
  if (request->version < 1 || request->version > ENRICH_HTTP_REQUEST_VERSION)
    return ENRICH_ERR_INVALID_ARGUMENT;
  if (request->header_count > 0 && !request->headers) return ENRICH_ERR_INVALID_ARGUMENT;
  if (request->body_length > 0 && !request->body) return ENRICH_ERR_INVALID_ARGUMENT;
  if (auto s = check_options(options); s != ENRICH_OK) return s;
  HttpRequest r;
  if (request->method) r.method = request->method;
  r.url = request->url;
  for (size_t i = 0; i < request->header_count; ++i) {
    if (!request->headers[i].name || !request->headers[i].value) return ENRICH_ERR_INVALID_ARGUMENT;
    r.headers.emplace_back(request->headers[i].name, request->headers[i].value);
  }
  if (request->body) r.body.assign(request->body, request->body_length);
  if (request->timeout_ms > 0)
    r.timeout = Milliseconds(request->timeout_ms);
  else if (options && options->timeout_ms > 0)
    r.timeout = Milliseconds(options->timeout_ms);
  if (options && options->deadline_ms > 0)
    r.deadline = Deadline::after(Milliseconds(options->deadline_ms));
  r.retry = request->retry != 0;
  return launch<HttpResponse>(
      client->core, std::move(target), ENRICH_COMPLETION_HTTP, user_data, out_id,
      [&] { return client->core->client->http(std::move(r)); },
      [](enrich_completion& c, HttpResponse response) {
        c.http_status = response.status;
        c.headers = std::move(response.headers);
        c.json = std::move(response.body);
        c.has_json = true;
        c.elapsed_ms = static_cast<double>(response.elapsed.count());
      });
}

}  // namespace

enrich_status enrich_http(enrich_client* client, enrich_queue* queue,
                          const enrich_http_request* request, const enrich_call_options* options,
                          void* user_data, enrich_op_id* out_id) {
  return guarded([&] {
    if (!(client = resolve(client)) || !(queue = resolve(queue)))
      return ENRICH_ERR_INVALID_ARGUMENT;
    return start_http(client, queue_target(queue), request, options, user_data, out_id);
  });
}

enrich_status enrich_http_cb(enrich_client* client, const enrich_http_request* request,
                             const enrich_call_options* options, enrich_completion_fn callback,
                             void* payload, enrich_op_id* out_id) {
  return guarded([&] {
    if (!(client = resolve(client)) || !callback) return ENRICH_ERR_INVALID_ARGUMENT;
    return start_http(client, Target{nullptr, callback, payload}, request, options, payload,
                      out_id);
  });
}

enrich_status enrich_plan_run(enrich_client* client, enrich_queue* queue, const enrich_plan* plan,
                              const char* inputs_json, const enrich_call_options* options,
                              void* user_data, enrich_op_id* out_id) {
  return guarded([&] {
    if (!(client = resolve(client)) || !(queue = resolve(queue)))
      return ENRICH_ERR_INVALID_ARGUMENT;
    return start_plan(client, queue_target(queue), plan, inputs_json, options, user_data, out_id);
  });
}

enrich_status enrich_plan_run_cb(enrich_client* client, const enrich_plan* plan,
                                 const char* inputs_json, const enrich_call_options* options,
                                 enrich_completion_fn callback, void* payload,
                                 enrich_op_id* out_id) {
  return guarded([&] {
    if (!(client = resolve(client)) || !callback) return ENRICH_ERR_INVALID_ARGUMENT;
    return start_plan(client, Target{nullptr, callback, payload}, plan, inputs_json, options,
                      payload, out_id);
  });
}

// ---- transactions
// ---------------------------------------------------------------------------------

namespace {

enrich_status start_tx_begin(enrich_client* client, Target target,
                             const enrich_call_options* options, void* user_data,
                             enrich_op_id* out_id) {
  if (auto s = check_options(options); s != ENRICH_OK) return s;
  auto core = client->core;
  return launch<Transaction>(
      core, std::move(target), ENRICH_COMPLETION_TX_BEGIN, user_data, out_id,
      [&] { return core->client->transaction(query_options(options)); },
      [core](enrich_completion& c, Transaction tx) {
        c.tx = std::make_unique<enrich_tx>();
        c.tx->core = core;
        c.tx->tx.emplace(std::move(tx));
      });
}

enrich_status start_tx_query(enrich_tx* tx, Target target, const char* sql,
                             const char* const* params, size_t param_count,
                             const enrich_call_options* options, void* user_data,
                             enrich_op_id* out_id) {
  if (!sql || (param_count > 0 && !params)) return ENRICH_ERR_INVALID_ARGUMENT;
  if (auto s = check_options(options); s != ENRICH_OK) return s;
  if (!tx->tx || !tx->tx->active()) return ENRICH_ERR_CLOSED;
  auto shape = options ? options->shape : ENRICH_SHAPE_NONE;
  return launch<QueryResult>(
      tx->core, std::move(target), ENRICH_COMPLETION_QUERY, user_data, out_id,
      [&] { return tx->tx->query(sql, to_params(params, param_count), query_options(options)); },
      fill_query(profile_of(options), shape));
}

enrich_status start_tx_end(enrich_tx* tx, Target target, void* user_data, enrich_op_id* out_id,
                           bool commit) {
  if (!tx->tx || !tx->tx->active()) return ENRICH_ERR_CLOSED;
  return launch<Unit>(
      tx->core, std::move(target), ENRICH_COMPLETION_TX_END, user_data, out_id,
      [&] { return commit ? tx->tx->commit() : tx->tx->rollback(); },
      [](enrich_completion&, Unit) {});
}

}  // namespace

enrich_status enrich_tx_begin(enrich_client* client, enrich_queue* queue,
                              const enrich_call_options* options, void* user_data,
                              enrich_op_id* out_id) {
  return guarded([&] {
    if (!(client = resolve(client)) || !(queue = resolve(queue)))
      return ENRICH_ERR_INVALID_ARGUMENT;
    return start_tx_begin(client, queue_target(queue), options, user_data, out_id);
  });
}

enrich_status enrich_tx_begin_cb(enrich_client* client, const enrich_call_options* options,
                                 enrich_completion_fn callback, void* payload,
                                 enrich_op_id* out_id) {
  return guarded([&] {
    if (!(client = resolve(client)) || !callback) return ENRICH_ERR_INVALID_ARGUMENT;
    return start_tx_begin(client, Target{nullptr, callback, payload}, options, payload, out_id);
  });
}

enrich_status enrich_tx_query(enrich_tx* tx, enrich_queue* queue, const char* sql,
                              const char* const* params, size_t param_count,
                              const enrich_call_options* options, void* user_data,
                              enrich_op_id* out_id) {
  return guarded([&] {
    if (!(tx = resolve(tx)) || !(queue = resolve(queue))) return ENRICH_ERR_INVALID_ARGUMENT;
    return start_tx_query(tx, queue_target(queue), sql, params, param_count, options, user_data,
                          out_id);
  });
}

enrich_status enrich_tx_query_cb(enrich_tx* tx, const char* sql, const char* const* params,
                                 size_t param_count, const enrich_call_options* options,
                                 enrich_completion_fn callback, void* payload,
                                 enrich_op_id* out_id) {
  return guarded([&] {
    if (!(tx = resolve(tx)) || !callback) return ENRICH_ERR_INVALID_ARGUMENT;
    return start_tx_query(tx, Target{nullptr, callback, payload}, sql, params, param_count, options,
                          payload, out_id);
  });
}

enrich_status enrich_tx_commit(enrich_tx* tx, enrich_queue* queue, void* user_data,
                               enrich_op_id* out_id) {
  return guarded([&] {
    if (!(tx = resolve(tx)) || !(queue = resolve(queue))) return ENRICH_ERR_INVALID_ARGUMENT;
    return start_tx_end(tx, queue_target(queue), user_data, out_id, true);
  });
}

enrich_status enrich_tx_rollback(enrich_tx* tx, enrich_queue* queue, void* user_data,
                                 enrich_op_id* out_id) {
  return guarded([&] {
    if (!(tx = resolve(tx)) || !(queue = resolve(queue))) return ENRICH_ERR_INVALID_ARGUMENT;
    return start_tx_end(tx, queue_target(queue), user_data, out_id, false);
  });
}

enrich_status enrich_tx_commit_cb(enrich_tx* tx, enrich_completion_fn callback, void* payload,
                                  enrich_op_id* out_id) {
  return guarded([&] {
    if (!(tx = resolve(tx)) || !callback) return ENRICH_ERR_INVALID_ARGUMENT;
    return start_tx_end(tx, Target{nullptr, callback, payload}, payload, out_id, true);
  });
}

enrich_status enrich_tx_rollback_cb(enrich_tx* tx, enrich_completion_fn callback, void* payload,
                                    enrich_op_id* out_id) {
  return guarded([&] {
    if (!(tx = resolve(tx)) || !callback) return ENRICH_ERR_INVALID_ARGUMENT;
    return start_tx_end(tx, Target{nullptr, callback, payload}, payload, out_id, false);
  });
}

void enrich_tx_free(enrich_tx* handle) {
  auto tx = retire(handle);  // a second free finds nothing
  if (!tx) return;
  try {
    tx->tx.reset();  // rolls back an unfinished transaction
  } catch (...) {
  }
}

}  // extern "C"
