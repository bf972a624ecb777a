// Clients: creation from the options struct or JSON, destruction with work in flight, stats,
// cancellation, and log routing.

#include <fmt/format.h>

#include "capi_internal.hpp"
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

void apply_options(ClientOptions& o, const enrich_client_options& c) {
  auto ms = [](int64_t v, Milliseconds& out) {
    if (v > 0) out = Milliseconds(v);
  };
  auto count = [](size_t v, size_t& out) {
    if (v > 0) out = v;
  };
  if (c.dsn) o.dsn = c.dsn;
  count(c.io_threads, o.io_threads);
  count(c.min_connections, o.pool.min_connections);
  count(c.max_connections, o.pool.max_connections);
  count(c.max_pipeline_depth, o.pool.max_pipeline_depth);
  ms(c.acquire_timeout_ms, o.pool.acquire_timeout);
  count(c.max_waiting, o.pool.max_waiting);
  ms(c.connect_timeout_ms, o.pool.connect_timeout);
  ms(c.idle_timeout_ms, o.pool.idle_timeout);
  ms(c.max_lifetime_ms, o.pool.max_lifetime);
  ms(c.query_timeout_ms, o.query_timeout);
  if (c.disable_prepared_statements) o.prepared_statements = false;
  count(c.statement_cache_size, o.statement_cache_size);
  ms(c.http_timeout_ms, o.http.default_timeout);
  ms(c.http_connect_timeout_ms, o.http.connect_timeout);
  count(c.http_max_connections_per_host, o.http.max_connections_per_host);
  count(c.http_max_response_bytes, o.http.max_response_bytes);
  if (c.http_insecure_skip_verify) o.http.verify_tls = false;
  if (c.breaker_failure_threshold > 0)
    o.http.breaker.failure_threshold = c.breaker_failure_threshold;
  ms(c.breaker_cool_down_ms, o.http.breaker.cool_down);
  if (c.disable_breaker) o.http.breaker.enabled = false;
  if (c.log_level_set || c.log_level != ENRICH_LOG_DEBUG)
    o.log_level = static_cast<LogLevel>(c.log_level);
  if (enrich_queue* log_queue = resolve(c.log_queue)) {
    o.log_sink = [queue = log_queue->core](const LogEvent& event) {
      auto* completion = new enrich_completion;
      completion->kind = ENRICH_COMPLETION_LOG;
      completion->log_level = static_cast<enrich_log_level>(event.level);
      completion->log_event = event.name;
      completion->log_fields = fields_json(event);
      queue->push(completion);
    };
  } else if (c.log_fn) {
    o.log_sink = [fn = c.log_fn, payload = c.log_payload](const LogEvent& event) {
      std::string fields = fields_json(event);
      fn(static_cast<enrich_log_level>(event.level), event.name.c_str(), fields.c_str(), payload);
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

// {"dsn": ..., "io_threads": n, "pool": {...}, "http": {...}, "log_level": "warning"}
std::optional<Error> options_from_json(const json::Value& v, ClientOptions& o) {
  auto bad = [](std::string m) {
    return Error{ErrorCode::invalid_argument, "client config: " + std::move(m)};
  };
  if (!v.is_object()) return bad("must be a JSON object");
  auto number = [&](const json::Value& x, std::string_view key, auto& out) -> std::optional<Error> {
    if (!x.is_number() || !x.as_number().as_int64() || *x.as_number().as_int64() < 0)
      return bad(fmt::format("\"{}\" must be a non-negative integer", key));
    using T = std::decay_t<decltype(out)>;
    if constexpr (std::is_same_v<T, Milliseconds>)
      out = Milliseconds(*x.as_number().as_int64());
    else
      out = static_cast<T>(*x.as_number().as_int64());
    return std::nullopt;
  };
  auto boolean = [&](const json::Value& x, std::string_view key,
                     bool& out) -> std::optional<Error> {
    if (!x.is_bool()) return bad(fmt::format("\"{}\" must be true or false", key));
    out = x.as_bool();
    return std::nullopt;
  };
  for (const auto& [key, x] : v.as_object()) {
    std::optional<Error> e;
    if (key == "dsn") {
      if (!x.is_string()) return bad("\"dsn\" must be a string");
      o.dsn = x.as_string();
    } else if (key == "io_threads")
      e = number(x, key, o.io_threads);
    else if (key == "prepared_statements")
      e = boolean(x, key, o.prepared_statements);
    else if (key == "statement_cache_size")
      e = number(x, key, o.statement_cache_size);
    else if (key == "query_timeout_ms")
      e = number(x, key, o.query_timeout);
    else if (key == "log_level") {
      if (!x.is_string()) return bad("\"log_level\" must be a string");
      const auto& s = x.as_string();
      if (s == "debug")
        o.log_level = LogLevel::debug;
      else if (s == "info")
        o.log_level = LogLevel::info;
      else if (s == "warning")
        o.log_level = LogLevel::warning;
      else if (s == "error")
        o.log_level = LogLevel::error;
      else if (s == "off")
        o.log_level = LogLevel::off;
      else
        return bad("unknown log_level \"" + s + "\"");
    } else if (key == "pool") {
      if (!x.is_object()) return bad("\"pool\" must be an object");
      for (const auto& [k, y] : x.as_object()) {
        auto& p = o.pool;
        if (k == "min_connections")
          e = number(y, k, p.min_connections);
        else if (k == "max_connections")
          e = number(y, k, p.max_connections);
        else if (k == "max_pipeline_depth")
          e = number(y, k, p.max_pipeline_depth);
        else if (k == "acquire_timeout_ms")
          e = number(y, k, p.acquire_timeout);
        else if (k == "max_waiting")
          e = number(y, k, p.max_waiting);
        else if (k == "connect_timeout_ms")
          e = number(y, k, p.connect_timeout);
        else if (k == "idle_timeout_ms")
          e = number(y, k, p.idle_timeout);
        else if (k == "max_lifetime_ms")
          e = number(y, k, p.max_lifetime);
        else if (k == "health_check_interval_ms")
          e = number(y, k, p.health_check_interval);
        else
          return bad("unknown key \"pool." + k + "\"");
        if (e) return e;
      }
    } else if (key == "http") {
      if (!x.is_object()) return bad("\"http\" must be an object");
      for (const auto& [k, y] : x.as_object()) {
        auto& h = o.http;
        if (k == "timeout_ms")
          e = number(y, k, h.default_timeout);
        else if (k == "connect_timeout_ms")
          e = number(y, k, h.connect_timeout);
        else if (k == "max_connections_per_host")
          e = number(y, k, h.max_connections_per_host);
        else if (k == "max_total_connections")
          e = number(y, k, h.max_total_connections);
        else if (k == "max_response_bytes")
          e = number(y, k, h.max_response_bytes);
        else if (k == "verify_tls")
          e = boolean(y, k, h.verify_tls);
        else if (k == "http2")
          e = boolean(y, k, h.http2);
        else if (k == "breaker_failure_threshold")
          e = number(y, k, h.breaker.failure_threshold);
        else if (k == "breaker_cool_down_ms")
          e = number(y, k, h.breaker.cool_down);
        else if (k == "breaker")
          e = boolean(y, k, h.breaker.enabled);
        else if (k == "retry_max_attempts")
          e = number(y, k, h.retry.max_attempts);
        else
          return bad("unknown key \"http." + k + "\"");
        if (e) return e;
      }
    } else {
      return bad("unknown key \"" + key + "\"");
    }
    if (e) return e;
  }
  return std::nullopt;
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
    if (long long level = raw_enum(options->log_level);
        level < ENRICH_LOG_DEBUG || level > ENRICH_LOG_OFF)
      return fail(error, Error{ErrorCode::invalid_argument,
                               fmt::format("log_level {} is not an enrich_log_level", level)});
    ClientOptions o;
    apply_options(o, *options);
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
    if (auto e = options_from_json(doc.value(), o)) return fail(error, *e);
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
        R"("connects":{},"connect_failures":{},"cancels_sent":{},"pending_operations":{}}})",
        s.connections, s.idle, s.in_transaction, s.in_flight, s.waiting, s.connects,
        s.connect_failures, s.cancels_sent, pending);
    char* buf = static_cast<char*>(std::malloc(j.size() + 1));
    if (!buf) return ENRICH_ERR_NO_MEMORY;
    std::memcpy(buf, j.c_str(), j.size() + 1);
    *out_json = buf;
    return ENRICH_OK;
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
