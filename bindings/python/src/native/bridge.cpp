// The bridge between the core and one asyncio event loop.
//
// One Bridge per loop, created by enrich._bridge when the loop first runs an operation. It owns
// an enrich_queue; every operation started through it delivers its completion to that queue with
// a token as user_data. The queue's fd is registered with loop.add_reader; the loop calls
// drain() on its own thread whenever the fd is readable, and drain() resolves the futures of a
// batch of completions. The core's I/O thread only pushes to the queue (and writes the eventfd
// when it goes from empty to non-empty): it never takes the GIL.
//
// Lifetime rules:
// - Everything here runs on the loop's thread with the GIL held (submissions come from
//   coroutines on that loop, drain() from its reader callback).
// - A future that is already done when its completion arrives (the task was cancelled) is left
//   alone: the completion is freed, which also frees a transaction it carries (rollback), so a
//   cancellation never leaks a connection and never raises InvalidStateError.
// - close() (the loop was closed) destroys the queue: completions still to come are discarded
//   by the core, and the pending futures are dropped.

#include <time.h>

#include <unordered_map>

#include "native.hpp"

namespace enrich_py {
namespace {

struct FreeCompletion {
  void operator()(enrich_completion* c) const { enrich_completion_free(c); }
};

std::uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

PyObject* interned(const char* s) {
  PyObject* o = PyUnicode_InternFromString(s);
  if (!o) throw py::error_already_set();
  return o;  // kept for the life of the process
}

class Bridge {
 public:
  static constexpr std::size_t kBatch = 256;
  static constexpr int kMaxBatchesPerDrain = 8;  // then yield to the loop; the fd stays readable

  Bridge() {
    if (enrich_queue_create(&queue_) != ENRICH_OK)
      raise_error(ENRICH_ERR_INTERNAL, "could not create a completion queue");
    static PyObject* done = interned("done");
    static PyObject* set_result = interned("set_result");
    static PyObject* set_exception = interned("set_exception");
    s_done_ = done;
    s_set_result_ = set_result;
    s_set_exception_ = set_exception;
  }
  ~Bridge() { close(); }

  int fd() const { return queue_ ? enrich_queue_fd(queue_) : -1; }
  bool closed() const { return queue_ == nullptr; }
  std::size_t pending() const { return pending_.size(); }

  enrich_op_id submit(Op& op, py::object future) {
    if (!queue_) raise_error(ENRICH_ERR_CLOSED, "the event loop of this bridge is closed");
    std::uint64_t token = next_token_++;
    enrich_op_id id =
        start(op, queue_, reinterpret_cast<void*>(static_cast<std::uintptr_t>(token)));
    pending_.emplace(token, Pending{std::move(future), op.kind});
    ++submitted_;
    return id;
  }

  void drain() {
    if (!queue_) return;
    std::uint64_t t0 = now_ns();
    enrich_completion* batch[kBatch];
    for (int round = 0; round < kMaxBatchesPerDrain && queue_; ++round) {
      std::size_t n = enrich_queue_poll(queue_, batch, kBatch);
      for (std::size_t i = 0; i < n; ++i) resolve(batch[i]);
      completions_ += n;
      if (n < kBatch) break;
    }
    ++drains_;
    drain_ns_ += now_ns() - t0;
  }

  void close() {
    if (queue_) {
      enrich_queue_destroy(queue_);  // frees what is queued, discards what still comes
      queue_ = nullptr;
    }
    std::unordered_map<std::uint64_t, Pending> dropped;
    dropped.swap(pending_);  // futures released here, after the map is consistent again
  }

  py::dict stats() const {
    py::dict d;
    d["pending"] = pending_.size();
    d["submitted"] = submitted_;
    d["completions"] = completions_;
    d["drains"] = drains_;
    d["drain_ns"] = drain_ns_;
    return d;
  }

 private:
  struct Pending {
    py::object future;
    Kind kind;
  };

  void resolve(enrich_completion* raw) {
    std::unique_ptr<enrich_completion, FreeCompletion> c(raw);
    auto token = static_cast<std::uint64_t>(
        reinterpret_cast<std::uintptr_t>(enrich_completion_user_data(raw)));
    auto it = pending_.find(token);
    if (it == pending_.end()) return;
    Pending p = std::move(it->second);
    pending_.erase(it);
    try {
      PyObject* fut = p.future.ptr();
      PyObject* done = PyObject_CallMethodNoArgs(fut, s_done_);
      if (!done) throw py::error_already_set();
      bool is_done = done == Py_True;
      Py_DECREF(done);
      if (is_done) return;  // cancelled: the completion (and any transaction in it) is freed
      bool is_error = false;
      py::object value;
      try {
        value = outcome(raw, p.kind, is_error);
      } catch (py::error_already_set& e) {  // even building the error failed: still resolve
        is_error = true;
        value = e.value();
      }
      PyObject* r =
          PyObject_CallMethodOneArg(fut, is_error ? s_set_exception_ : s_set_result_, value.ptr());
      if (!r) throw py::error_already_set();
      Py_DECREF(r);
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("enrich: resolving a future");
    } catch (const std::exception& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
      PyErr_WriteUnraisable(p.future.ptr());
    }
  }

  enrich_queue* queue_ = nullptr;
  std::uint64_t next_token_ = 1;
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::uint64_t submitted_ = 0, completions_ = 0, drains_ = 0, drain_ns_ = 0;
  PyObject* s_done_ = nullptr;
  PyObject* s_set_result_ = nullptr;
  PyObject* s_set_exception_ = nullptr;
};

CallOptions opts(std::int64_t timeout_ms, std::int64_t deadline_ms = 0, int profile = 0,
                 bool use_primary = false) {
  CallOptions o;
  o.timeout_ms = timeout_ms;
  o.deadline_ms = deadline_ms;
  o.profile = profile;
  o.use_primary = use_primary;
  return o;
}

}  // namespace

Op make_http_op(ClientPtr client, std::string method, std::string url, py::handle headers,
                py::handle body, std::int64_t timeout_ms, bool retry) {
  Op op;
  op.type = Op::Type::http;
  op.kind = Kind::http;
  op.client = std::move(client);
  op.method = std::move(method);
  op.url = std::move(url);
  if (!headers.is_none()) {
    for (auto item : py::reinterpret_borrow<py::iterable>(headers)) {
      auto pair = py::reinterpret_borrow<py::sequence>(item);
      op.headers.emplace_back(pair[0].cast<std::string>(), pair[1].cast<std::string>());
    }
  }
  if (!body.is_none()) {
    op.body = body.cast<std::string>();  // bytes
    op.has_body = true;
  }
  op.options = opts(timeout_ms);
  op.retry = retry ? 1 : 0;
  return op;
}

Op make_plan_op(ClientPtr client, PlanPtr plan, std::string inputs_json, int profile,
                std::int64_t deadline_ms, bool use_primary, bool timings, py::handle trace) {
  Op op;
  op.type = Op::Type::plan;
  op.kind = timings ? Kind::json_timed : Kind::json;
  op.client = std::move(client);
  op.plan = std::move(plan);
  op.inputs_json = std::move(inputs_json);
  op.options = opts(0, deadline_ms, profile, use_primary);
  op.options.timings = timings;
  if (!trace.is_none()) {
    auto pair = py::reinterpret_borrow<py::tuple>(trace);
    op.options.traceparent = pair[0].cast<std::string>();
    op.options.tracestate = pair[1].cast<std::string>();
  }
  return op;
}

Op make_tx_op(ClientPtr client, TxPtr tx, int what, std::int64_t timeout_ms) {
  // what: 0 begin, 1 commit, 2 rollback
  Op op;
  op.type = what == 0   ? Op::Type::tx_begin
            : what == 1 ? Op::Type::tx_commit
                        : Op::Type::tx_rollback;
  op.kind = what == 0 ? Kind::tx_begin : Kind::tx_end;
  op.client = std::move(client);
  op.tx = std::move(tx);
  op.options = opts(timeout_ms);
  return op;
}

void bind_bridge(py::module_& m) {
  py::class_<Bridge>(m, "Bridge")
      .def(py::init<>())
      .def_property_readonly("fd", &Bridge::fd)
      .def_property_readonly("closed", &Bridge::closed)
      .def_property_readonly("pending", &Bridge::pending)
      .def("drain", &Bridge::drain)
      .def("close", &Bridge::close)
      .def("stats", &Bridge::stats)
      .def("query",
           [](Bridge& b, const ClientPtr& client, py::object fut, std::string sql, py::handle args,
              int kind, std::int64_t timeout_ms, bool use_primary, bool coalesce,
              std::string batch) {
             CallOptions o = opts(timeout_ms, 0, 0, use_primary);
             o.coalesce = coalesce;
             o.batch = std::move(batch);
             Op op = make_query_op(client, nullptr, std::move(sql), args, static_cast<Kind>(kind),
                                   std::move(o));
             return b.submit(op, std::move(fut));
           })
      .def("tx_query",
           [](Bridge& b, const ClientPtr& client, const TxPtr& tx, py::object fut, std::string sql,
              py::handle args, int kind, std::int64_t timeout_ms) {
             Op op = make_query_op(client, tx, std::move(sql), args, static_cast<Kind>(kind),
                                   opts(timeout_ms));
             return b.submit(op, std::move(fut));
           })
      .def("tx",
           [](Bridge& b, const ClientPtr& client, py::object tx, py::object fut, int what,
              std::int64_t timeout_ms) {
             TxPtr t = tx.is_none() ? nullptr : tx.cast<TxPtr>();
             Op op = make_tx_op(client, t, what, timeout_ms);
             return b.submit(op, std::move(fut));
           })
      .def("http",
           [](Bridge& b, const ClientPtr& client, py::object fut, std::string method,
              std::string url, py::handle headers, py::handle body, std::int64_t timeout_ms,
              bool retry) {
             Op op = make_http_op(client, std::move(method), std::move(url), headers, body,
                                  timeout_ms, retry);
             return b.submit(op, std::move(fut));
           })
      .def("plan", [](Bridge& b, const ClientPtr& client, const PlanPtr& plan, py::object fut,
                      std::string inputs_json, int profile, std::int64_t deadline_ms,
                      bool use_primary, bool timings, py::handle trace) {
        Op op = make_plan_op(client, plan, std::move(inputs_json), profile, deadline_ms,
                             use_primary, timings, trace);
        return b.submit(op, std::move(fut));
      });
}

}  // namespace enrich_py
