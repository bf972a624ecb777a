#include "pg/dsn_options.hpp"

#include <cctype>
#include <vector>

namespace enrich::pg {
namespace {

bool is_uri(std::string_view dsn) {
  return dsn.starts_with("postgresql://") || dsn.starts_with("postgres://");
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Applies one of enrich's parameters; false if `key` is not one of them.
Result<bool> take(std::string_view key, const std::string& value, DsnOptions& out) {
  if (key != "statement_cache") return false;
  if (value == "on" || value == "true" || value == "1") {
    out.statement_cache = true;
  } else if (value == "off" || value == "false" || value == "0") {
    out.statement_cache = false;
  } else {
    return Error{ErrorCode::invalid_argument,
                 "invalid DSN: statement_cache must be \"on\" or \"off\", not \"" + value + "\""};
  }
  return true;
}

Result<DsnOptions> split_uri(std::string_view dsn) {
  DsnOptions out;
  auto q = dsn.find('?');
  if (q == std::string_view::npos) {
    out.libpq_dsn = std::string(dsn);
    return out;
  }
  std::string kept;
  std::string_view query = dsn.substr(q + 1);
  while (true) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    std::string key = percent_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    auto taken = take(key, value, out);
    if (!taken.ok()) return std::move(taken).error();
    if (!taken.value() && !pair.empty()) {
      kept += kept.empty() ? "" : "&";
      kept += pair;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  out.libpq_dsn = std::string(dsn.substr(0, q));
  if (!kept.empty()) out.libpq_dsn += "?" + kept;
  return out;
}

// key = value pairs as libpq reads them: a value is 'quoted' (with \' and \\) or runs to the
// next whitespace (with \ escapes).
Result<DsnOptions> split_key_value(std::string_view dsn) {
  DsnOptions out;
  std::string kept;
  std::size_t i = 0, n = dsn.size();
  auto space = [&](std::size_t k) { return std::isspace(static_cast<unsigned char>(dsn[k])) != 0; };
  while (true) {
    while (i < n && space(i)) ++i;
    if (i >= n) break;
    std::size_t start = i;
    while (i < n && dsn[i] != '=' && !space(i)) ++i;
    std::string key(dsn.substr(start, i - start));
    while (i < n && space(i)) ++i;
    if (i >= n || dsn[i] != '=') {
      // Not valid key=value syntax: leave the whole DSN to libpq's error message.
      out = DsnOptions{};
      out.libpq_dsn = std::string(dsn);
      return out;
    }
    ++i;
    while (i < n && space(i)) ++i;
    std::string value;
    if (i < n && dsn[i] == '\'') {
      ++i;
      while (i < n && dsn[i] != '\'') {
        if (dsn[i] == '\\' && i + 1 < n) ++i;
        value += dsn[i++];
      }
      if (i < n) ++i;  // closing quote
    } else {
      while (i < n && !space(i)) {
        if (dsn[i] == '\\' && i + 1 < n) ++i;
        value += dsn[i++];
      }
    }
    auto taken = take(key, value, out);
    if (!taken.ok()) return std::move(taken).error();
    if (!taken.value()) {
      kept += kept.empty() ? "" : " ";
      kept += dsn.substr(start, i - start);
    }
  }
  out.libpq_dsn = std::move(kept);
  return out;
}

}  // namespace

Result<DsnOptions> split_dsn_options(std::string_view dsn) {
  return is_uri(dsn) ? split_uri(dsn) : split_key_value(dsn);
}

}  // namespace enrich::pg
