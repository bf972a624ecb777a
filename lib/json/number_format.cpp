#include "json/number_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace enrich::json {
namespace {

// Shortest round-trip decimal digits of a finite, non-zero |value| and its exponent n such
// that value = 0.d1d2...dk * 10^n (ECMAScript's "n").
struct Digits {
  std::string digits;
  int n = 0;
};

Digits shortest_digits(double value) {
  char buf[64];
  auto [end, ec] =
      std::to_chars(buf, buf + sizeof buf, std::fabs(value), std::chars_format::scientific);
  std::string_view s(buf, static_cast<std::size_t>(end - buf));  // d.ddde[+-]xx
  auto e = s.find('e');
  Digits d;
  for (char c : s.substr(0, e))
    if (c != '.') d.digits += c;
  while (d.digits.size() > 1 && d.digits.back() == '0') d.digits.pop_back();
  d.n = std::atoi(std::string(s.substr(e + 1)).c_str()) + 1;
  return d;
}

}  // namespace

void append_js_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  if (value == 0) {
    out += '0';  // also -0
    return;
  }
  if (value < 0) out += '-';
  auto [digits, n] = shortest_digits(value);
  int k = static_cast<int>(digits.size());
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n));
    out += '.';
    out += digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
}

void append_python_float(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  if (value == 0) {
    out += std::signbit(value) ? "-0.0" : "0.0";
    return;
  }
  if (value < 0) out += '-';
  auto [digits, n] = shortest_digits(value);
  int k = static_cast<int>(digits.size());
  int exp10 = n - 1;  // exponent in d.ddd x 10^exp10
  // pydantic-core's float spelling (what FastAPI sends): plain notation for 1e-5 <= |x| < 1e16,
  // with ".0" on integral values; otherwise "1.5e+16" / "1e-7" (no exponent padding).
  if (-5 <= exp10 && exp10 < 16) {
    if (n <= 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-n), '0');
      out += digits;
    } else if (n >= k) {
      out += digits;
      out.append(static_cast<std::size_t>(n - k), '0');
      out += ".0";
    } else {
      out += digits.substr(0, static_cast<std::size_t>(n));
      out += '.';
      out += digits.substr(static_cast<std::size_t>(n));
    }
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += exp10 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(exp10));
  }
}

std::string python_decimal_string(std::string_view text) {
  if (text == "NaN" || text == "Infinity" || text == "-Infinity") return std::string(text);
  bool negative = !text.empty() && text[0] == '-';
  if (negative || (!text.empty() && text[0] == '+')) text.remove_prefix(1);
  auto dot = text.find('.');
  std::string_view int_part = text.substr(0, dot);
  std::string_view frac_part = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  int dscale = static_cast<int>(frac_part.size());

  // Base-10000 digit groups as Postgres stores them: aligned on the decimal point, leading and
  // trailing zero groups stripped.
  std::string int_digits(int_part);
  int_digits.insert(0, (4 - int_digits.size() % 4) % 4, '0');
  std::string frac_digits(frac_part);
  frac_digits.append((4 - frac_digits.size() % 4) % 4, '0');
  std::vector<int> groups;
  for (std::size_t i = 0; i < int_digits.size(); i += 4)
    groups.push_back(std::stoi(int_digits.substr(i, 4)));
  int weight = static_cast<int>(groups.size()) - 1;
  for (std::size_t i = 0; i < frac_digits.size(); i += 4)
    groups.push_back(std::stoi(frac_digits.substr(i, 4)));
  std::size_t first = 0;
  while (first < groups.size() && groups[first] == 0) {
    ++first;
    --weight;
  }
  std::size_t last = groups.size();
  while (last > first && groups[last - 1] == 0) --last;
  std::string sign = negative ? "-" : "";

  // asyncpg's decoder builds "0.<digits>E<exp>" and hands it to Decimal().
  std::string coefficient;  // the Decimal's coefficient digits
  int exponent;             // the Decimal's exponent
  if (first == last) {
    coefficient = "0";
    exponent = -dscale;
  } else {
    int ndigits = static_cast<int>(last - first);
    int front_padding = 0;
    int g0 = groups[first];
    if (weight >= 0) front_padding = g0 < 10 ? 3 : g0 < 100 ? 2 : g0 < 1000 ? 1 : 0;
    std::string mantissa;
    for (std::size_t i = first; i < last; ++i) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%04d", groups[i]);
      mantissa += (i == first && weight >= 0) ? std::string(buf + front_padding) : std::string(buf);
    }
    if (dscale) {
      int fract_groups = ndigits - weight - 1;  // base-10000 groups after the point
      int dscale_left = dscale - fract_groups * 4;
      if (dscale_left > 0)
        mantissa.append(static_cast<std::size_t>(dscale_left), '0');
      else
        mantissa.resize(mantissa.size() - static_cast<std::size_t>(-dscale_left));
    }
    int e = (weight + 1) * 4 - front_padding;
    exponent = e - static_cast<int>(mantissa.size());
    auto nz = mantissa.find_first_not_of('0');
    coefficient = nz == std::string::npos ? "0" : mantissa.substr(nz);
  }

  // str(Decimal): Python's _pydecimal __str__ (scientific notation only for large or tiny).
  int len = static_cast<int>(coefficient.size());
  int leftdigits = exponent + len;
  int dotplace = (exponent <= 0 && leftdigits > -6) ? leftdigits : 1;
  std::string intpart, fracpart;
  if (dotplace <= 0) {
    intpart = "0";
    fracpart = "." + std::string(static_cast<std::size_t>(-dotplace), '0') + coefficient;
  } else if (dotplace >= len) {
    intpart = coefficient + std::string(static_cast<std::size_t>(dotplace - len), '0');
  } else {
    intpart = coefficient.substr(0, static_cast<std::size_t>(dotplace));
    fracpart = "." + coefficient.substr(static_cast<std::size_t>(dotplace));
  }
  std::string exp;
  if (leftdigits != dotplace) {
    int x = leftdigits - dotplace;
    exp = std::string("E") + (x >= 0 ? "+" : "-") + std::to_string(std::abs(x));
  }
  return sign + intpart + fracpart + exp;
}

}  // namespace enrich::json
