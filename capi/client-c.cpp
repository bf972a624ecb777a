// Clients: creation from the options struct or JSON, destruction with work in flight, stats,
// cancellation, and log routing.

#include <fmt/format.h>

#include "capi_internal.hpp"
#include "config/option_table.hpp"
#include "core/json_escape.hpp"
#include "json/value.hpp"

using namespace enrich;
using namespace enrich::capi;

namespace enrich::capi {

enrich_op_id ClientCore::begin(std::function<void()> canceller) {
  enrich_op_id id = next_id.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu);
  cancellers.emplace(id, std::move(canceller));
  return id;
}

void ClientCore::end(enrich_op_id id) {
  std::lock_guard lock(mu);
  cancellers.erase(id);
}

}  // namespace enrich::capi

namespace {

std::string fields_json(const LogEvent& event) {
  json::Object fields;
  for (const auto& [k, v] : event.fields) fields.emplace_back(k, json::Value(v));
  return json::serialize(json::Value(std::move(fields)));
}

// The struct's fields are shortcuts: each goes through the option table (config/option_table)
// like every other front end, so checks and messages are the same. Zero means the default.
std::optional<Error> apply_fields(ClientOptions& o, const enrich_client_options& c) {
  std::optional<Error> e;
  auto set = [&](std::string_view name, json::Value v) {
    if (!e) e = config::set_option(o, name, v);
  };
  auto integer = [](long long v) { return json::Value(json::Number{std::to_string(v)}); };
  auto count = [&](std::string_view name, long long v) {
    if (v != 0) set(name, integer(v));
  };
  auto ms = [&](std::string_view name, int64_t v) {
    if (v < 0 && !e)
      e = Error{ErrorCode::invalid_argument,
                fmt::format("option {} must be a positive duration (0: the default)", name)};
    if (v > 0) set(name, integer(v));
  };
  if (c.dsn) set("dsn", json::Value(std::string(c.dsn)));
  count("io_threads", static_cast<long long>(c.io_threads));
  count("min_connections", static_cast<long long>(c.min_connections));
  count("max_connections", static_cast<long long>(c.max_connections));
  count("max_pipeline_depth", static_cast<long long>(c.max_pipeline_depth));
  ms("acquire_timeout", c.acquire_timeout_ms);
  count("max_waiting", static_cast<long long>(c.max_waiting));
  ms("connect_timeout", c.connect_timeout_ms);
  ms("idle_timeout", c.idle_timeout_ms);
  ms("max_lifetime", c.max_lifetime_ms);
  ms("query_timeout", c.query_timeout_ms);
  if (c.disable_prepared_statements) set("prepared_statements", json::Value(false));
  count("statement_cache_size", static_cast<long long>(c.statement_cache_size));
  ms("http_timeout", c.http_timeout_ms);
  ms("http_connect_timeout", c.http_connect_timeout_ms);
  count("http_max_connections_per_host", static_cast<long long>(c.http_max_connections_per_host));
  count("http_max_response_bytes", static_cast<long long>(c.http_max_response_bytes));
  if (c.http_insecure_skip_verify) set("http_verify_tls", json::Value(false));
  count("breaker_failure_threshold", c.breaker_failure_threshold);
  ms("breaker_cool_down", c.breaker_cool_down_ms);
  if (c.disable_breaker) set("breaker", json::Value(false));
  if (e) return e;

  // Levels: version 1 numbered DEBUG..OFF from 0 and needed log_level_set for DEBUG; from
  // version 2, 0 is "the default" and DEBUG..OFF are 1..5.
  long long level = raw_enum(c.log_level);
  if (c.version == 1) {
    if (level < 0 || level > 4)
      return Error{ErrorCode::invalid_argument,
                   fmt::format("log_level {} is not a version 1 enrich_log_level", level)};
    if (c.log_level_set || level != 0) o.log_level = static_cast<LogLevel>(level);
  } else {
    if (level < ENRICH_LOG_DEFAULT || level > ENRICH_LOG_OFF)
      return Error{ErrorCode::invalid_argument,
                   fmt::format("log_level {} is not an enrich_log_level", level)};
    if (level != ENRICH_LOG_DEFAULT)
      o.log_level = to_core_level(static_cast<enrich_log_level>(level));
  }
  if (c.version >= 2 && c.config_json) {
    auto doc = json::parse(c.config_json);
    if (!doc.ok()) return Error{ErrorCode::invalid_argument, "config_json: " + doc.error().message};
    if (auto err = config::set_options(o, doc.value())) return err;
  }
  return std::nullopt;
}

void route_logs(ClientOptions& o, const enrich_client_options& c) {
  if (enrich_queue* log_queue = resolve(c.log_queue)) {
    o.log_sink = [queue = log_queue->core](const LogEvent& event) {
      auto* completion = new enrich_completion;
      completion->kind = ENRICH_COMPLETION_LOG;
      completion->log_level = to_c_level(event.level);
      completion->log_event = event.name;
      completion->log_fields = fields_json(event);
      queue->push(completion);
    };
  } else if (c.log_fn) {
    o.log_sink = [fn = c.log_fn, payload = c.log_payload](const LogEvent& event) {
      std::string fields = fields_json(event);
      fn(to_c_level(event.level), event.name.c_str(), fields.c_str(), payload);
    };
  }
}

enrich_status fail(enrich_error** error, const Error& e) {
  if (error) *error = publish(new_error(e));
  return to_status(e.code);
}

enrich_status create(enrich_client** out, const ClientOptions& options, enrich_error** error) {
  auto client = Client::create(options);
  if (!client.ok()) return fail(error, client.error());
  auto handle = std::make_unique<enrich_client>();
  handle->core = std::make_shared<ClientCore>();
  handle->core->client = std::move(client).value();
  *out = publish(handle.release());
  return ENRICH_OK;
}

}  // namespace

extern "C" {

enrich_status enrich_client_create(enrich_client** out, const enrich_client_options* options,
                                   enrich_error** error) {
  return guarded([&] {
    if (error) *error = nullptr;
    if (!out) return fail(error, Error{ErrorCode::invalid_argument, "out is NULL"});
    *out = nullptr;
    if (!options) return fail(error, Error{ErrorCode::invalid_argument, "options is NULL"});
    if (options->version < 1 || options->version > ENRICH_CLIENT_OPTIONS_VERSION)
      return fail(error, Error{ErrorCode::invalid_argument,
                               fmt::format("unsupported enrich_client_options version {}",
                                           options->version)});
    if (options->log_queue && !resolve(options->log_queue))
      return fail(error, Error{ErrorCode::invalid_argument, "log_queue is not a queue"});
    ClientOptions o;
    if (auto e = apply_fields(o, *options)) return fail(error, *e);
    route_logs(o, *options);
    return create(out, o, error);
  });
}

enrich_status enrich_client_create_json(enrich_client** out, const char* config_json,
                                        enrich_error** error) {
  return guarded([&] {
    if (error) *error = nullptr;
    if (!out) return fail(error, Error{ErrorCode::invalid_argument, "out is NULL"});
    *out = nullptr;
    if (!config_json) return fail(error, Error{ErrorCode::invalid_argument, "config_json is NULL"});
    auto doc = json::parse(config_json);
    if (!doc.ok())
      return fail(error,
                  Error{ErrorCode::invalid_argument, "client config: " + doc.error().message});
    ClientOptions o;
    if (auto e = config::set_options(o, doc.value())) return fail(error, *e);
    return create(out, o, error);
  });
}

void enrich_client_destroy(enrich_client* handle) {
  auto client = retire(handle);  // a second destroy finds nothing
  if (!client) return;
  try {
    client->core->client->close();  // completes everything in flight
  } catch (...) {
  }
}

enrich_status enrich_client_stats(enrich_client* client, char** out_json) {
  return guarded([&] {
    if (!(client = resolve(client)) || !out_json) return ENRICH_ERR_INVALID_ARGUMENT;
    PoolStats s = client->core->client->stats();
    std::size_t pending;
    {
      std::lock_guard lock(client->core->mu);
      pending = client->core->cancellers.size();
    }
    std::string j = fmt::format(
        R"({{"connections":{},"idle":{},"in_transaction":{},"in_flight":{},"waiting":{},)"
        R"("connects":{},"connect_failures":{},"cancels_sent":{},"pending_operations":{},)"
        R"("replica_connections":{},"replica_reads":{},"replica_fallbacks":{}}})",
        s.connections, s.idle, s.in_transaction, s.in_flight, s.waiting, s.connects,
        s.connect_failures, s.cancels_sent, pending, s.replica_connections, s.replica_reads,
        s.replica_fallbacks);
    return copy_out(j, out_json);
  });
}

enrich_status enrich_client_metrics_json(enrich_client* client, char** out_json) {
  return guarded([&] {
    if (!(client = resolve(client)) || !out_json) return ENRICH_ERR_INVALID_ARGUMENT;
    std::string j = "[";
    for (const auto& f : client->core->client->metrics()) {
      if (j.size() > 1) j += ',';
      j += "{\"name\":";
      append_json_string(j, f.name);
      j += ",\"type\":";
      append_json_string(j, f.type);
      j += ",\"help\":";
      append_json_string(j, f.help);
      j += ",\"samples\":[";
      for (std::size_t i = 0; i < f.samples.size(); ++i) {
        const auto& s = f.samples[i];
        if (i) j += ',';
        j += "{\"name\":";
        append_json_string(j, s.name);
        j += ",\"labels\":{";
        for (std::size_t k = 0; k < s.labels.size(); ++k) {
          if (k) j += ',';
          append_json_key(j, s.labels[k].first);
          append_json_string(j, s.labels[k].second);
        }
        fmt::format_to(std::back_inserter(j), "}},\"value\":{}}}", s.value);
      }
      j += "]}";
    }
    j += ']';
    return copy_out(j, out_json);
  });
}

const char* enrich_client_options_schema(void) {
  try {
    static const std::string schema = config::schema_json();
    return schema.c_str();
  } catch (...) {
    return "[]";
  }
}

enrich_status enrich_client_options_json(enrich_client* client, char** out_json) {
  return guarded([&] {
    if (!(client = resolve(client)) || !out_json) return ENRICH_ERR_INVALID_ARGUMENT;
    std::string j = config::values_json(client->core->client->options());
    return copy_out(j, out_json);
  });
}

enrich_status enrich_cancel(enrich_client* client, enrich_op_id id) {
  return guarded([&] {
    if (!(client = resolve(client))) return ENRICH_ERR_INVALID_ARGUMENT;
    std::function<void()> cancel;
    {
      std::lock_guard lock(client->core->mu);
      auto it = client->core->cancellers.find(id);
      if (it == client->core->cancellers.end()) return ENRICH_ERR_NOT_FOUND;
      cancel = it->second;
    }
    cancel();  // posts to the I/O thread; the completion arrives as usual
    return ENRICH_OK;
  });
}

}  // extern "C"
