#include "client_wrap.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

namespace enrich_node {
namespace {

/// Builds the promise every operation returns; rejects it at once when the C call fails.
struct Started {
  napi_deferred deferred = nullptr;
  napi_value promise = nullptr;
};

Started new_promise(napi_env env) {
  Started s;
  napi_create_promise(env, &s.deferred, &s.promise);
  return s;
}

Napi::Value rejected(Bridge* bridge, Started s, enrich_status status, const char* context) {
  napi_value e = bridge->error_value(status, nullptr, context);
  if (e) napi_reject_deferred(bridge->env(), s.deferred, e);
  return Napi::Value(bridge->env(), s.promise);
}

std::int64_t int_arg(const Napi::CallbackInfo& info, std::size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) return 0;
  double d = info[i].As<Napi::Number>().DoubleValue();
  return d > 0 ? static_cast<std::int64_t>(d) : 0;
}

std::string string_arg(const Napi::CallbackInfo& info, std::size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

/// SQL parameters: an array of strings and nulls (lib/params.js did the conversions).
struct Params {
  std::vector<std::string> storage;
  std::vector<const char*> pointers;

  Params(const Napi::CallbackInfo& info, std::size_t i) {
    if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return;
    if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "params must be an array");
    auto array = info[i].As<Napi::Array>();
    uint32_t n = array.Length();
    storage.resize(n);
    pointers.resize(n, nullptr);
    for (uint32_t k = 0; k < n; ++k) {
      Napi::Value v = array.Get(k);
      if (v.IsNull() || v.IsUndefined()) continue;
      if (!v.IsString()) throw Napi::TypeError::New(info.Env(), "params must be strings or null");
      storage[k] = v.As<Napi::String>().Utf8Value();
      pointers[k] = storage[k].c_str();
    }
  }
};

/// Writes the operation id into cancelSlot[0] (lib/client.js passes one when a signal is given).
void report_id(const Napi::CallbackInfo& info, std::size_t i, enrich_op_id id) {
  if (info.Length() <= i || !info[i].IsArray()) return;
  info[i].As<Napi::Array>().Set(uint32_t{0},
                                Napi::Number::New(info.Env(), static_cast<double>(id)));
}

enrich_call_options call_options(const Napi::CallbackInfo& info, std::size_t timeout_index,
                                 std::size_t deadline_index) {
  enrich_call_options o = ENRICH_CALL_OPTIONS_INIT;
  o.timeout_ms = int_arg(info, timeout_index);
  o.deadline_ms = int_arg(info, deadline_index);
  return o;
}

/// An optional boolean argument (absent or undefined: false).
bool bool_arg(const Napi::CallbackInfo& info, std::size_t i) {
  return info.Length() > i && info[i].IsBoolean() && info[i].As<Napi::Boolean>().Value();
}

Mode query_mode(const Napi::CallbackInfo& info, std::size_t i) {
  auto m = static_cast<int>(int_arg(info, i));
  if (m < 0 || m > static_cast<int>(Mode::execute))
    throw Napi::RangeError::New(info.Env(), "bad query mode");
  return static_cast<Mode>(m);
}

}  // namespace

// ---- ClientWrap ------------------------------------------------------------------------------

Napi::Function ClientWrap::define(Napi::Env env) {
  return DefineClass(
      env, "NativeClient",
      {InstanceMethod<&ClientWrap::query>("query"), InstanceMethod<&ClientWrap::http>("http"),
       InstanceMethod<&ClientWrap::run>("run"), InstanceMethod<&ClientWrap::tx_begin>("txBegin"),
       InstanceMethod<&ClientWrap::cancel>("cancel"), InstanceMethod<&ClientWrap::close>("close"),
       InstanceMethod<&ClientWrap::stats>("stats"), InstanceMethod<&ClientWrap::options>("options"),
       InstanceMethod<&ClientWrap::metrics>("metrics"),
       InstanceAccessor<&ClientWrap::pending>("pending"),
       InstanceAccessor<&ClientWrap::closed>("closed")});
}

// new NativeClient(configJson, onLog?): the options as one JSON object with the core's names and
// units (lib/client.js maps the camelCase JS options onto them, reading the core's option list
// from optionsSchema(); there is no second list here).
ClientWrap::ClientWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ClientWrap>(info) {
  Napi::Env env = info.Env();
  bridge_ = Bridge::of(env);
  if (!bridge_ || bridge_->torn_down())
    throw Napi::Error::New(env, "enrich: the environment is shutting down");
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(env, "options must be a JSON string");
  std::string config = info[0].As<Napi::String>().Utf8Value();
  enrich_client_options c = ENRICH_CLIENT_OPTIONS_INIT;
  c.config_json = config.c_str();
  if (info.Length() > 1 && info[1].IsFunction()) {
    // Log events become completions on a queue of this client, drained on the JS thread by the
    // same tsfn as everything else, and handed to the JS logger there.
    if (enrich_queue_create(&log_queue_) != ENRICH_OK)
      throw Napi::Error::New(env, "enrich: cannot create the log queue");
    enrich_queue_set_notify(log_queue_, &Bridge::notify, bridge_);
    c.log_queue = log_queue_;
    on_log_ = Napi::Persistent(info[1].As<Napi::Function>());
  }
  enrich_error* error = nullptr;
  enrich_status status = enrich_client_create(&client_, &c, &error);
  if (status != ENRICH_OK) {
    napi_value e = bridge_->error_value(status, error, "new Client");
    enrich_error_free(error);
    if (log_queue_) {
      enrich_queue_destroy(log_queue_);
      log_queue_ = nullptr;
    }
    if (!e) throw Napi::Error::New(env, "enrich: cannot create the client");
    throw Napi::Error(env, e);
  }
  bridge_->add_client(this);
}

ClientWrap::~ClientWrap() {
  // Garbage-collected: it had nothing pending (a pending operation holds a strong reference), or
  // the environment is being torn down (then the bridge already destroyed the client).
  destroy_native(false);
  if (bridge_) bridge_->remove_client(this);
  detach();
}

// began/ended/log also run on the bridge's drain path: plain C N-API, statuses checked, no
// Napi::Error (see bridge.cpp).

void ClientWrap::began() {
  uint32_t count = 0;
  if (pending_++ == 0)
    napi_reference_ref(Env(), static_cast<napi_ref>(*this), &count);  // no GC while in flight
}

void ClientWrap::ended() {
  if (pending_ == 0 || --pending_ != 0) return;
  uint32_t count = 0;
  napi_reference_unref(Env(), static_cast<napi_ref>(*this), &count);
  if (!close_waiters_.empty()) {
    auto waiters = std::move(close_waiters_);
    close_waiters_.clear();
    napi_value undefined = nullptr;
    if (!bridge_ || !bridge_->js_usable() || napi_get_undefined(Env(), &undefined) != napi_ok)
      return;
    for (auto d : waiters) napi_resolve_deferred(Env(), d, undefined);
  }
}

void ClientWrap::log(enrich_completion* completion) {
  if (on_log_.IsEmpty() || !bridge_ || !bridge_->js_usable()) return;
  enrich_log_level level = ENRICH_LOG_INFO;
  const char* event = "";
  const char* fields = "{}";
  if (enrich_completion_log(completion, &level, &event, &fields) != ENRICH_OK) return;
  napi_env env = Env();
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return bridge_->js_failed();
  napi_value fn = nullptr, recv = nullptr, argv[3] = {nullptr, nullptr, nullptr}, result = nullptr;
  bool ok =
      napi_get_reference_value(env, static_cast<napi_ref>(on_log_), &fn) == napi_ok &&
      napi_get_undefined(env, &recv) == napi_ok &&
      napi_create_int32(env, level, &argv[0]) == napi_ok &&
      napi_create_string_utf8(env, event ? event : "", NAPI_AUTO_LENGTH, &argv[1]) == napi_ok &&
      napi_create_string_utf8(env, fields ? fields : "{}", NAPI_AUTO_LENGTH, &argv[2]) == napi_ok;
  if (ok) {
    napi_status s = napi_call_function(env, recv, fn, 3, argv, &result);
    napi_value e = nullptr;
    napi_valuetype type = napi_undefined;
    if (s == napi_pending_exception && napi_get_and_clear_last_exception(env, &e) == napi_ok && e &&
        napi_typeof(env, e, &type) == napi_ok && type != napi_undefined) {
      // A throwing logger must not break the drain; the event is dropped.
    } else if (s != napi_ok) {
      ok = false;
    }
  }
  napi_close_handle_scope(env, scope);
  if (!ok) bridge_->js_failed();
}

void ClientWrap::remove_tx(TxWrap* tx) {
  txs_.erase(std::remove(txs_.begin(), txs_.end(), tx), txs_.end());
}

void ClientWrap::destroy_native(bool) {
  auto txs = std::move(txs_);
  txs_.clear();
  for (auto* tx : txs) tx->release();
  closed_ = true;
  if (client_) {
    enrich_client* c = client_;
    client_ = nullptr;
    // Cancels everything in flight; each operation still completes (cancelled) into the bridge
    // queue, so every promise settles. Joins the I/O threads.
    enrich_client_destroy(c);
  }
}

void ClientWrap::detach() {
  bridge_ = nullptr;
  if (log_queue_) {
    enrich_queue_destroy(log_queue_);  // frees events still queued
    log_queue_ = nullptr;
  }
}

Napi::Value ClientWrap::query(const Napi::CallbackInfo& info) {
  // query(sql, params, mode, timeoutMs, deadlineMs, cancelSlot, usePrimary, coalesce, batch)
  Napi::Env env = info.Env();
  std::string sql = string_arg(info, 0, "sql");
  Params params(info, 1);
  Mode mode = query_mode(info, 2);
  enrich_call_options o = call_options(info, 3, 4);
  o.use_primary = bool_arg(info, 6) ? 1 : 0;
  o.coalesce = bool_arg(info, 7) ? 1 : 0;
  // The key's SQL type ('' off); lives until enrich_query has copied it.
  std::string batch =
      info.Length() > 8 && info[8].IsString() ? info[8].As<Napi::String>().Utf8Value() : "";
  o.batch = batch.empty() ? nullptr : batch.c_str();
  Started s = new_promise(env);
  if (!client_ || !bridge_)
    return rejected(Bridge::of(env), s, ENRICH_ERR_CLOSED, "query: the client is closed");
  auto* p = new Pending{s.deferred, this, mode};
  enrich_op_id id = 0;
  enrich_status status = enrich_query(client_, bridge_->queue(), sql.c_str(),
                                      params.pointers.data(), params.pointers.size(), &o, p, &id);
  if (status != ENRICH_OK) {
    delete p;
    return rejected(bridge_, s, status, "query");
  }
  began();
  bridge_->began();
  report_id(info, 5, id);
  return Napi::Value(env, s.promise);
}

Napi::Value ClientWrap::http(const Napi::CallbackInfo& info) {
  // http(method, url, headers [name, value, ...], body (Buffer|string|undefined), timeoutMs,
  //      retry, deadlineMs, cancelSlot)
  Napi::Env env = info.Env();
  std::string method = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "GET";
  std::string url = string_arg(info, 1, "url");
  std::vector<std::string> header_text;
  if (info[2].IsArray()) {
    auto a = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i + 1 < a.Length(); i += 2) {
      header_text.push_back(a.Get(i).ToString().Utf8Value());
      header_text.push_back(a.Get(i + 1).ToString().Utf8Value());
    }
  }
  std::vector<enrich_header> headers;
  for (std::size_t i = 0; i + 1 < header_text.size(); i += 2)
    headers.push_back(enrich_header{header_text[i].c_str(), header_text[i + 1].c_str()});
  std::string body_text;
  const char* body = nullptr;
  std::size_t body_length = 0;
  if (info[3].IsBuffer()) {
    auto b = info[3].As<Napi::Buffer<char>>();
    body = b.Data();
    body_length = b.Length();
  } else if (info[3].IsString()) {
    body_text = info[3].As<Napi::String>().Utf8Value();
    body = body_text.c_str();
    body_length = body_text.size();
  }
  enrich_http_request r = ENRICH_HTTP_REQUEST_INIT;
  r.method = method.c_str();
  r.url = url.c_str();
  r.headers = headers.empty() ? nullptr : headers.data();
  r.header_count = headers.size();
  r.body = body;
  r.body_length = body_length;
  r.timeout_ms = int_arg(info, 4);
  r.retry = info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value() ? 1 : 0;
  enrich_call_options o = call_options(info, 4, 6);
  Started s = new_promise(env);
  if (!client_ || !bridge_)
    return rejected(Bridge::of(env), s, ENRICH_ERR_CLOSED, "http: the client is closed");
  auto* p = new Pending{s.deferred, this, Mode::http};
  enrich_op_id id = 0;
  enrich_status status = enrich_http(client_, bridge_->queue(), &r, &o, p, &id);
  if (status != ENRICH_OK) {
    delete p;
    return rejected(bridge_, s, status, "http");
  }
  began();
  bridge_->began();
  report_id(info, 7, id);
  return Napi::Value(env, s.promise);
}

Napi::Value ClientWrap::run(const Napi::CallbackInfo& info) {
  // run(plan, inputsJson, asJson, profile, deadlineMs, cancelSlot, usePrimary, timings,
  //     traceparent, tracestate)
  Napi::Env env = info.Env();
  Bridge* bridge = Bridge::of(env);
  if (info.Length() < 1 || !info[0].IsObject() || bridge->plan_constructor.IsEmpty() ||
      !info[0].As<Napi::Object>().InstanceOf(bridge->plan_constructor.Value()))
    throw Napi::TypeError::New(env, "plan must be an enrich Plan");
  PlanWrap* plan = PlanWrap::Unwrap(info[0].As<Napi::Object>());
  std::string inputs = string_arg(info, 1, "inputs");
  bool as_json = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  enrich_call_options o = call_options(info, 99, 4);
  int profile = static_cast<int>(int_arg(info, 3));
  if (profile < ENRICH_PROFILE_DEFAULT || profile > ENRICH_PROFILE_PYTHON)
    throw Napi::RangeError::New(env, "bad profile");
  o.profile = static_cast<enrich_json_profile>(profile);
  o.use_primary = bool_arg(info, 6) ? 1 : 0;
  o.timings = bool_arg(info, 7) ? 1 : 0;
  std::string traceparent, tracestate;
  if (info.Length() > 8 && info[8].IsString()) {
    traceparent = info[8].As<Napi::String>().Utf8Value();
    o.traceparent = traceparent.c_str();
  }
  if (info.Length() > 9 && info[9].IsString()) {
    tracestate = info[9].As<Napi::String>().Utf8Value();
    o.tracestate = tracestate.c_str();
  }
  Started s = new_promise(env);
  if (!client_ || !bridge_)
    return rejected(bridge, s, ENRICH_ERR_CLOSED, "run: the client is closed");
  auto* p =
      new Pending{s.deferred, this, as_json ? Mode::run_json : Mode::run_object, o.timings != 0};
  enrich_op_id id = 0;
  enrich_status status =
      enrich_plan_run(client_, bridge_->queue(), plan->plan(), inputs.c_str(), &o, p, &id);
  if (status != ENRICH_OK) {
    delete p;
    return rejected(bridge_, s, status, "run");
  }
  began();
  bridge_->began();
  report_id(info, 5, id);
  return Napi::Value(env, s.promise);
}

Napi::Value ClientWrap::tx_begin(const Napi::CallbackInfo& info) {
  // txBegin(timeoutMs, deadlineMs, cancelSlot)
  Napi::Env env = info.Env();
  enrich_call_options o = call_options(info, 0, 1);
  Started s = new_promise(env);
  if (!client_ || !bridge_)
    return rejected(Bridge::of(env), s, ENRICH_ERR_CLOSED, "transaction: the client is closed");
  auto* p = new Pending{s.deferred, this, Mode::tx_begin};
  enrich_op_id id = 0;
  enrich_status status = enrich_tx_begin(client_, bridge_->queue(), &o, p, &id);
  if (status != ENRICH_OK) {
    delete p;
    return rejected(bridge_, s, status, "transaction");
  }
  began();
  bridge_->began();
  report_id(info, 2, id);
  return Napi::Value(env, s.promise);
}

Napi::Value ClientWrap::cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!client_ || info.Length() < 1 || !info[0].IsNumber()) return Napi::Boolean::New(env, false);
  auto id = static_cast<enrich_op_id>(info[0].As<Napi::Number>().DoubleValue());
  return Napi::Boolean::New(env, id != 0 && enrich_cancel(client_, id) == ENRICH_OK);
}

Napi::Value ClientWrap::close(const Napi::CallbackInfo& info) {
  // Destroys the native client now (cancelling what is in flight); the promise resolves once
  // every operation of this client has settled.
  Napi::Env env = info.Env();
  Started s = new_promise(env);
  destroy_native(true);
  if (pending_ == 0) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, s.deferred, undefined);
  } else {
    close_waiters_.push_back(s.deferred);
  }
  return Napi::Value(env, s.promise);
}

/// A JSON buffer that the C API returns for the client (stats, options) as a string; null once
/// the client is closed.
Napi::Value ClientWrap::client_json(Napi::Env env, enrich_status (*read)(enrich_client*, char**)) {
  if (!client_) return env.Null();
  char* json = nullptr;
  if (read(client_, &json) != ENRICH_OK || !json) return env.Null();
  Napi::String text = Napi::String::New(env, json);
  enrich_free(json);
  return text;
}

Napi::Value ClientWrap::stats(const Napi::CallbackInfo& info) {
  return client_json(info.Env(), &enrich_client_stats);
}

Napi::Value ClientWrap::metrics(const Napi::CallbackInfo& info) {
  return client_json(info.Env(), &enrich_client_metrics_json);
}

Napi::Value ClientWrap::options(const Napi::CallbackInfo& info) {
  return client_json(info.Env(), &enrich_client_options_json);
}

Napi::Value ClientWrap::pending(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(pending_));
}

Napi::Value ClientWrap::closed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), client_ == nullptr);
}

// ---- TxWrap ----------------------------------------------------------------------------------

namespace {
struct TxInit {
  ClientWrap* client;
  enrich_tx* tx;
  Napi::Object client_object;
};
}  // namespace

Napi::Function TxWrap::define(Napi::Env env) {
  return DefineClass(
      env, "NativeTransaction",
      {InstanceMethod<&TxWrap::query>("query"), InstanceMethod<&TxWrap::commit>("commit"),
       InstanceMethod<&TxWrap::rollback>("rollback"), InstanceMethod<&TxWrap::free>("free")});
}

TxWrap::TxWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TxWrap>(info) {
  // Only TxWrap::make constructs these (JS code cannot create an External).
  if (info.Length() < 1 || !info[0].IsExternal())
    throw Napi::TypeError::New(info.Env(), "not constructible");
  auto* init = info[0].As<Napi::External<TxInit>>().Data();
  client_ = init->client;
  tx_ = init->tx;
  client_ref_ = Napi::Persistent(init->client_object);
  client_->add_tx(this);
}

TxWrap::~TxWrap() {
  if (tx_) {  // only while the client is alive: destroying a client releases its transactions
    client_->remove_tx(this);
    release();
  }
}

napi_value TxWrap::make(Bridge* bridge, ClientWrap* client, enrich_tx* tx, napi_value* exception) {
  napi_env env = bridge->env();
  napi_value self = nullptr, ctor = nullptr, external = nullptr, result = nullptr;
  if (napi_get_reference_value(env, static_cast<napi_ref>(*client), &self) != napi_ok || !self ||
      napi_get_reference_value(env, static_cast<napi_ref>(bridge->tx_constructor), &ctor) !=
          napi_ok) {
    enrich_tx_free(tx);
    return nullptr;
  }
  TxInit init{client, tx, Napi::Object(env, self)};
  if (napi_create_external(env, &init, nullptr, nullptr, &external) != napi_ok) {
    enrich_tx_free(tx);
    return nullptr;
  }
  napi_status s = napi_new_instance(env, ctor, 1, &external, &result);
  if (s == napi_ok) return result;  // the TxWrap owns tx now
  enrich_tx_free(tx);
  napi_value e = nullptr;
  napi_valuetype type = napi_undefined;
  if (s == napi_pending_exception && napi_get_and_clear_last_exception(env, &e) == napi_ok && e &&
      napi_typeof(env, e, &type) == napi_ok && type != napi_undefined)
    *exception = e;
  return nullptr;
}

void TxWrap::release() {
  if (!tx_) return;
  enrich_tx* tx = tx_;
  tx_ = nullptr;
  enrich_tx_free(tx);  // rolls back if still active
}

Napi::Value TxWrap::query(const Napi::CallbackInfo& info) {
  // query(sql, params, mode, timeoutMs, deadlineMs, cancelSlot)
  Napi::Env env = info.Env();
  Bridge* bridge = Bridge::of(env);
  std::string sql = string_arg(info, 0, "sql");
  Params params(info, 1);
  Mode mode = query_mode(info, 2);
  enrich_call_options o = call_options(info, 3, 4);
  Started s = new_promise(env);
  if (!tx_ || !client_->client())
    return rejected(bridge, s, ENRICH_ERR_CLOSED, "transaction query: the transaction is finished");
  auto* p = new Pending{s.deferred, client_, mode};
  enrich_op_id id = 0;
  enrich_status status = enrich_tx_query(tx_, bridge->queue(), sql.c_str(), params.pointers.data(),
                                         params.pointers.size(), &o, p, &id);
  if (status != ENRICH_OK) {
    delete p;
    return rejected(bridge, s, status, "transaction query");
  }
  client_->began();
  bridge->began();
  report_id(info, 5, id);
  return Napi::Value(env, s.promise);
}

Napi::Value TxWrap::end(const Napi::CallbackInfo& info, bool commit) {
  Napi::Env env = info.Env();
  Bridge* bridge = Bridge::of(env);
  Started s = new_promise(env);
  const char* what = commit ? "commit" : "rollback";
  if (!tx_ || !client_->client()) return rejected(bridge, s, ENRICH_ERR_CLOSED, what);
  auto* p = new Pending{s.deferred, client_, Mode::tx_end};
  enrich_status status = commit ? enrich_tx_commit(tx_, bridge->queue(), p, nullptr)
                                : enrich_tx_rollback(tx_, bridge->queue(), p, nullptr);
  if (status != ENRICH_OK) {
    delete p;
    return rejected(bridge, s, status, what);
  }
  client_->began();
  bridge->began();
  return Napi::Value(env, s.promise);
}

Napi::Value TxWrap::free(const Napi::CallbackInfo& info) {
  if (tx_) {
    client_->remove_tx(this);
    release();
  }
  return info.Env().Undefined();
}

// ---- PlanWrap --------------------------------------------------------------------------------

Napi::Function PlanWrap::define(Napi::Env env) {
  return DefineClass(env, "NativePlan", {InstanceAccessor<&PlanWrap::name>("name")});
}

Napi::Value PlanWrap::name(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), enrich_plan_name(plan_));
}

PlanWrap::PlanWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PlanWrap>(info) {
  if (info.Length() < 1 || !info[0].IsExternal())
    throw Napi::TypeError::New(info.Env(), "not constructible");
  plan_ = info[0].As<Napi::External<enrich_plan>>().Data();
}

PlanWrap::~PlanWrap() {
  enrich_plan_free(plan_);
}  // runs in flight share the plan: safe

Napi::Value PlanWrap::wrap(Napi::Env env, enrich_status status, enrich_plan* plan,
                           enrich_error* error) {
  Bridge* bridge = Bridge::of(env);
  if (status != ENRICH_OK) {
    napi_value e = bridge->error_value(status, error, "plan");
    enrich_error_free(error);
    if (!e) throw Napi::Error::New(env, "enrich: cannot load the plan");
    throw Napi::Error(env, e);
  }
  return bridge->plan_constructor.New({Napi::External<enrich_plan>::New(env, plan)});
}

Napi::Value PlanWrap::load(const Napi::CallbackInfo& info) {
  std::string path = string_arg(info, 0, "path");
  std::string vars = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  enrich_plan* plan = nullptr;
  enrich_error* error = nullptr;
  enrich_status status =
      enrich_plan_load(&plan, path.c_str(), vars.empty() ? nullptr : vars.c_str(), &error);
  return wrap(info.Env(), status, plan, error);
}

Napi::Value PlanWrap::from_json(const Napi::CallbackInfo& info) {
  std::string text = string_arg(info, 0, "json");
  std::string vars = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  enrich_plan* plan = nullptr;
  enrich_error* error = nullptr;
  enrich_status status = enrich_plan_from_json(&plan, text.data(), text.size(),
                                               vars.empty() ? nullptr : vars.c_str(), &error);
  return wrap(info.Env(), status, plan, error);
}

}  // namespace enrich_node
