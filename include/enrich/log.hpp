#pragma once
/// @file
/// Structured log events and pluggable sinks.
///
/// enrich never writes to stdout. Events carry a level, a stable dotted name
/// ("pg.connection_lost") and string fields; a sink decides where they go. The default sink writes
/// one JSON object per line to stderr for warnings and errors. Sinks are called on the thread that
/// raised the event (usually an I/O thread): they must be quick and must not block. DSNs are
/// always logged with the password removed (see `redact_dsn`).

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "enrich/export.hpp"

namespace enrich {

enum class LogLevel { debug = 0, info = 1, warning = 2, error = 3, off = 4 };

ENRICH_EXPORT std::string_view to_string(LogLevel level) noexcept;

/// One structured event.
struct LogEvent {
  LogLevel level = LogLevel::info;
  std::string name{};                                         ///< e.g. "pg.connect_failed"
  std::vector<std::pair<std::string, std::string>> fields{};  ///< in the order they were added
};

/// Receives events at or above its client's `min_level`.
using LogSink = std::function<void(const LogEvent&)>;

/// The event as one JSON line (no trailing newline):
/// {"level":"warning","event":"pg.connect_failed","dsn":"...","error":"..."}
ENRICH_EXPORT std::string format_log_json(const LogEvent& event);

/// The default sink: `format_log_json` lines on stderr.
ENRICH_EXPORT LogSink stderr_json_sink();

/// A sink that discards everything.
ENRICH_EXPORT LogSink null_sink();

/// The DSN (key=value or URI form) with its password replaced by "***".
ENRICH_EXPORT std::string redact_dsn(std::string_view dsn);

}  // namespace enrich
