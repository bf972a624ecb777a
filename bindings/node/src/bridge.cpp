#include "bridge.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "client_wrap.hpp"

namespace enrich_node {
namespace {

// Every live bridge, for the atexit safety net. process.exit() does not run environment
// cleanup hooks: without this, I/O threads would still run while static destructors do.
// lib/native.js also calls shutdown from process.on('exit'), which normally comes first.
// By the time exit() runs, Node has already stopped every Worker (and run their cleanup hooks),
// so only the main environment's bridge can still be here.
struct Registry {
  std::mutex mu;
  std::vector<Bridge*> bridges;
  bool atexit_registered = false;
};

Registry& registry() {
  static auto* r = new Registry;  // never destroyed: used from atexit
  return *r;
}

void at_exit() {
  auto& r = registry();
  std::vector<Bridge*> bridges;
  {
    std::lock_guard lock(r.mu);
    bridges = r.bridges;
  }
  for (auto* b : bridges) b->shutdown_for_exit();
}

void check(napi_env env, napi_status status, const char* what) {
  if (status != napi_ok)
    Napi::Error::New(env, std::string("enrich: ") + what + " failed").ThrowAsJavaScriptException();
}

}  // namespace

Bridge* Bridge::create(Napi::Env env) {
  auto* b = new Bridge(env);
  if (enrich_queue_create(&b->queue_) != ENRICH_OK) {
    delete b;
    throw Napi::Error::New(env, "enrich: cannot create the completion queue");
  }
  napi_value name;
  napi_create_string_utf8(env, "enrich.bridge", NAPI_AUTO_LENGTH, &name);
  // No JS function: call_js does all the work. Unlimited queue (notify fires only on
  // empty -> non-empty, so at most a few calls are ever queued) and one owning "thread" (us).
  napi_status s = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr,
                                                  nullptr, b, &Bridge::call_js, &b->tsfn_);
  if (s != napi_ok) {
    enrich_queue_destroy(b->queue_);
    delete b;
    throw Napi::Error::New(env, "enrich: cannot create the thread-safe function");
  }
  // Idle until the first operation: loading the addon never keeps the process alive.
  napi_unref_threadsafe_function(env, b->tsfn_);
  enrich_queue_set_notify(b->queue_, &Bridge::notify, b);
  check(env, napi_set_instance_data(env, b, &Bridge::finalize_instance, nullptr),
        "napi_set_instance_data");
  // Registered after the tsfn was created, so it runs before the tsfn's own cleanup (hooks run
  // in reverse order of registration) while the tsfn is still open.
  check(env, napi_add_env_cleanup_hook(env, &Bridge::cleanup_hook, b), "napi_add_env_cleanup_hook");
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.bridges.push_back(b);
  if (!r.atexit_registered) {
    r.atexit_registered = true;
    std::atexit(at_exit);
  }
  return b;
}

Bridge* Bridge::of(Napi::Env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  return static_cast<Bridge*>(data);
}

Bridge::~Bridge() = default;

void Bridge::set_helpers(Napi::Object helpers) {
  auto keep = [&](napi_ref& ref, const char* name) {
    Napi::Function f = helpers.Get(name).As<Napi::Function>();
    if (ref) napi_delete_reference(env_, ref);
    napi_create_reference(env_, f, 1, &ref);
  };
  keep(make_error, "makeError");
  keep(decode_rows, "decodeRows");
  keep(make_http_response, "makeHttpResponse");
  keep(json_parse, "jsonParse");
}

void Bridge::began() {
  if (pending_++ == 0 && !refed_ && tsfn_) {
    napi_ref_threadsafe_function(env_, tsfn_);
    refed_ = true;
  }
}

void Bridge::ended() {
  if (pending_ > 0 && --pending_ == 0 && refed_ && tsfn_) {
    napi_unref_threadsafe_function(env_, tsfn_);
    refed_ = false;
  }
}

void Bridge::add_client(ClientWrap* client) {
  std::lock_guard lock(clients_mu_);
  clients_.push_back(client);
}

void Bridge::remove_client(ClientWrap* client) {
  std::lock_guard lock(clients_mu_);
  clients_.erase(std::remove(clients_.begin(), clients_.end(), client), clients_.end());
}

void Bridge::notify(void* payload) {
  auto* b = static_cast<Bridge*>(payload);
  if (b->exiting_.load(std::memory_order_acquire)) return;
  // napi_closing after the environment started closing: nothing to do, teardown discards.
  napi_call_threadsafe_function(b->tsfn_, nullptr, napi_tsfn_nonblocking);
}

void Bridge::call_js(napi_env env, napi_value, void* context, void*) {
  // env == nullptr: the tsfn is being finalized with calls still queued. `context` may already
  // be gone; touch nothing.
  if (env == nullptr || context == nullptr) return;
  auto* b = static_cast<Bridge*>(context);
  try {
    b->drain();
  } catch (...) {
    // A C++ exception must not escape into Node; the affected promises were already rejected.
  }
}

void Bridge::drain() {
  if (torn_down_ || exiting_.load(std::memory_order_relaxed) || draining_) return;
  draining_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{draining_};
  ++drains_;
  enrich_completion* batch[kBatch];
  bool more = true;
  for (int round = 0; round < kRoundsPerCall && more; ++round) {
    std::size_t n = enrich_queue_poll(queue_, batch, kBatch);
    for (std::size_t i = 0; i < n; ++i) process(batch[i]);  // never throws
    more = n == kBatch;
    if (torn_down_) break;  // a callback closed everything
  }
  if (!torn_down_) drain_logs();
  // Still items after kRoundsPerCall batches: the queue did not go empty, so no notify will come.
  // Let the event loop breathe (I/O, timers, microtasks) and continue in a later turn.
  if (more && !torn_down_ && tsfn_)
    napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
}

void Bridge::drain_logs() {
  std::vector<ClientWrap*> clients;
  {
    std::lock_guard lock(clients_mu_);
    clients = clients_;
  }
  enrich_completion* batch[kBatch];
  for (auto* client : clients) {
    if (!client->log_queue()) continue;
    std::size_t n;
    do {
      n = enrich_queue_poll(client->log_queue(), batch, kBatch);
      for (std::size_t i = 0; i < n; ++i) {
        client->log(batch[i]);
        enrich_completion_free(batch[i]);
      }
    } while (n == kBatch && !torn_down_);
  }
}

void Bridge::process(enrich_completion* c) noexcept {
  auto* p = static_cast<Pending*>(enrich_completion_user_data(c));
  if (p == nullptr) {  // not ours (cannot happen: every operation carries a Pending)
    enrich_completion_free(c);
    return;
  }
  if (!js_dead_) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env_, &scope) != napi_ok) {
      js_dead_ = true;
    } else {
      bool ok = false;
      try {
        ok = settle(p, c);
      } catch (...) {  // std::bad_alloc: this promise stays pending, the rest goes on
        ok = true;
      }
      if (!ok) js_dead_ = true;
      napi_close_handle_scope(env_, scope);
    }
  }
  enrich_completion_free(c);
  ++completions_;
  ClientWrap* client = p->client;
  delete p;
  if (client) client->ended();
  ended();
}

// ---- the drain path touches JS through the C N-API only
// ------------------------------------------
//
// While a Worker is being terminated its loop can still run call_js, but calls into JS fail.
// node-addon-api turns such a failure into a Napi::Error, whose constructor aborts the process
// when it cannot attach its properties ("FATAL ERROR: Error::Error napi_define_properties").
// So here every status is checked: a JS exception rejects the promise, any other failure marks
// JS unusable and the rest is only freed (teardown follows).

namespace {

struct Js {
  napi_env env;
  bool failed = false;

  /// `v` is read after the call that fills it (argument evaluation order is unspecified).
  napi_value check(napi_status s, const napi_value& v) {
    if (s != napi_ok) failed = true;
    return failed ? nullptr : v;
  }
  napi_value string(const char* text, std::size_t length = NAPI_AUTO_LENGTH) {
    napi_value v = nullptr;
    if (failed) return nullptr;
    return check(napi_create_string_utf8(env, text ? text : "", text ? length : 0, &v), v);
  }
  napi_value text_or_null(const char* text, std::size_t length) {
    napi_value v = nullptr;
    if (failed) return nullptr;
    if (!text) return check(napi_get_null(env, &v), v);
    return check(napi_create_string_utf8(env, text, length, &v), v);
  }
  napi_value number(double d) {
    napi_value v = nullptr;
    if (failed) return nullptr;
    return check(napi_create_double(env, d, &v), v);
  }
  napi_value boolean(bool b) {
    napi_value v = nullptr;
    if (failed) return nullptr;
    return check(napi_get_boolean(env, b, &v), v);
  }
  napi_value undefined() {
    napi_value v = nullptr;
    if (failed) return nullptr;
    return check(napi_get_undefined(env, &v), v);
  }
  napi_value array(std::size_t n) {
    napi_value v = nullptr;
    if (failed) return nullptr;
    return check(napi_create_array_with_length(env, n, &v), v);
  }
  void set(napi_value array, uint32_t index, napi_value value) {
    if (!failed && napi_set_element(env, array, index, value) != napi_ok) failed = true;
  }
  napi_value buffer(const char* data, std::size_t length) {
    napi_value v = nullptr;
    void* copy = nullptr;
    if (failed) return nullptr;
    return check(napi_create_buffer_copy(env, length, length ? data : "", &copy, &v), v);
  }
  napi_value deref(napi_ref ref) {
    napi_value v = nullptr;
    if (failed || !ref) return failed = true, nullptr;
    return check(napi_get_reference_value(env, ref, &v), v);
  }
  /// Calls `fn`. A JS exception it throws goes to *exception (cleared); nullptr is returned.
  napi_value call(napi_ref fn, std::initializer_list<napi_value> args, napi_value* exception) {
    napi_value f = deref(fn);
    napi_value recv = undefined();
    if (failed) return nullptr;
    napi_value argv[8];
    std::size_t n = 0;
    for (napi_value a : args) argv[n++] = a;
    napi_value result = nullptr;
    napi_status s = napi_call_function(env, recv, f, n, argv, &result);
    if (s == napi_ok) return result;
    napi_value e = nullptr;
    napi_valuetype type = napi_undefined;
    if (s == napi_pending_exception && napi_get_and_clear_last_exception(env, &e) == napi_ok && e &&
        napi_typeof(env, e, &type) == napi_ok && type != napi_undefined) {
      *exception = e;
      return nullptr;
    }
    failed = true;  // JS cannot run (terminating)
    return nullptr;
  }
};

}  // namespace

napi_value Bridge::error_value(enrich_status status, const enrich_error* error,
                               const char* context) {
  Js js{env_};
  std::string message;
  if (error)
    message = enrich_error_message(error);
  else
    message = std::string(context ? context : "enrich") + ": " + enrich_status_name(status);
  const char* sqlstate = error ? enrich_error_sqlstate(error) : "";
  const char* detail = error ? enrich_error_detail(error) : "";
  const char* hint = error ? enrich_error_hint(error) : "";
  bool retriable = error ? enrich_error_retriable(error) != 0 : false;
  napi_value msg = js.string(message.c_str(), message.size());
  if (!make_error) {  // before lib/native.js installed the helpers
    napi_value e = nullptr;
    if (js.failed || napi_create_error(env_, nullptr, msg, &e) != napi_ok) return nullptr;
    return e;
  }
  // The server's further fields (enrich_diag order), as one array.
  napi_value diag = js.array(error ? ENRICH_DIAG_WHERE + 1 : 0);
  for (int i = 0; error && i <= ENRICH_DIAG_WHERE; ++i)
    js.set(diag, static_cast<uint32_t>(i),
           js.string(enrich_error_diag(error, static_cast<enrich_diag>(i))));
  napi_value exception = nullptr;
  napi_value e = js.call(
      make_error,
      {js.number(static_cast<double>(status)), msg, js.string(sqlstate ? sqlstate : ""),
       js.string(detail ? detail : ""), js.string(hint ? hint : ""), js.boolean(retriable), diag},
      &exception);
  if (js.failed) return nullptr;
  return e ? e : exception;
}

bool Bridge::settle(Pending* p, enrich_completion* c) {
  napi_env env = env_;
  Js js{env};
  auto reject = [&](napi_value error) {
    if (!error || napi_reject_deferred(env, p->deferred, error) != napi_ok) return false;
    return true;
  };
  enrich_status status = enrich_completion_status(c);
  if (status != ENRICH_OK) {
    napi_value error = error_value(status, enrich_completion_error(c), nullptr);
    std::size_t length = 0;
    const char* timings = p->timings ? enrich_completion_timings_json(c, &length) : nullptr;
    if (error && timings) {
      // A failed run that asked for timings: they go with the error (non-enumerable
      // `_enrichTimings`), so that the plan's span still gets its step spans. Best effort.
      napi_property_descriptor d{"_enrichTimings", nullptr, nullptr,
                                 nullptr,          nullptr, js.string(timings, length),
                                 napi_default,     nullptr};
      if (!js.failed) napi_define_properties(env, error, 1, &d);
    }
    return reject(error);
  }
  napi_value result = nullptr;
  napi_value exception = nullptr;
  switch (p->mode) {
    case Mode::rows:
    case Mode::one:
    case Mode::value: {
      std::size_t rows = enrich_completion_rows(c);
      std::size_t cols = enrich_completion_columns(c);
      std::size_t take = p->mode == Mode::rows ? rows : std::min<std::size_t>(rows, 1);
      napi_value names = js.array(cols);
      napi_value types = js.array(cols);
      for (std::size_t k = 0; k < cols && !js.failed; ++k) {
        js.set(names, static_cast<uint32_t>(k), js.string(enrich_completion_column_name(c, k)));
        js.set(types, static_cast<uint32_t>(k), js.number(enrich_completion_column_type(c, k)));
      }
      napi_value values = js.array(take * cols);
      uint32_t index = 0;
      for (std::size_t r = 0; r < take && !js.failed; ++r) {
        for (std::size_t k = 0; k < cols; ++k) {
          std::size_t length = 0;
          const char* data = enrich_completion_value(c, r, k, &length);
          js.set(values, index++, js.text_or_null(data, length));
        }
      }
      const char* tag = enrich_completion_command_tag(c);
      std::string command(tag ? tag : "");
      if (auto space = command.find(' '); space != std::string::npos) command.resize(space);
      result = js.call(decode_rows,
                       {js.number(static_cast<double>(p->mode)), names, types, values,
                        js.number(static_cast<double>(enrich_completion_affected_rows(c))),
                        js.string(command.c_str(), command.size())},
                       &exception);
      break;
    }
    case Mode::execute:
      result = js.number(static_cast<double>(enrich_completion_affected_rows(c)));
      break;
    case Mode::http: {
      std::size_t count = enrich_completion_http_header_count(c);
      napi_value headers = js.array(count * 2);
      for (std::size_t i = 0; i < count && !js.failed; ++i) {
        const char *name = nullptr, *value = nullptr;
        if (enrich_completion_http_header(c, i, &name, &value) != ENRICH_OK) name = value = "";
        js.set(headers, static_cast<uint32_t>(2 * i), js.string(name));
        js.set(headers, static_cast<uint32_t>(2 * i + 1), js.string(value));
      }
      std::size_t length = 0;
      const char* body = enrich_completion_json(c, &length);
      result =
          js.call(make_http_response,
                  {js.number(static_cast<double>(enrich_completion_http_status(c))), headers,
                   js.buffer(body, body ? length : 0), js.number(enrich_completion_elapsed_ms(c))},
                  &exception);
      break;
    }
    case Mode::run_object: {
      std::size_t length = 0;
      const char* json = enrich_completion_json(c, &length);
      result =
          js.call(json_parse, {json ? js.string(json, length) : js.string("null")}, &exception);
      break;
    }
    case Mode::run_json: {
      std::size_t length = 0;
      const char* json = enrich_completion_json(c, &length);
      result = json ? js.buffer(json, length) : js.buffer("null", 4);
      break;
    }
    case Mode::tx_begin: {
      enrich_tx* tx = enrich_completion_take_tx(c);
      ClientWrap* client = p->client;
      if (!tx || !client || !client->client()) {  // the client was closed meanwhile
        if (tx) enrich_tx_free(tx);
        return reject(error_value(ENRICH_ERR_CLOSED, nullptr, "transaction"));
      }
      result = TxWrap::make(this, client, tx, &exception);  // frees tx itself on failure
      if (!result && !exception) return false;
      break;
    }
    case Mode::tx_end:
      result = js.undefined();
      break;
  }
  if (p->timings && !exception && result) {
    // Asked for: [document, timings JSON]. The client's timings option can add timings to runs
    // that did not ask; those resolve to the document alone.
    std::size_t length = 0;
    const char* timings = enrich_completion_timings_json(c, &length);
    napi_value pair = js.array(2);
    js.set(pair, 0, result);
    js.set(pair, 1, timings ? js.string(timings, length) : js.string("{}"));
    result = pair;
  }
  if (js.failed) return false;
  if (exception) return reject(exception);
  return napi_resolve_deferred(env, p->deferred, result) == napi_ok;
}

void Bridge::shutdown_for_exit() {
  exiting_.store(true, std::memory_order_release);
  std::vector<ClientWrap*> clients;
  {
    std::lock_guard lock(clients_mu_);
    clients = clients_;
  }
  for (auto* client : clients) client->destroy_native(false);
}

void Bridge::teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  {
    auto& r = registry();
    std::lock_guard lock(r.mu);
    r.bridges.erase(std::remove(r.bridges.begin(), r.bridges.end(), this), r.bridges.end());
  }
  // 1. No more tsfn calls from now on; then join every I/O thread of this environment.
  exiting_.store(true, std::memory_order_release);
  std::vector<ClientWrap*> clients;
  {
    std::lock_guard lock(clients_mu_);
    clients = clients_;
  }
  for (auto* client : clients) client->destroy_native(false);
  // 2. Discard what is still queued: the promises can no longer settle.
  if (queue_) {
    enrich_completion* batch[kBatch];
    std::size_t n;
    while ((n = enrich_queue_poll(queue_, batch, kBatch)) > 0) {
      for (std::size_t i = 0; i < n; ++i) {
        delete static_cast<Pending*>(enrich_completion_user_data(batch[i]));
        enrich_completion_free(batch[i]);
      }
    }
  }
  for (auto* client : clients) client->detach();
  {
    std::lock_guard lock(clients_mu_);
    clients_.clear();
  }
  // 3. Release the tsfn (queued calls reach call_js with env == nullptr) and the queue.
  if (tsfn_) {
    napi_release_threadsafe_function(tsfn_, napi_tsfn_abort);
    tsfn_ = nullptr;
  }
  if (queue_) {
    enrich_queue_destroy(queue_);
    queue_ = nullptr;
  }
  // The environment is going away: it frees these references itself.
  tx_constructor.SuppressDestruct();
  plan_constructor.SuppressDestruct();
}

void Bridge::cleanup_hook(void* arg) {
  static_cast<Bridge*>(arg)->teardown();
}

void Bridge::finalize_instance(napi_env env, void* data, void*) {
  auto* b = static_cast<Bridge*>(data);
  if (!b->torn_down_) {
    b->teardown();
    napi_remove_env_cleanup_hook(env, &Bridge::cleanup_hook, b);
  }
  delete b;
}

}  // namespace enrich_node
