#pragma once
// The native objects behind lib/client.js: ClientWrap (an enrich_client), TxWrap (an enrich_tx)
// and PlanWrap (an enrich_plan). Their methods start operations and return promises; the bridge
// settles them.

#include <napi.h>

#include <cstddef>
#include <vector>

#include "bridge.hpp"
#include "enrich.h"

namespace enrich_node {

class TxWrap;

class ClientWrap : public Napi::ObjectWrap<ClientWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit ClientWrap(const Napi::CallbackInfo& info);
  ~ClientWrap() override;

  enrich_client* client() const { return client_; }
  enrich_queue* log_queue() const { return log_queue_; }
  Bridge* bridge() const { return bridge_; }

  /// Bookkeeping around one operation of this client (JS thread).
  void began();
  void ended();

  /// Forwards one log event to the JS logger callback.
  void log(enrich_completion* completion);

  /// Frees the transactions and destroys the native client (joins its I/O threads). With
  /// `touch_js` false nothing JS is used (teardown, exit).
  void destroy_native(bool touch_js);
  /// Called by the bridge's teardown: forget the bridge, free the log queue.
  void detach();

  void add_tx(TxWrap* tx) { txs_.push_back(tx); }
  void remove_tx(TxWrap* tx);

 private:
  Napi::Value query(const Napi::CallbackInfo& info);
  Napi::Value http(const Napi::CallbackInfo& info);
  Napi::Value run(const Napi::CallbackInfo& info);
  Napi::Value tx_begin(const Napi::CallbackInfo& info);
  Napi::Value cancel(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  Napi::Value options(const Napi::CallbackInfo& info);
  Napi::Value metrics(const Napi::CallbackInfo& info);
  Napi::Value client_json(Napi::Env env, enrich_status (*read)(enrich_client*, char**));
  Napi::Value pending(const Napi::CallbackInfo& info);
  Napi::Value closed(const Napi::CallbackInfo& info);

  Bridge* bridge_ = nullptr;
  enrich_client* client_ = nullptr;
  enrich_queue* log_queue_ = nullptr;
  Napi::FunctionReference on_log_;
  std::size_t pending_ = 0;
  bool closed_ = false;
  std::vector<napi_deferred> close_waiters_;
  std::vector<TxWrap*> txs_;
};

class TxWrap : public Napi::ObjectWrap<TxWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit TxWrap(const Napi::CallbackInfo& info);
  ~TxWrap() override;

  /// Wraps a transaction handle taken from a TX_BEGIN completion (drain path: C N-API only).
  /// nullptr on failure, with *exception set when the constructor threw; `tx` is then freed.
  static napi_value make(Bridge* bridge, ClientWrap* client, enrich_tx* tx, napi_value* exception);
  /// Rolls back (if active) and frees the native transaction; the object then rejects calls.
  void release();

 private:
  Napi::Value query(const Napi::CallbackInfo& info);
  Napi::Value end(const Napi::CallbackInfo& info, bool commit);
  Napi::Value commit(const Napi::CallbackInfo& info) { return end(info, true); }
  Napi::Value rollback(const Napi::CallbackInfo& info) { return end(info, false); }
  Napi::Value free(const Napi::CallbackInfo& info);

  ClientWrap* client_ = nullptr;
  enrich_tx* tx_ = nullptr;
  Napi::ObjectReference client_ref_;  // keeps the client alive as long as the transaction
};

class PlanWrap : public Napi::ObjectWrap<PlanWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit PlanWrap(const Napi::CallbackInfo& info);
  ~PlanWrap() override;
  const enrich_plan* plan() const { return plan_; }

  /// plan.load(path, variablesJson) / plan.fromJson(text, variablesJson), throwing on errors.
  static Napi::Value load(const Napi::CallbackInfo& info);
  static Napi::Value from_json(const Napi::CallbackInfo& info);

 private:
  Napi::Value name(const Napi::CallbackInfo& info);
  static Napi::Value wrap(Napi::Env env, enrich_status status, enrich_plan* plan,
                          enrich_error* error);
  enrich_plan* plan_ = nullptr;
};

}  // namespace enrich_node
