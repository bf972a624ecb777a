#pragma once
// The one list of client options. Every front end sets options through it by name: the C API
// (enrich_client_create_json, enrich_client_options.config_json and the struct's own fields), the
// Python binding (seconds) and the Node binding (milliseconds, camelCase). The bindings read the
// list itself through enrich_client_options_schema(), so names, types and defaults cannot drift.
//
// Names are unit-free snake_case ("acquire_timeout"); at this level durations are milliseconds.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "enrich/client.hpp"
#include "enrich/error.hpp"
#include "json/value.hpp"

namespace enrich::config {

enum class OptionType {
  count,     ///< a non-negative integer
  duration,  ///< a positive number of milliseconds (fractions are rounded up)
  boolean,
  ratio,      ///< a number in [0, 1]
  text,       ///< a string
  text_list,  ///< strings: a JSON array, or one string split at whitespace
  log_level,  ///< "debug", "info", "warning", "error" or "off"
};

std::string_view to_string(OptionType type) noexcept;

struct OptionInfo {
  std::string_view name;
  OptionType type;
  std::string_view doc;
};

/// Every option, in documentation order.
std::span<const OptionInfo> options() noexcept;

/// The option with this name, or nullptr.
const OptionInfo* find_option(std::string_view name) noexcept;

/// Sets one option from a JSON value. Errors (invalid_argument) name the option; an unknown name
/// lists the valid ones.
std::optional<Error> set_option(ClientOptions& options, std::string_view name,
                                const json::Value& value);

/// Sets every member of a JSON object: {"dsn": "...", "max_connections": 8, "acquire_timeout":
/// 2000}.
std::optional<Error> set_options(ClientOptions& options, const json::Value& object);

/// The option's current value in `options`, as JSON (durations in milliseconds; the DSN with its
/// password redacted).
json::Value get_option(const ClientOptions& options, const OptionInfo& option);

/// [{"name": ..., "type": "duration", "default": 5000, "doc": ...}, ...] (the schema the bindings
/// read).
std::string schema_json();

/// {"dsn": ..., "max_connections": 4, ...}: every option's value in `options`.
std::string values_json(const ClientOptions& options);

}  // namespace enrich::config
