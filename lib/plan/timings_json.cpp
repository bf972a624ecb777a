#include "plan/timings_json.hpp"

#include <fmt/format.h>

#include "core/json_escape.hpp"

namespace enrich {
namespace {

void field(std::string& out, std::string_view key, std::int64_t value) {
  append_json_key(out, key);
  fmt::format_to(std::back_inserter(out), "{},", value);
}

// Not for string literals: a const char* would pick this overload over string_view's.
void field(std::string& out, std::string_view key, bool value) {
  append_json_key(out, key);
  out += value ? "true," : "false,";
}

void field(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  append_json_key(out, key);
  append_json_string(out, value);
  out += ',';
}

void close_object(std::string& out) {
  if (out.back() == ',') out.pop_back();
  out += '}';
}

}  // namespace

std::string timings_json(const PlanTimings& timings) {
  std::string out = "{";
  field(out, "started_unix_ns", timings.started_unix_ns);
  field(out, "total_us", timings.total_us);
  append_json_key(out, "steps");
  out += '[';
  for (const auto& s : timings.steps) {
    out += '{';
    field(out, "name", s.name);
    field(out, "kind", std::string_view(s.http ? "http" : "sql"));
    if (s.skipped) {
      field(out, "skipped", true);
      close_object(out);
      out += ',';
      continue;
    }
    field(out, "start_us", s.start_us);
    field(out, "duration_us", s.duration_us);
    field(out, "encode_us", s.encode_us);
    field(out, "error", s.error);
    if (s.http) {
      field(out, "method", s.method);
      field(out, "url", s.url);
      if (s.status) field(out, "status", static_cast<std::int64_t>(s.status));
      field(out, "attempts", static_cast<std::int64_t>(s.attempts));
      field(out, "connect_us", s.connect_us);
      field(out, "first_byte_us", s.first_byte_us);
    } else {
      field(out, "queued_us", s.queued_us);
      field(out, "wave", static_cast<std::int64_t>(s.wave));
      field(out, "shared_sync", s.shared_sync);
      field(out, "replica", s.replica);
      if (s.coalesced) field(out, "coalesced", true);
      if (s.batched) field(out, "batched", static_cast<std::int64_t>(s.batched));
      field(out, "server", s.server);
      field(out, "operation", s.operation);
      field(out, "query", s.query);
      field(out, "sqlstate", s.sqlstate);
      if (s.rows >= 0) field(out, "rows", s.rows);
    }
    close_object(out);
    out += ',';
  }
  if (out.back() == ',') out.pop_back();
  out += "]}";
  return out;
}

}  // namespace enrich
