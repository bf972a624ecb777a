#pragma once
// Shared declarations of the enrich._native extension. It sits on the C API (capi/enrich.h) only.
//
// Threads and the GIL: everything here runs on a Python thread. The core's I/O threads never
// call into this module: completions go to enrich_queue objects that Python threads drain
// (the per-loop Bridge from its loop's reader callback, sync calls from their own thread-local
// queue, log events from the enrich-log thread).

#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "enrich.h"

namespace py = pybind11;

namespace enrich_py {

/// What a completion is turned into once it arrives.
enum class Kind : std::uint8_t {
  rows,        ///< list[dict]
  one,         ///< dict | None
  value,       ///< first column of the first row, or None
  execute,     ///< the command tag ("INSERT 0 1")
  json,        ///< the JSON bytes (plan runs)
  json_timed,  ///< (JSON bytes, timings JSON str): a plan run that asked for its timings
  http,        ///< (status, headers, body, elapsed_ms)
  tx_begin,    ///< a NativeTx
  tx_end,      ///< None
};

/// Python objects the module needs on hot paths, looked up once at import. Never freed: they
/// must outlive every other object of the module, including during interpreter finalisation.
struct PyRefs {
  py::object decimal;        // decimal.Decimal (imported on first use: decode.cpp)
  py::object uuid;           // uuid.UUID (imported on first use: decode.cpp)
  py::object error_factory;  // enrich._errors.from_native (set by the package at import)
  py::object slow_decode;    // enrich._types.decode_text(oid, text) for rare types
  py::object slow_encode;    // enrich._params.encode(value) for parameter types not handled here
};
PyRefs& refs();

/// Builds the enrich.Error subclass instance for a status and message (and the server fields).
py::object make_error(enrich_status status, const char* message, const char* sqlstate = "",
                      const char* detail = "", const char* hint = "", bool retriable = false,
                      const enrich_error* error = nullptr);
py::object make_error(const enrich_error* error);
/// Raises the enrich.Error for `status` as a C++ exception that pybind11 turns into Python's.
[[noreturn]] void raise_error(enrich_status status, const std::string& message);
[[noreturn]] void raise_error(enrich_error* error);  // frees `error`

/// Decodes a successful completion into the Python value `kind` asks for.
py::object decode_completion(enrich_completion* c, Kind kind);
/// The outcome of a completion: its value, or the exception object for its error (returned as
/// `is_error = true`).
py::object outcome(enrich_completion* c, Kind kind, bool& is_error);
void init_decode();

/// Parameters ($1..$n) converted to Postgres text format; None becomes SQL NULL.
struct Params {
  std::vector<std::string> storage;
  std::vector<const char*> pointers;
  std::vector<bool> nulls;
  void add(py::handle value, std::size_t index);
  void from(py::handle sequence);
  const char* const* data();
  std::size_t size() const { return storage.size(); }
};

/// The client: an enrich_client plus a lock so that close() never races a call in progress.
struct NativeClient {
  enrich_client* handle = nullptr;
  std::shared_mutex mu;  // shared: a call is using `handle`; exclusive: close()
  ~NativeClient();
  void close();  // idempotent; releases the GIL while the core shuts down
};
using ClientPtr = std::shared_ptr<NativeClient>;

/// A shared (read) lock on a client that is still open; raises enrich.ClosedError otherwise.
struct OpenClient {
  std::shared_lock<std::shared_mutex> lock;
  enrich_client* handle;
  explicit OpenClient(NativeClient& client);
};

struct NativePlan {
  enrich_plan* handle = nullptr;
  ~NativePlan();
};
using PlanPtr = std::shared_ptr<NativePlan>;

/// A transaction handle; freeing it rolls back an unfinished transaction.
struct NativeTx {
  enrich_tx* handle = nullptr;
  ~NativeTx();
};
using TxPtr = std::shared_ptr<NativeTx>;

/// Call options from the Python side (seconds are converted by the Python layer).
struct CallOptions {
  std::int64_t timeout_ms = 0;
  std::int64_t deadline_ms = 0;
  int profile = ENRICH_PROFILE_DEFAULT;
  bool use_primary = false;
  bool coalesce = false;
  std::string batch;  // the key's SQL type; empty: off
  bool timings = false;
  std::string traceparent, tracestate;
  enrich_call_options c() const {
    enrich_call_options o = ENRICH_CALL_OPTIONS_INIT;
    o.timeout_ms = timeout_ms;
    o.deadline_ms = deadline_ms;
    o.profile = static_cast<enrich_json_profile>(profile);
    o.use_primary = use_primary ? 1 : 0;
    o.coalesce = coalesce ? 1 : 0;
    o.batch = batch.empty() ? nullptr : batch.c_str();
    o.timings = timings ? 1 : 0;
    o.traceparent = traceparent.empty() ? nullptr : traceparent.c_str();
    o.tracestate = tracestate.empty() ? nullptr : tracestate.c_str();
    return o;
  }
};

/// One operation to start: the single description used by the async bridge and the sync calls.
struct Op {
  enum class Type { query, tx_query, tx_begin, tx_commit, tx_rollback, http, plan };
  Type type = Type::query;
  Kind kind = Kind::rows;
  ClientPtr client;
  TxPtr tx;
  PlanPtr plan;
  std::string sql;
  Params params;
  CallOptions options;
  // http
  std::string method, url, body;
  bool has_body = false;
  std::vector<std::pair<std::string, std::string>> headers;
  int retry = 0;
  // plan
  std::string inputs_json;
};

/// Starts `op` with its completion going to `queue` carrying `user_data`; raises on failure.
enrich_op_id start(Op& op, enrich_queue* queue, void* user_data);

/// Builds an Op from the Python arguments of the bridge and sync entry points.
Op make_query_op(ClientPtr client, TxPtr tx, std::string sql, py::handle args, Kind kind,
                 CallOptions options);

Op make_http_op(ClientPtr client, std::string method, std::string url, py::handle headers,
                py::handle body, std::int64_t timeout_ms, bool retry);
/// `trace`: (traceparent, tracestate) of the caller's span, or None; with it (or `timings`) the
/// result is (document bytes, timings JSON) instead of the bytes.
Op make_plan_op(ClientPtr client, PlanPtr plan, std::string inputs_json, int profile,
                std::int64_t deadline_ms, bool use_primary, bool timings, py::handle trace);
/// what: 0 begin, 1 commit, 2 rollback.
Op make_tx_op(ClientPtr client, TxPtr tx, int what, std::int64_t timeout_ms);

void bind_bridge(py::module_& m);
void bind_sync(py::module_& m);

}  // namespace enrich_py
