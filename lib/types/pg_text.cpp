#include "types/pg_text.hpp"

#include <string>

namespace enrich::types {
namespace {

struct Cursor {
  std::string_view s;
  std::size_t p = 0;

  bool done() const { return p == s.size(); }
  bool digits(int count, int& out) {
    out = 0;
    for (int i = 0; i < count; ++i) {
      if (p >= s.size() || s[p] < '0' || s[p] > '9') return false;
      out = out * 10 + (s[p++] - '0');
    }
    return true;
  }
  bool lit(char c) {
    if (p < s.size() && s[p] == c) {
      ++p;
      return true;
    }
    return false;
  }
};

// "YYYY-MM-DD", the year with 4 to 6 digits.
bool read_date(Cursor& c, DateTime& t) {
  if (!c.digits(4, t.year)) return false;
  for (int extra = 0; c.p < c.s.size() && c.s[c.p] >= '0' && c.s[c.p] <= '9'; ++extra) {
    if (extra == 2) return false;
    t.year = t.year * 10 + (c.s[c.p++] - '0');
  }
  return c.lit('-') && c.digits(2, t.month) && c.lit('-') && c.digits(2, t.day) && t.month >= 1 &&
         t.month <= 12 && t.day >= 1 && t.day <= 31;
}

// "HH:MM:SS[.ffffff]" (24:00:00 is a valid time of day).
bool read_time(Cursor& c, DateTime& t) {
  if (!(c.digits(2, t.hour) && c.lit(':') && c.digits(2, t.minute) && c.lit(':') &&
        c.digits(2, t.second)))
    return false;
  if (c.lit('.')) {
    std::size_t start = c.p;
    int scale = 100000;
    while (c.p < c.s.size() && c.s[c.p] >= '0' && c.s[c.p] <= '9') {
      t.microsecond += (c.s[c.p] - '0') * scale;
      scale /= 10;
      ++c.p;
    }
    if (c.p == start) return false;
    t.fraction = c.s.substr(start, c.p - start);
  }
  return t.hour <= 24 && t.minute < 60 && t.second < 60;
}

// "+HH[:MM[:SS]]"
bool read_offset(Cursor& c, DateTime& t) {
  if (c.p >= c.s.size() || (c.s[c.p] != '+' && c.s[c.p] != '-')) return false;
  int sign = c.s[c.p++] == '-' ? -1 : 1;
  int h = 0, m = 0, s = 0;
  if (!c.digits(2, h)) return false;
  if (c.lit(':') && !c.digits(2, m)) return false;
  if (c.lit(':') && !c.digits(2, s)) return false;
  t.offset_seconds = sign * (h * 3600 + m * 60 + s);
  t.has_offset = true;
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class ArrayWalker {
 public:
  ArrayWalker(std::string_view s, ArrayVisitor& v) : s_(s), v_(v) {}

  bool run(bool allow_bounds) {
    if (allow_bounds && pos_ < s_.size() && s_[pos_] == '[') {
      // "[lo:hi][lo:hi]=": the dimensions only; the elements follow as usual.
      while (pos_ < s_.size() && s_[pos_] != '=') ++pos_;
      if (pos_ == s_.size()) return false;
      ++pos_;
    }
    return array() && pos_ == s_.size();
  }

 private:
  bool array() {
    if (pos_ >= s_.size() || s_[pos_] != '{' || !v_.begin_array()) return false;
    ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return v_.end_array();
    }
    while (pos_ < s_.size()) {
      if (!(s_[pos_] == '{' ? array() : element())) return false;
      if (pos_ >= s_.size()) return false;
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return v_.end_array();
      }
      return false;
    }
    return false;
  }

  bool element() {
    if (s_[pos_] == '"') {
      ++pos_;
      // Unescaped in place when there is nothing to unescape (the usual case).
      std::size_t start = pos_;
      bool escaped = false;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) {
          escaped = true;
          ++pos_;
        }
        ++pos_;
      }
      if (pos_ >= s_.size()) return false;
      std::string_view raw = s_.substr(start, pos_ - start);
      ++pos_;
      if (!escaped) return v_.element(raw, false);
      buf_.clear();
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
        buf_ += raw[i];
      }
      return v_.element(buf_, false);
    }
    std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}') ++pos_;
    std::string_view raw = s_.substr(start, pos_ - start);
    if (raw.empty()) return false;
    return v_.element(raw, raw == "NULL");
  }

  std::string_view s_;
  ArrayVisitor& v_;
  std::size_t pos_ = 0;
  std::string buf_;
};

}  // namespace

bool parse_datetime(std::string_view text, TypeKind kind, DateTime& t) {
  t = DateTime{};
  const bool has_date =
      kind == TypeKind::date || kind == TypeKind::timestamp || kind == TypeKind::timestamptz;
  const bool has_time = kind != TypeKind::date;
  const bool needs_offset = kind == TypeKind::timestamptz || kind == TypeKind::timetz;
  if (has_date) {
    if (text == "infinity") return (t.infinity = 1), true;
    if (text == "-infinity") return (t.infinity = -1), true;
  }
  Cursor c{text};
  if (has_date && !read_date(c, t)) return false;
  if (has_date && has_time && !c.lit(' ')) return false;
  if (has_time && !read_time(c, t)) return false;
  if (needs_offset && !read_offset(c, t)) return false;
  return c.done();
}

std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yoe) + static_cast<int>(era) * 400 + (m <= 2);
}

std::int64_t epoch_seconds(const DateTime& t) {
  return days_from_civil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.minute * 60 +
         t.second - t.offset_seconds;
}

void to_utc(DateTime& t) {
  if (t.offset_seconds == 0) return;
  std::int64_t secs = epoch_seconds(t);
  std::int64_t days = secs / 86400 - (secs % 86400 < 0 ? 1 : 0);
  std::int64_t rest = secs - days * 86400;
  civil_from_days(days, t.year, t.month, t.day);
  t.hour = static_cast<int>(rest / 3600);
  t.minute = static_cast<int>(rest / 60 % 60);
  t.second = static_cast<int>(rest % 60);
  t.offset_seconds = 0;
}

std::optional<std::string> decode_bytea(std::string_view s) {
  std::string out;
  if (s.size() >= 2 && s[0] == '\\' && s[1] == 'x') {
    if (s.size() % 2) return std::nullopt;
    out.reserve((s.size() - 2) / 2);
    for (std::size_t i = 2; i + 1 < s.size(); i += 2) {
      int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
  }
  // bytea_output = escape: "\\" is a backslash, "\ooo" an octal byte, anything else itself.
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
    } else if (i + 1 < s.size() && s[i + 1] == '\\') {
      out.push_back('\\');
      ++i;
    } else if (i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
               s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

bool visit_pg_array(std::string_view text, ArrayVisitor& visitor, bool allow_bounds) {
  return ArrayWalker(text, visitor).run(allow_bounds);
}

}  // namespace enrich::types
