#pragma once
// Number spellings of the three JSON profiles: JavaScript's Number#toString, pydantic-core's
// float spelling, and Python's str(Decimal) as asyncpg builds Decimals from numeric values.

#include <string>
#include <string_view>

namespace enrich::json {

/// JSON.stringify(x) for a double: shortest round-trip digits in ECMAScript's layout;
/// "null" for NaN and infinities.
void append_js_number(std::string& out, double value);

/// A Python float as pydantic-core writes it in FastAPI responses ("1.0", "0.00001", "1e-7",
/// "1e+16"); "null" for NaN and infinities (pydantic's default ser_json_inf_nan).
void append_python_float(std::string& out, double value);

/// str(Decimal) of the Decimal asyncpg returns for a numeric whose Postgres text form is `text`
/// ("12.50" -> "12.50", "10000" -> "1E+4", "0.0000001" -> "1E-7", "NaN" -> "NaN").
std::string python_decimal_string(std::string_view text);

}  // namespace enrich::json
