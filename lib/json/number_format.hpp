#pragma once
// Number spellings of the three JSON profiles: JavaScript's Number#toString, Python's float
// repr, and Python's str(Decimal) as asyncpg builds Decimals from numeric values.

#include <string>
#include <string_view>

namespace enrich::json {

/// JSON.stringify(x) for a double: shortest round-trip digits in ECMAScript's layout;
/// "null" for NaN and infinities.
void append_js_number(std::string& out, double value);

/// Python's repr(float) ("1.0", "1e+16", "1e-05"); "null" for NaN and infinities (pydantic's
/// JSON mode turns them into None).
void append_python_float(std::string& out, double value);

/// str(Decimal) of the Decimal asyncpg returns for a numeric whose Postgres text form is `text`
/// ("12.50" -> "12.50", "10000" -> "1E+4", "0.0000001" -> "1E-7", "NaN" -> "NaN").
std::string python_decimal_string(std::string_view text);

}  // namespace enrich::json
