#include "config/option_table.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <variant>
#include <vector>

namespace enrich::config {
namespace {

// Where an option lives in ClientOptions. One accessor per option; the table below is the only
// place that knows the struct's layout.
using FieldRef = std::variant<std::size_t*, Milliseconds*, bool*, double*, int*, long*,
                              std::string*, std::vector<std::string>*, LogLevel*>;

struct Entry {
  OptionInfo info;
  FieldRef (*field)(ClientOptions&);
};

#define ENRICH_FIELD(expr) [](ClientOptions& o) -> FieldRef { return &o.expr; }

constexpr OptionType kCount = OptionType::count;
constexpr OptionType kDuration = OptionType::duration;
constexpr OptionType kBool = OptionType::boolean;
constexpr OptionType kRatio = OptionType::ratio;
constexpr OptionType kText = OptionType::text;

const Entry kEntries[] = {
    {{"dsn", kText, "libpq connection string or postgresql:// URI"}, ENRICH_FIELD(dsn)},
    {{"replica_dsns", OptionType::text_list,
      "read replicas' connection strings (a list, or one string of URIs separated by "
      "whitespace, as in DATABASE_REPLICA_URL); reads go to the least loaded one"},
     ENRICH_FIELD(replica_dsns)},
    {{"io_threads", kCount, "I/O threads, each with its own event loop and share of the pool"},
     ENRICH_FIELD(io_threads)},
    // Postgres pool
    {{"min_connections", kCount, "connections opened at start and kept open"},
     ENRICH_FIELD(pool.min_connections)},
    {{"max_connections", kCount, "most connections to Postgres (over all I/O threads)"},
     ENRICH_FIELD(pool.max_connections)},
    {{"max_pipeline_depth", kCount,
      "queries in flight on one shared connection before another one is used"},
     ENRICH_FIELD(pool.max_pipeline_depth)},
    {{"acquire_timeout", kDuration,
      "how long a query may wait for room on a connection (pool_timeout after)"},
     ENRICH_FIELD(pool.acquire_timeout)},
    {{"max_waiting", kCount, "queries allowed to wait for a connection (pool_queue_full after)"},
     ENRICH_FIELD(pool.max_waiting)},
    {{"connect_timeout", kDuration, "time to open and set up a connection"},
     ENRICH_FIELD(pool.connect_timeout)},
    {{"idle_timeout", kDuration, "connections above min_connections idle this long are closed"},
     ENRICH_FIELD(pool.idle_timeout)},
    {{"max_lifetime", kDuration, "connections are retired after this long, once idle"},
     ENRICH_FIELD(pool.max_lifetime)},
    {{"lifetime_jitter", kRatio,
      "max_lifetime varies by this fraction, so that connections "
      "do not all retire at once"},
     ENRICH_FIELD(pool.lifetime_jitter)},
    {{"health_check_interval", kDuration,
      "idle connections unused this long are pinged before reuse"},
     ENRICH_FIELD(pool.health_check_interval)},
    {{"reconnect_backoff_initial", kDuration, "wait after a failed connect, doubled per failure"},
     ENRICH_FIELD(pool.reconnect_backoff_initial)},
    {{"reconnect_backoff_max", kDuration, "longest wait between connect attempts"},
     ENRICH_FIELD(pool.reconnect_backoff_max)},
    // Statements
    {{"prepared_statements", kBool,
      "named prepared statements (the DSN's statement_cache=on|off wins; docs/deploy.md)"},
     ENRICH_FIELD(prepared_statements)},
    {{"statement_cache_size", kCount, "prepared statements kept per connection"},
     ENRICH_FIELD(statement_cache_size)},
    {{"query_timeout", kDuration, "timeout of a query whose call gives none (default: none)"},
     ENRICH_FIELD(query_timeout)},
    {{"coalesce_max_result_bytes", kCount,
      "coalesced calls share a result up to this size; above it the other callers send the "
      "statement on their own"},
     ENRICH_FIELD(coalesce_max_result_bytes)},
    // HTTP
    {{"http_timeout", kDuration, "timeout of an HTTP request whose call gives none"},
     ENRICH_FIELD(http.default_timeout)},
    {{"http_connect_timeout", kDuration, "time to connect to an HTTP server (TLS included)"},
     ENRICH_FIELD(http.connect_timeout)},
    {{"http_max_connections_per_host", kCount, "HTTP connections per host"},
     ENRICH_FIELD(http.max_connections_per_host)},
    {{"http_max_total_connections", kCount, "HTTP connections in all"},
     ENRICH_FIELD(http.max_total_connections)},
    {{"http_max_response_bytes", kCount, "larger response bodies fail the request"},
     ENRICH_FIELD(http.max_response_bytes)},
    {{"http_verify_tls", kBool, "verify HTTPS servers' certificates"},
     ENRICH_FIELD(http.verify_tls)},
    {{"http_ca_file", kText,
      "PEM file of the CA certificates that verify HTTPS servers (default: the system's)"},
     ENRICH_FIELD(http.ca_file)},
    {{"http2", kBool, "negotiate HTTP/2 where the server offers it"}, ENRICH_FIELD(http.http2)},
    {{"http_max_redirects", kCount, "redirects followed"}, ENRICH_FIELD(http.max_redirects)},
    {{"http_user_agent", kText, "User-Agent header"}, ENRICH_FIELD(http.user_agent)},
    {{"retry_max_attempts", kCount,
      "attempts of an HTTP request that asks for retries, the first included"},
     ENRICH_FIELD(http.retry.max_attempts)},
    {{"retry_backoff_initial", kDuration,
      "wait before the first retry, doubled per attempt "
      "(with full jitter)"},
     ENRICH_FIELD(http.retry.backoff_initial)},
    {{"retry_backoff_max", kDuration, "longest wait between retries"},
     ENRICH_FIELD(http.retry.backoff_max)},
    {{"retry_budget_ratio", kRatio, "retries allowed as a fraction of recent requests"},
     ENRICH_FIELD(http.retry.budget_ratio)},
    {{"retry_budget_min_per_second", kCount, "retries always allowed per second"},
     ENRICH_FIELD(http.retry.budget_min_per_second)},
    {{"breaker", kBool, "a circuit breaker per HTTP host"}, ENRICH_FIELD(http.breaker.enabled)},
    {{"breaker_failure_threshold", kCount, "consecutive failures that open a host's breaker"},
     ENRICH_FIELD(http.breaker.failure_threshold)},
    {{"breaker_cool_down", kDuration, "an open breaker lets one probe through after this long"},
     ENRICH_FIELD(http.breaker.cool_down)},
    // Observability
    {{"timings", kBool, "per-step timings for every plan run (PlanOutput::timings)"},
     ENRICH_FIELD(timings)},
    {{"tracing", kBool, "OpenTelemetry spans for plans and queries, in the bindings"},
     ENRICH_FIELD(tracing)},
    {{"trace_query_text", kBool,
      "SQL text in timings and spans (db.query.text; may hold literal values)"},
     ENRICH_FIELD(trace_query_text)},
    // Logging
    {{"log_level", OptionType::log_level, "least level logged: debug, info, warning, error, off"},
     ENRICH_FIELD(log_level)},
};

#undef ENRICH_FIELD

constexpr std::size_t kCountOf = sizeof(kEntries) / sizeof(kEntries[0]);

const OptionInfo* infos() {
  static const auto table = [] {
    std::array<OptionInfo, kCountOf> out{};
    for (std::size_t i = 0; i < kCountOf; ++i) out[i] = kEntries[i].info;
    return out;
  }();
  return table.data();
}

const Entry* find_entry(std::string_view name) {
  for (const auto& e : kEntries)
    if (e.info.name == name) return &e;
  return nullptr;
}

Error bad(std::string message) {
  return Error{ErrorCode::invalid_argument, std::move(message)};
}

std::string valid_names() {
  std::string out;
  for (const auto& e : kEntries) {
    if (!out.empty()) out += ", ";
    out += e.info.name;
  }
  return out;
}

constexpr LogLevel kLevels[] = {LogLevel::debug, LogLevel::info, LogLevel::warning, LogLevel::error,
                                LogLevel::off};

// Integers as JSON: exact for every count.
json::Value number(std::int64_t v) {
  return json::Value(json::Number{std::to_string(v)});
}
json::Value number(double v) {
  return json::Value(json::Number{fmt::format("{}", v)});
}

template <class T>
std::optional<Error> set_count(const OptionInfo& info, const json::Value& v, T& out) {
  std::optional<std::int64_t> n;
  if (v.is_number()) n = v.as_number().as_int64();
  if (!n || *n < 0 ||
      static_cast<std::uint64_t>(*n) > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
    return bad(fmt::format("option {} must be a non-negative integer", info.name));
  out = static_cast<T>(*n);
  return std::nullopt;
}

}  // namespace

std::string_view to_string(OptionType type) noexcept {
  switch (type) {
    case OptionType::count:
      return "count";
    case OptionType::duration:
      return "duration";
    case OptionType::boolean:
      return "boolean";
    case OptionType::ratio:
      return "ratio";
    case OptionType::text:
      return "text";
    case OptionType::text_list:
      return "text_list";
    case OptionType::log_level:
      return "log_level";
  }
  return "unknown";
}

std::span<const OptionInfo> options() noexcept {
  return {infos(), kCountOf};
}

const OptionInfo* find_option(std::string_view name) noexcept {
  const Entry* e = find_entry(name);
  return e ? &e->info : nullptr;
}

std::optional<Error> set_option(ClientOptions& options, std::string_view name,
                                const json::Value& v) {
  const Entry* entry = find_entry(name);
  if (!entry)
    return bad(fmt::format("unknown option \"{}\" (valid options: {})", name, valid_names()));
  const OptionInfo& info = entry->info;
  FieldRef field = entry->field(options);
  switch (info.type) {
    case OptionType::count:
      if (auto* p = std::get_if<std::size_t*>(&field)) return set_count(info, v, **p);
      if (auto* p = std::get_if<int*>(&field)) return set_count(info, v, **p);
      if (auto* p = std::get_if<long*>(&field)) return set_count(info, v, **p);
      break;
    case OptionType::duration: {
      double ms = v.is_number() ? v.as_number().as_double() : -1;
      // Up to about 285 years: beyond that it is a unit mistake, not a timeout.
      if (!(ms > 0) || !std::isfinite(ms) || ms > 9e12)
        return bad(fmt::format("option {} must be a positive duration", info.name));
      *std::get<Milliseconds*>(field) = Milliseconds(static_cast<std::int64_t>(std::ceil(ms)));
      return std::nullopt;
    }
    case OptionType::boolean:
      if (!v.is_bool()) return bad(fmt::format("option {} must be true or false", info.name));
      *std::get<bool*>(field) = v.as_bool();
      return std::nullopt;
    case OptionType::ratio: {
      double r = v.is_number() ? v.as_number().as_double() : -1;
      if (!(r >= 0 && r <= 1))
        return bad(fmt::format("option {} must be a number from 0 to 1", info.name));
      *std::get<double*>(field) = r;
      return std::nullopt;
    }
    case OptionType::text:
      if (!v.is_string()) return bad(fmt::format("option {} must be a string", info.name));
      *std::get<std::string*>(field) = v.as_string();
      return std::nullopt;
    case OptionType::text_list: {
      auto& list = *std::get<std::vector<std::string>*>(field);
      list.clear();
      if (v.is_string()) {  // "postgresql://a/db postgresql://b/db", as DATABASE_REPLICA_URL
        list = split_dsn_list(v.as_string());
        return std::nullopt;
      }
      if (v.is_array()) {
        for (const auto& item : v.as_array()) {
          if (!item.is_string() || item.as_string().empty())
            return bad(fmt::format("option {} must list non-empty strings", info.name));
          list.push_back(item.as_string());
        }
        return std::nullopt;
      }
      return bad(fmt::format("option {} must be a list of strings or one string", info.name));
    }
    case OptionType::log_level:
      if (v.is_string())
        for (LogLevel level : kLevels)
          if (v.as_string() == enrich::to_string(level)) {
            *std::get<LogLevel*>(field) = level;
            return std::nullopt;
          }
      return bad(
          fmt::format("option {} must be one of debug, info, warning, error, off", info.name));
  }
  return bad(fmt::format("option {}: internal type mismatch", info.name));
}

std::optional<Error> set_options(ClientOptions& options, const json::Value& object) {
  if (!object.is_object()) return bad("client options must be a JSON object");
  for (const auto& [name, value] : object.as_object())
    if (auto e = set_option(options, name, value)) return e;
  return std::nullopt;
}

json::Value get_option(const ClientOptions& options, const OptionInfo& option) {
  const Entry* entry = find_entry(option.name);
  if (!entry) return {};
  // The accessor takes a mutable struct; nothing is written through it here.
  FieldRef field = entry->field(const_cast<ClientOptions&>(options));
  return std::visit(
      [&](auto* p) -> json::Value {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, Milliseconds>)  // zero: none (query_timeout)
          return p->count() > 0 ? number(static_cast<std::int64_t>(p->count())) : json::Value();
        else if constexpr (std::is_same_v<T, bool>)
          return json::Value(*p);
        else if constexpr (std::is_same_v<T, double>)
          return number(*p);
        else if constexpr (std::is_same_v<T, std::string>)
          return json::Value(option.name == "dsn" ? redact_dsn(*p) : *p);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          json::Array list;
          for (const auto& dsn : *p) list.emplace_back(redact_dsn(dsn));  // a list of DSNs
          return json::Value(std::move(list));
        } else if constexpr (std::is_same_v<T, LogLevel>)
          return json::Value(std::string(enrich::to_string(*p)));
        else
          return number(static_cast<std::int64_t>(*p));
      },
      field);
}

std::string schema_json() {
  ClientOptions defaults;  // not const: the field accessors take a mutable struct
  json::Array out;
  for (const auto& e : kEntries) {
    json::Object o;
    o.emplace_back("name", json::Value(std::string(e.info.name)));
    o.emplace_back("type", json::Value(std::string(to_string(e.info.type))));
    o.emplace_back("default", get_option(defaults, e.info));
    o.emplace_back("doc", json::Value(std::string(e.info.doc)));
    out.emplace_back(std::move(o));
  }
  return json::serialize(json::Value(std::move(out)));
}

std::string values_json(const ClientOptions& options) {
  json::Object out;
  for (const auto& e : kEntries)
    out.emplace_back(std::string(e.info.name), get_option(options, e.info));
  return json::serialize(json::Value(std::move(out)));
}

}  // namespace enrich::config
