#pragma once
// What the library's components log through: the client's sink and minimum level
// (ClientOptions::log_sink / log_level, include/enrich/log.hpp).

#include <string>
#include <utility>
#include <vector>

#include "enrich/log.hpp"

namespace enrich {

/// A sink plus a minimum level; what the library's components log through.
class Logger {
 public:
  Logger() = default;
  Logger(LogSink sink, LogLevel min_level) : sink_(std::move(sink)), min_level_(min_level) {}

  bool enabled(LogLevel level) const { return sink_ && level >= min_level_; }
  void log(LogLevel level, std::string name,
           std::vector<std::pair<std::string, std::string>> fields = {}) const {
    if (!enabled(level)) return;
    sink_(LogEvent{level, std::move(name), std::move(fields)});
  }

 private:
  LogSink sink_;
  LogLevel min_level_ = LogLevel::off;
};

}  // namespace enrich
