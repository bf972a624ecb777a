#include "enrich/pg/params.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <ctime>

namespace enrich {

Param::Param(bool v) : text_(v ? "true" : "false") {}
Param::Param(const char* v) {
  if (v) text_ = v;
}
Param::Param(std::string v) : text_(std::move(v)) {}
Param::Param(std::string_view v) : text_(std::string(v)) {}

Param::Param(const Bytes& v) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s = "\\x";
  s.reserve(2 + v.data.size() * 2);
  for (std::uint8_t b : v.data) {
    s += hex[b >> 4];
    s += hex[b & 0xF];
  }
  text_ = std::move(s);
}

Param::Param(std::chrono::system_clock::time_point v) {
  using namespace std::chrono;
  auto micros = duration_cast<microseconds>(v.time_since_epoch()).count();
  auto secs = micros / 1000000;
  auto frac = micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  text_ = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

Param::Param(double v, int) {
  if (std::isnan(v)) {
    text_ = "NaN";
  } else if (std::isinf(v)) {
    text_ = v > 0 ? "Infinity" : "-Infinity";
  } else {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    text_ = std::string(buf, end);
  }
}

Param Param::array(const std::vector<Param>& items) {
  // Array literal: every element double-quoted (so commas, braces, spaces and the word NULL stay
  // data), with " and \ backslash-escaped; SQL NULL as a bare NULL.
  std::string s = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) s += ',';
    if (items[i].is_null()) {
      s += "NULL";
      continue;
    }
    s += '"';
    for (char c : items[i].text()) {
      if (c == '"' || c == '\\') s += '\\';
      s += c;
    }
    s += '"';
  }
  s += '}';
  return Param(std::move(s));
}

}  // namespace enrich
