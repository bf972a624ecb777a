#pragma once
// The bridge between enrich's I/O threads and one Node environment (the main thread or a Worker).
//
// One Bridge per napi_env (napi_set_instance_data), created when the addon is loaded into that
// environment. It owns:
//   - one enrich_queue that every operation started from this environment completes into;
//   - one napi_threadsafe_function, created once, called with no data by the queue's notify
//     callback (on an I/O thread) when the queue goes from empty to non-empty;
//   - the list of live clients, so that environment teardown can destroy them.
//
// Thread rules (the reason this file exists):
//   - I/O threads only ever call Bridge::notify, which touches nothing but `exiting` and `tsfn`.
//     They never see a JS value.
//   - Everything else runs on the environment's JS thread.
//   - The tsfn's call_js drains the queue in batches of kBatch and settles the promises.
//   - `pending` counts operations started and not yet drained. The tsfn is Ref'd while it is
//     non-zero (a pending request keeps the event loop alive) and Unref'd at zero (an idle
//     client never does).
//
// Teardown (Bridge::teardown, from napi_add_env_cleanup_hook, the instance-data finalizer or
// process 'exit'): destroy every client first (enrich_client_destroy joins the I/O threads, so
// after it no thread can call notify), then discard whatever is still queued (promises can no
// longer settle), then release the tsfn with napi_tsfn_abort. call_js may still run afterwards
// with env == nullptr (Node empties the tsfn's queue that way): it then does nothing.

#include <napi.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "enrich.h"

namespace enrich_node {

class ClientWrap;

/// What the JS thread does with an operation's completion.
enum class Mode : std::uint8_t {
  rows = 0,     ///< query(): {rows, rowCount, command, fields}
  one = 1,      ///< queryOne(): first row or null
  value = 2,    ///< queryValue(): first column of the first row or null
  execute = 3,  ///< execute(): affected rows
  http = 4,     ///< httpRequest(): HttpResponse
  run_object = 5,
  run_json = 6,
  tx_begin = 7,
  tx_end = 8,
};

/// One started operation; the completion's user_data. Owned by the bridge until drained.
struct Pending {
  napi_deferred deferred = nullptr;
  ClientWrap* client = nullptr;
  Mode mode = Mode::rows;
  /// A plan run that asked for its timings: it resolves to [document, timings JSON].
  bool timings = false;
};

class Bridge {
 public:
  static constexpr std::size_t kBatch = 256;
  /// Batches drained per tsfn call before yielding to the event loop.
  static constexpr int kRoundsPerCall = 16;

  /// Creates the bridge of `env` (once, at module load).
  static Bridge* create(Napi::Env env);
  /// The bridge of `env`, or nullptr after teardown.
  static Bridge* of(Napi::Env env);

  Napi::Env env() const { return env_; }
  enrich_queue* queue() const { return queue_; }
  bool torn_down() const { return torn_down_; }

  /// JS helpers installed by lib/native.js (decoding rows, building errors and responses).
  /// Plain napi_refs: the drain path uses the C N-API only (see bridge.cpp).
  void set_helpers(Napi::Object helpers);
  napi_ref make_error = nullptr, decode_rows = nullptr, make_http_response = nullptr,
           json_parse = nullptr;
  Napi::FunctionReference tx_constructor, plan_constructor;

  /// Call before an operation is handed to the C API / after its completion was handled.
  void began();
  void ended();
  std::size_t pending() const { return pending_; }
  /// Counters for bench/node_bridge.js: tsfn calls that drained, completions settled.
  std::uint64_t drains() const { return drains_; }
  std::uint64_t completions() const { return completions_; }

  void add_client(ClientWrap* client);
  void remove_client(ClientWrap* client);

  /// The notify callback given to enrich_queue_set_notify (I/O thread).
  static void notify(void* payload);

  /// Destroys every client, discards queued completions and releases the tsfn. Idempotent.
  void teardown();
  /// Destroys every client without touching JS or the tsfn (process 'exit' / atexit): the event
  /// loop will not run again, so nothing may call into it.
  void shutdown_for_exit();

  /// An Error object for a C API status (and an optional enrich_error with the details), or
  /// nullptr when JS cannot run (a Worker being terminated).
  napi_value error_value(enrich_status status, const enrich_error* error, const char* context);
  /// False once a call into JS failed for good (a Worker being terminated): stop touching JS.
  bool js_usable() const { return !js_dead_; }
  void js_failed() { js_dead_ = true; }

 private:
  explicit Bridge(Napi::Env env) : env_(env) {}
  ~Bridge();

  static void call_js(napi_env env, napi_value js_cb, void* context, void* data);
  static void cleanup_hook(void* arg);
  static void finalize_instance(napi_env env, void* data, void* hint);

  void drain();
  void drain_logs();
  void process(enrich_completion* completion) noexcept;
  bool settle(Pending* p, enrich_completion* c);

  Napi::Env env_;
  enrich_queue* queue_ = nullptr;
  napi_threadsafe_function tsfn_ = nullptr;
  std::size_t pending_ = 0;
  std::uint64_t drains_ = 0;
  std::uint64_t completions_ = 0;
  bool refed_ = false;
  bool torn_down_ = false;
  bool draining_ = false;
  bool js_dead_ = false;
  std::atomic<bool> exiting_{false};
  std::vector<ClientWrap*> clients_;
  std::mutex clients_mu_;  // only against the atexit safety net
};

}  // namespace enrich_node
