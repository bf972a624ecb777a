#pragma once
/// @file
/// Query results: rows with column names and type OIDs, and typed accessors.
///
/// A `QueryResult` owns its libpq result and is cheap to copy (shared, immutable). Values arrive
/// in Postgres's text format; `Row::get<T>` converts them. Rows and views into a result stay
/// valid as long as any copy of the `QueryResult` lives.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "enrich/error.hpp"
#include "enrich/export.hpp"
#include "enrich/pg/params.hpp"

struct pg_result;  // libpq's PGresult

namespace enrich {

/// Well-known type OIDs (pg_type.oid) of the built-in types.
namespace oid {
inline constexpr unsigned bool_ = 16, bytea = 17, int8 = 20, int2 = 21, int4 = 23, text = 25,
                          json = 114, float4 = 700, float8 = 701, varchar = 1043, date = 1082,
                          timestamp = 1114, timestamptz = 1184, numeric = 1700, uuid = 2950,
                          jsonb = 3802;
}

class QueryResult;

namespace detail {
// Text -> value conversions used by Row::get; each returns false if the text does not parse.
ENRICH_EXPORT bool parse_value(std::string_view text, bool& out);
ENRICH_EXPORT bool parse_value(std::string_view text, std::int16_t& out);
ENRICH_EXPORT bool parse_value(std::string_view text, std::int32_t& out);
ENRICH_EXPORT bool parse_value(std::string_view text, std::int64_t& out);
ENRICH_EXPORT bool parse_value(std::string_view text, double& out);
ENRICH_EXPORT bool parse_value(std::string_view text, float& out);
ENRICH_EXPORT bool parse_value(std::string_view text, std::string& out);
ENRICH_EXPORT bool parse_value(std::string_view text, std::string_view& out);
ENRICH_EXPORT bool parse_value(std::string_view text, Bytes& out);  // bytea hex form

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
}  // namespace detail

/// One row of a `QueryResult`.
class ENRICH_EXPORT Row {
 public:
  Row(const QueryResult* result, std::size_t index) : result_(result), index_(index) {}

  std::size_t index() const { return index_; }
  bool is_null(std::size_t column) const;
  bool is_null(std::string_view column) const;
  /// The raw text of a value (empty for NULL).
  std::string_view text(std::size_t column) const;

  /// The value converted to T: bool, int16/32/64, float, double, std::string,
  /// std::string_view, Bytes, or std::optional of these (NULL -> nullopt). Returns an
  /// `invalid_argument` error for a bad column, a NULL into a non-optional, or text that does
  /// not convert.
  template <class T>
  Result<T> try_get(std::size_t column) const {
    if (auto err = check_column(column)) return *err;
    if constexpr (detail::IsOptional<T>::value) {
      if (is_null(column)) return T{};
      auto inner = try_get<typename T::value_type>(column);
      if (!inner.ok()) return std::move(inner).error();
      return T{std::move(inner).value()};
    } else {
      if (is_null(column)) return null_error(column);
      T out{};
      if (!detail::parse_value(text(column), out)) return convert_error(column, type_name<T>());
      return out;
    }
  }
  template <class T>
  Result<T> try_get(std::string_view column) const {
    auto index = column_index(column);
    if (!index.ok()) return std::move(index).error();
    return try_get<T>(index.value());
  }

  /// As `try_get`, but throws `enrich::Exception` on error.
  template <class T>
  T get(std::size_t column) const {
    return try_get<T>(column).value();
  }
  template <class T>
  T get(std::string_view column) const {
    return try_get<T>(column).value();
  }

 private:
  Result<std::size_t> column_index(std::string_view name) const;
  std::optional<Error> check_column(std::size_t column) const;
  Error null_error(std::size_t column) const;
  Error convert_error(std::size_t column, const char* type) const;
  template <class T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, bool>)
      return "bool";
    else if constexpr (std::is_integral_v<T>)
      return "integer";
    else if constexpr (std::is_floating_point_v<T>)
      return "floating point";
    else if constexpr (std::is_same_v<T, Bytes>)
      return "bytes";
    else
      return "string";
  }

  const QueryResult* result_;
  std::size_t index_;
};

/// The result of one statement.
class ENRICH_EXPORT QueryResult {
 public:
  QueryResult() = default;
  /// Takes ownership of a libpq result (internal; used by the client).
  explicit QueryResult(pg_result* result);
  /// The same, with the command tag given (a result built by the library, such as one caller's
  /// share of a batched statement, has none of its own; internal).
  QueryResult(pg_result* result, std::string command_tag);

  std::size_t size() const;  ///< number of rows
  bool empty() const { return size() == 0; }
  std::size_t columns() const;
  std::string_view column_name(std::size_t column) const;
  unsigned column_type(std::size_t column) const;  ///< the column's type OID
  /// Index of the column with this name, if any.
  std::optional<std::size_t> find_column(std::string_view name) const;
  /// Rows affected by INSERT/UPDATE/DELETE/..., else the number of rows returned.
  std::int64_t affected_rows() const;
  /// The command tag ("SELECT 3", "INSERT 0 1", ...).
  std::string_view command_tag() const;

  bool is_null(std::size_t row, std::size_t column) const;
  std::string_view text(std::size_t row, std::size_t column) const;

  Row row(std::size_t index) const { return Row(this, index); }
  Row operator[](std::size_t index) const { return Row(this, index); }

  class iterator {
   public:
    iterator(const QueryResult* r, std::size_t i) : r_(r), i_(i) {}
    Row operator*() const { return Row(r_, i_); }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const iterator& o) const { return i_ == o.i_; }

   private:
    const QueryResult* r_;
    std::size_t i_;
  };
  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, size()); }

  /// The underlying libpq result, or nullptr (for encoders in this library).
  const pg_result* raw() const { return result_.get(); }

 private:
  std::shared_ptr<pg_result> result_;
  std::shared_ptr<const std::string> command_tag_;  // null: the result's own
};

}  // namespace enrich
