#include "enrich/pg/result.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "types/pg_text.hpp"

namespace enrich {

QueryResult::QueryResult(pg_result* result) : result_(result, [](pg_result* r) { PQclear(r); }) {}
QueryResult::QueryResult(pg_result* result, std::string command_tag) : QueryResult(result) {
  command_tag_ = std::make_shared<const std::string>(std::move(command_tag));
}

std::size_t QueryResult::size() const {
  return result_ ? static_cast<std::size_t>(PQntuples(result_.get())) : 0;
}
std::size_t QueryResult::columns() const {
  return result_ ? static_cast<std::size_t>(PQnfields(result_.get())) : 0;
}
std::string_view QueryResult::column_name(std::size_t column) const {
  if (column >= columns()) return {};
  return PQfname(result_.get(), static_cast<int>(column));
}
unsigned QueryResult::column_type(std::size_t column) const {
  if (column >= columns()) return 0;
  return PQftype(result_.get(), static_cast<int>(column));
}
std::optional<std::size_t> QueryResult::find_column(std::string_view name) const {
  for (std::size_t i = 0; i < columns(); ++i)
    if (column_name(i) == name) return i;
  return std::nullopt;
}
std::int64_t QueryResult::affected_rows() const {
  if (!result_) return 0;
  if (command_tag_) return static_cast<std::int64_t>(size());  // a SELECT's share
  const char* n = PQcmdTuples(result_.get());
  if (n && *n) return std::strtoll(n, nullptr, 10);
  return static_cast<std::int64_t>(size());
}
std::string_view QueryResult::command_tag() const {
  if (command_tag_) return *command_tag_;
  return result_ ? PQcmdStatus(result_.get()) : "";
}
bool QueryResult::is_null(std::size_t row, std::size_t column) const {
  return PQgetisnull(result_.get(), static_cast<int>(row), static_cast<int>(column)) != 0;
}
std::string_view QueryResult::text(std::size_t row, std::size_t column) const {
  int r = static_cast<int>(row), c = static_cast<int>(column);
  return std::string_view(PQgetvalue(result_.get(), r, c),
                          static_cast<std::size_t>(PQgetlength(result_.get(), r, c)));
}

bool Row::is_null(std::size_t column) const {
  if (check_column(column)) return false;
  return result_->is_null(index_, column);
}
bool Row::is_null(std::string_view column) const {
  auto i = column_index(column);
  return i.ok() && is_null(i.value());
}
std::string_view Row::text(std::size_t column) const {
  if (check_column(column)) return {};
  return result_->text(index_, column);
}

Result<std::size_t> Row::column_index(std::string_view name) const {
  if (auto i = result_->find_column(name)) return *i;
  return Error{ErrorCode::invalid_argument, fmt::format("no column named \"{}\"", name)};
}

std::optional<Error> Row::check_column(std::size_t column) const {
  if (index_ >= result_->size())
    return Error{ErrorCode::invalid_argument,
                 fmt::format("row {} out of range (result has {} rows)", index_, result_->size())};
  if (column >= result_->columns())
    return Error{
        ErrorCode::invalid_argument,
        fmt::format("column {} out of range (result has {} columns)", column, result_->columns())};
  return std::nullopt;
}

Error Row::null_error(std::size_t column) const {
  return Error{ErrorCode::invalid_argument,
               fmt::format("column \"{}\" is NULL in row {}; read it as std::optional",
                           result_->column_name(column), index_)};
}

Error Row::convert_error(std::size_t column, const char* type) const {
  return Error{ErrorCode::invalid_argument,
               fmt::format("column \"{}\" value \"{}\" is not a valid {}",
                           result_->column_name(column), text(column), type)};
}

namespace detail {
namespace {
template <class T>
bool parse_int(std::string_view text, T& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}
template <class T>
bool parse_float(std::string_view text, T& out) {
  if (text == "NaN") return out = std::numeric_limits<T>::quiet_NaN(), true;
  if (text == "Infinity") return out = std::numeric_limits<T>::infinity(), true;
  if (text == "-Infinity") return out = -std::numeric_limits<T>::infinity(), true;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}
}  // namespace

bool parse_value(std::string_view text, bool& out) {
  if (text == "t" || text == "true") return out = true, true;
  if (text == "f" || text == "false") return out = false, true;
  return false;
}
bool parse_value(std::string_view text, std::int16_t& out) {
  return parse_int(text, out);
}
bool parse_value(std::string_view text, std::int32_t& out) {
  return parse_int(text, out);
}
bool parse_value(std::string_view text, std::int64_t& out) {
  return parse_int(text, out);
}
bool parse_value(std::string_view text, double& out) {
  return parse_float(text, out);
}
bool parse_value(std::string_view text, float& out) {
  return parse_float(text, out);
}
bool parse_value(std::string_view text, std::string& out) {
  out.assign(text);
  return true;
}
bool parse_value(std::string_view text, std::string_view& out) {
  out = text;
  return true;
}
bool parse_value(std::string_view text, Bytes& out) {
  auto bytes = types::decode_bytea(text);  // hex or escape output
  if (!bytes) return false;
  out.data.assign(bytes->begin(), bytes->end());
  return true;
}
}  // namespace detail

}  // namespace enrich
