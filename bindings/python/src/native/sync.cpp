// Blocking calls for code without an event loop. Each thread has its own completion queue; the
// calling thread waits on the queue's fd with the GIL released, waking every 100 ms to let the
// main thread see Ctrl-C (which cancels the operation and waits for its completion, so that
// nothing is left behind).

#include <poll.h>

#include "native.hpp"

namespace enrich_py {
namespace {

struct FreeCompletion {
  void operator()(enrich_completion* c) const { enrich_completion_free(c); }
};
using CompletionPtr = std::unique_ptr<enrich_completion, FreeCompletion>;

struct ThreadQueue {
  enrich_queue* queue = nullptr;
  ~ThreadQueue() {
    if (queue) enrich_queue_destroy(queue);
  }
  enrich_queue* get() {
    if (!queue && enrich_queue_create(&queue) != ENRICH_OK)
      raise_error(ENRICH_ERR_INTERNAL, "could not create a completion queue");
    return queue;
  }
};
thread_local ThreadQueue t_queue;

/// Waits for the next completion of `queue` with the GIL released; `interruptible` lets the
/// main thread's signal handlers run between waits (an exception from them is returned as true).
enrich_completion* wait_one(enrich_queue* queue, bool interruptible, bool& interrupted) {
  int fd = enrich_queue_fd(queue);
  for (;;) {
    enrich_completion* c = nullptr;
    // The GIL is released and taken back by hand, not by py::gil_scoped_release. In a daemon
    // thread, taking it back while the interpreter finalizes ends the thread with pthread_exit
    // (Python 3.11). That forced unwind may not cross a noexcept frame such as the guard's
    // destructor: std::terminate, and the process dies at exit. From this function it unwinds
    // through pybind11's dispatcher (which rethrows it) like any thread Python ends.
    PyThreadState* state = PyEval_SaveThread();
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, interruptible ? 100 : 1000) > 0) enrich_queue_poll(queue, &c, 1);
    PyEval_RestoreThread(state);
    if (c) return c;
    if (interruptible && PyErr_CheckSignals() != 0) {
      interrupted = true;
      return nullptr;
    }
  }
}

py::object run_sync(Op& op) {
  enrich_queue* queue = t_queue.get();
  enrich_op_id id = start(op, queue, nullptr);
  bool interrupted = false;
  CompletionPtr c(wait_one(queue, true, interrupted));
  if (interrupted) {
    // Keep the pending exception (KeyboardInterrupt) while the operation winds down.
    py::error_already_set pending;
    {
      std::shared_lock lock(op.client->mu);
      if (op.client->handle) enrich_cancel(op.client->handle, id);
    }
    bool ignored = false;
    CompletionPtr last(wait_one(queue, false, ignored));
    throw pending;
  }
  bool is_error = false;
  py::object value = outcome(c.get(), op.kind, is_error);
  if (is_error) {
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(value.ptr())), value.ptr());
    throw py::error_already_set();
  }
  return value;
}

}  // namespace

void bind_sync(py::module_& m) {
  m.def("sync_query",
        [](const ClientPtr& client, py::object tx, std::string sql, py::handle args, int kind,
           std::int64_t timeout_ms, bool use_primary, bool coalesce, std::string batch) {
          TxPtr t = tx.is_none() ? nullptr : tx.cast<TxPtr>();
          CallOptions o;
          o.timeout_ms = timeout_ms;
          o.use_primary = use_primary;
          o.coalesce = coalesce;
          o.batch = std::move(batch);
          Op op = make_query_op(client, t, std::move(sql), args, static_cast<Kind>(kind), o);
          return run_sync(op);
        });
  m.def("sync_tx", [](const ClientPtr& client, py::object tx, int what, std::int64_t timeout_ms) {
    TxPtr t = tx.is_none() ? nullptr : tx.cast<TxPtr>();
    Op op = make_tx_op(client, t, what, timeout_ms);
    return run_sync(op);
  });
  m.def("sync_http", [](const ClientPtr& client, std::string method, std::string url,
                        py::handle headers, py::handle body, std::int64_t timeout_ms, bool retry) {
    Op op =
        make_http_op(client, std::move(method), std::move(url), headers, body, timeout_ms, retry);
    return run_sync(op);
  });
  m.def("sync_plan",
        [](const ClientPtr& client, const PlanPtr& plan, std::string inputs_json, int profile,
           std::int64_t deadline_ms, bool use_primary, bool timings, py::handle trace) {
          Op op = make_plan_op(client, plan, std::move(inputs_json), profile, deadline_ms,
                               use_primary, timings, trace);
          return run_sync(op);
        });
}

}  // namespace enrich_py
