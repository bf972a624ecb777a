// enrich._native: the extension module. Thin on purpose: the public API is the pure Python
// package around it (enrich/__init__.py).

#include <poll.h>
#include <time.h>

#include <cstring>

#include "native.hpp"

namespace enrich_py {
namespace {

// ---- clients
// ---------------------------------------------------------------------------------------

/// The process-wide queue that every client's log events go to (options.log_queue), drained by
/// the enrich-log thread (enrich._logging). Never destroyed: clients may log until they close.
enrich_queue* log_queue() {
  static enrich_queue* q = [] {
    enrich_queue* queue = nullptr;
    if (enrich_queue_create(&queue) != ENRICH_OK)
      raise_error(ENRICH_ERR_INTERNAL, "could not create the log queue");
    return queue;
  }();
  return q;
}

/// Options arrive as one JSON object with the core's names and units (enrich/_client.py converts
/// seconds to milliseconds, reading the option list from options_schema()): no second list here.
ClientPtr create_client(const std::string& config_json, bool queue_logs) {
  enrich_client_options o = ENRICH_CLIENT_OPTIONS_INIT;
  o.config_json = config_json.c_str();
  if (queue_logs) o.log_queue = log_queue();

  auto client = std::make_shared<NativeClient>();
  enrich_error* error = nullptr;
  enrich_status s;
  {
    py::gil_scoped_release nogil;  // starts threads; may connect min_connections
    s = enrich_client_create(&client->handle, &o, &error);
  }
  if (s != ENRICH_OK) {
    if (error) raise_error(error);
    raise_error(s, "could not create the client");
  }
  return client;
}

/// A JSON buffer that the C API returns for an open client (stats, options), as a str.
py::str client_json(NativeClient& client, enrich_status (*read)(enrich_client*, char**),
                    const char* what) {
  OpenClient c(client);
  char* json = nullptr;
  enrich_status s = read(c.handle, &json);
  if (s != ENRICH_OK) raise_error(s, std::string("could not read the client's ") + what);
  py::str out(json);
  enrich_free(json);
  return out;
}

py::str stats(NativeClient& client) {
  return client_json(client, &enrich_client_stats, "stats");
}

py::str metrics(NativeClient& client) {
  return client_json(client, &enrich_client_metrics_json, "metrics");
}

py::str client_options(NativeClient& client) {
  return client_json(client, &enrich_client_options_json, "options");
}

bool cancel(NativeClient& client, enrich_op_id id) {
  std::shared_lock lock(client.mu);
  if (!client.handle) return false;
  return enrich_cancel(client.handle, id) == ENRICH_OK;
}

// ---- plans
// -------------------------------------------------------------------------------------------

PlanPtr plan_made(enrich_status s, enrich_plan* handle, enrich_error* error) {
  if (s != ENRICH_OK) {
    if (error) raise_error(error);
    raise_error(s, "invalid plan");
  }
  auto plan = std::make_shared<NativePlan>();
  plan->handle = handle;
  return plan;
}

PlanPtr plan_load(const std::string& path, py::object variables_json) {
  std::string vars = variables_json.is_none() ? "" : variables_json.cast<std::string>();
  enrich_plan* handle = nullptr;
  enrich_error* error = nullptr;
  enrich_status s = enrich_plan_load(&handle, path.c_str(),
                                     variables_json.is_none() ? nullptr : vars.c_str(), &error);
  return plan_made(s, handle, error);
}

PlanPtr plan_from_json(const std::string& json, py::object variables_json) {
  std::string vars = variables_json.is_none() ? "" : variables_json.cast<std::string>();
  enrich_plan* handle = nullptr;
  enrich_error* error = nullptr;
  enrich_status s = enrich_plan_from_json(
      &handle, json.data(), json.size(), variables_json.is_none() ? nullptr : vars.c_str(), &error);
  return plan_made(s, handle, error);
}

// ---- logs
// ---------------------------------------------------------------------------------------------

py::list log_poll(std::size_t max) {
  py::list out;
  enrich_completion* batch[64];
  while (max > 0) {
    std::size_t n = enrich_queue_poll(log_queue(), batch, std::min<std::size_t>(max, 64));
    for (std::size_t i = 0; i < n; ++i) {
      enrich_log_level level = ENRICH_LOG_INFO;
      const char* event = "";
      const char* fields = "{}";
      enrich_completion_log(batch[i], &level, &event, &fields);
      out.append(py::make_tuple(static_cast<int>(level), py::str(event), py::str(fields)));
      enrich_completion_free(batch[i]);
    }
    max -= n;
    if (n == 0) break;
  }
  return out;
}

// ---- benchmark helper
// ----------------------------------------------------------------------------------

/// The native baseline for bench/python_bridge.py: `n` statements through the C API with at
/// most `window` in flight, completions drained from a queue in batches by this (non-Python)
/// thread. Returns the elapsed seconds. The GIL is released throughout.
double bench_native(NativeClient& client, const std::string& sql, std::size_t n,
                    std::size_t window) {
  OpenClient c(client);
  py::gil_scoped_release nogil;
  enrich_queue* q = nullptr;
  if (enrich_queue_create(&q) != ENRICH_OK) return -1;
  timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  std::size_t started = 0, done = 0, failed = 0;
  auto launch = [&] {
    enrich_query(c.handle, q, sql.c_str(), nullptr, 0, nullptr, nullptr, nullptr);
    ++started;
  };
  while (started < n && started < window) launch();
  enrich_completion* batch[256];
  while (done < n) {
    pollfd p{enrich_queue_fd(q), POLLIN, 0};
    ::poll(&p, 1, 1000);
    std::size_t k = enrich_queue_poll(q, batch, 256);
    for (std::size_t i = 0; i < k; ++i) {
      if (enrich_completion_status(batch[i]) != ENRICH_OK) ++failed;
      enrich_completion_free(batch[i]);
      ++done;
      if (started < n) launch();
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  enrich_queue_destroy(q);
  if (failed) return -1;
  return static_cast<double>(t1.tv_sec - t0.tv_sec) +
         static_cast<double>(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

}  // namespace
}  // namespace enrich_py

using namespace enrich_py;

PYBIND11_MODULE(_native, m) {
  m.doc() = "enrich's native core (C API) for the enrich Python package; use `import enrich`.";
  init_decode();

  m.def("version", &enrich_version);
  m.def("version_string", &enrich_version_string);
  m.def("sql_operation_name", [](const std::string& sql) {
    std::size_t n = enrich_sql_operation_name(sql.data(), sql.size(), nullptr, 0);
    std::string name(n, '\0');
    enrich_sql_operation_name(sql.data(), sql.size(), name.data(), n + 1);
    return name;
  });
  m.def("status_name",
        [](int s) { return std::string(enrich_status_name(static_cast<enrich_status>(s))); });
  m.def("set_hooks", [](py::object error_factory, py::object slow_decode, py::object slow_encode) {
    auto& r = refs();
    r.error_factory = std::move(error_factory);
    r.slow_decode = std::move(slow_decode);
    r.slow_encode = std::move(slow_encode);
    // decimal and uuid are imported when a numeric or uuid column is first decoded, not by
    // `import enrich` (bench/package.py measures its cold import).
  });

  py::class_<NativeClient, ClientPtr>(m, "NativeClient")
      .def_property_readonly("closed",
                             [](NativeClient& c) {
                               std::shared_lock lock(c.mu);
                               return c.handle == nullptr;
                             })
      .def("close", &NativeClient::close)
      .def("cancel", &cancel)
      .def("stats", &stats)
      .def("metrics", &metrics)
      .def("options", &client_options);
  m.def("create_client", &create_client, py::arg("config_json"), py::arg("queue_logs") = true);
  m.def("options_schema", [] { return std::string(enrich_client_options_schema()); });

  py::class_<NativePlan, PlanPtr>(m, "NativePlan")
      .def_property_readonly(
          "name", [](const NativePlan& p) { return std::string(enrich_plan_name(p.handle)); });
  m.def("plan_load", &plan_load);
  m.def("plan_from_json", &plan_from_json);

  py::class_<NativeTx, TxPtr>(m, "NativeTx").def("free", [](NativeTx& t) {
    if (t.handle) enrich_tx_free(t.handle);
    t.handle = nullptr;
  });

  m.def("log_fd", [] { return enrich_queue_fd(log_queue()); });
  m.def("log_poll", &log_poll, py::arg("max") = 256);
  m.def("bench_native", &bench_native);

  bind_bridge(m);
  bind_sync(m);

  m.attr("KIND_ROWS") = static_cast<int>(Kind::rows);
  m.attr("KIND_ONE") = static_cast<int>(Kind::one);
  m.attr("KIND_VALUE") = static_cast<int>(Kind::value);
  m.attr("KIND_EXECUTE") = static_cast<int>(Kind::execute);
}
