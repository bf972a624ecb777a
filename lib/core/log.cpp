#include "enrich/log.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <cstdio>

#include "core/json_escape.hpp"

namespace enrich {

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
    case LogLevel::off:
      return "off";
  }
  return "unknown";
}

std::string format_log_json(const LogEvent& event) {
  std::string out = "{\"level\":\"";
  out += to_string(event.level);
  out += "\",\"event\":";
  append_json_string(out, event.name);
  for (const auto& [key, value] : event.fields) {
    out += ',';
    append_json_string(out, key);
    out += ':';
    append_json_string(out, value);
  }
  out += '}';
  return out;
}

LogSink stderr_json_sink() {
  return [](const LogEvent& event) {
    std::string line = format_log_json(event);
    line += '\n';
    // One fwrite per line so that lines from several threads do not interleave.
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

LogSink null_sink() {
  return [](const LogEvent&) {};
}

std::string redact_dsn(std::string_view dsn) {
  std::string s(dsn);
  if (s.starts_with("postgresql://") || s.starts_with("postgres://")) {
    // URI form: scheme://user:password@host... ; also ?password=... in the query string.
    auto scheme_end = s.find("://") + 3;
    auto at = s.find('@', scheme_end);
    auto slash = s.find('/', scheme_end);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      auto colon = s.find(':', scheme_end);
      if (colon != std::string::npos && colon < at) s.replace(colon + 1, at - colon - 1, "***");
    }
    for (auto pos = s.find("password="); pos != std::string::npos;
         pos = s.find("password=", pos + 1)) {
      if (pos > 0 && s[pos - 1] != '?' && s[pos - 1] != '&') continue;
      auto start = pos + 9;
      auto end = s.find('&', start);
      s.replace(start, (end == std::string::npos ? s.size() : end) - start, "***");
    }
    return s;
  }
  // key=value form: rebuild from libpq's own parser so that quoting is handled.
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(s.c_str(), &err);
  if (!opts) {
    PQfreemem(err);
    return "<unparsable dsn>";
  }
  std::string out;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    if (!out.empty()) out += ' ';
    out += o->keyword;
    out += '=';
    out += std::string_view(o->keyword) == "password" ? "***" : o->val;
  }
  PQconninfoFree(opts);
  return out;
}

}  // namespace enrich
