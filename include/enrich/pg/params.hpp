#pragma once
/// @file
/// Query parameters. Parameters are always sent separately from the SQL text ($1, $2, ...) in
/// Postgres's text format, never interpolated into it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "enrich/export.hpp"

namespace enrich {

/// Binary data for a `bytea` parameter (sent as `\x` hex text).
struct Bytes {
  std::vector<std::uint8_t> data;
};

/// One bound parameter: its text form, or SQL NULL.
class ENRICH_EXPORT Param {
 public:
  Param(std::nullptr_t) {}    // NOLINT: implicit so that Params{nullptr, 1} reads naturally
  Param(std::nullopt_t) {}    // NOLINT
  Param(bool v);              // NOLINT
  Param(const char* v);       // NOLINT
  Param(std::string v);       // NOLINT
  Param(std::string_view v);  // NOLINT
  Param(const Bytes& v);      // NOLINT
  Param(std::chrono::system_clock::time_point v);  // NOLINT: sent as UTC timestamptz
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                                          !std::is_same_v<T, char>,
                                      int> = 0>
  Param(T v) : text_(std::to_string(v)) {}  // NOLINT
  template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  Param(T v) : Param(static_cast<double>(v), 0) {}  // NOLINT
  template <class T>
  Param(const std::optional<T>& v) {  // NOLINT
    if (v) *this = Param(*v);
  }
  /// A one-dimensional array, in Postgres's array literal form ({1,2,NULL}).
  template <class T>
  Param(const std::vector<T>& values) {  // NOLINT
    std::vector<Param> items;
    items.reserve(values.size());
    for (const auto& v : values) items.emplace_back(v);
    *this = array(items);
  }

  /// An array parameter from already converted elements.
  static Param array(const std::vector<Param>& items);

  bool is_null() const { return !text_.has_value(); }
  /// The text form; only valid when `!is_null()`.
  const std::string& text() const { return *text_; }

 private:
  Param(double v, int);
  std::optional<std::string> text_;
};

/// The parameters of one statement, in $1, $2, ... order.
using Params = std::vector<Param>;

}  // namespace enrich
