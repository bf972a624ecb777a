#include "pg/batch_sql.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

namespace enrich::pg {

namespace {

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// The end of a dollar-quote opener `$tag$` starting at `i`, or npos if there is none.
std::size_t dollar_tag_end(std::string_view sql, std::size_t i) {
  std::size_t j = i + 1;
  if (j < sql.size() && (std::isdigit(static_cast<unsigned char>(sql[j]))))
    return std::string_view::npos;
  while (j < sql.size() && sql[j] != '$') {
    char c = sql[j];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
          static_cast<unsigned char>(c) >= 0x80))
      return std::string_view::npos;
    ++j;
  }
  return j < sql.size() ? j + 1 : std::string_view::npos;
}

}  // namespace

bool valid_batch_key_type(std::string_view type) {
  std::size_t i = 0;
  if (type.empty() || !(std::isalpha(static_cast<unsigned char>(type[0])) || type[0] == '_'))
    return false;
  while (i < type.size() && type[i] != '(') {
    char c = type[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ' ' || c == '.'))
      return false;
    ++i;
  }
  if (i == type.size()) return true;
  // "(20)" or "(10, 2)", at the end.
  if (type.back() != ')') return false;
  bool digit = false;
  for (++i; i + 1 < type.size(); ++i) {
    char c = type[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (c != ',' && c != ' ') {
      return false;
    }
  }
  return digit;
}

Result<std::string> batch_statement(std::string_view sql, std::string_view key_type) {
  if (!valid_batch_key_type(key_type))
    return Error{ErrorCode::invalid_argument,
                 "batch: the key type must be a plain SQL type name such as bigint, text or uuid"};
  // Drop a trailing ';' (and the space around it): the statement becomes a subquery.
  while (!sql.empty() &&
         (std::isspace(static_cast<unsigned char>(sql.back())) || sql.back() == ';'))
    sql.remove_suffix(1);
  constexpr std::string_view kKey = "\"enrich.batch\".\"key\"";
  std::string body;
  body.reserve(sql.size() + 32);
  bool found = false;
  std::size_t i = 0, n = sql.size();
  while (i < n) {
    char c = sql[i];
    bool after_word = i > 0 && word_char(sql[i - 1]);
    if (c == '\'') {
      // A string: '' escapes a quote; E'...' also takes backslash escapes.
      bool escapes =
          i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && !(i > 1 && word_char(sql[i - 2]));
      std::size_t j = i + 1;
      while (j < n) {
        if (escapes && sql[j] == '\\') {
          j += 2;
        } else if (sql[j] == '\'') {
          if (j + 1 < n && sql[j + 1] == '\'') {
            j += 2;
          } else {
            break;
          }
        } else {
          ++j;
        }
      }
      j = std::min(j + 1, n);
      body.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '"') {
      std::size_t j = i + 1;
      while (j < n) {
        if (sql[j] == '"') {
          if (j + 1 < n && sql[j + 1] == '"') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      j = std::min(j + 1, n);
      body.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      std::size_t j = sql.find('\n', i);
      j = j == std::string_view::npos ? n : j;
      body.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      // Block comments nest in Postgres.
      std::size_t j = i + 2;
      int depth = 1;
      while (j < n && depth > 0) {
        if (sql[j] == '/' && j + 1 < n && sql[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (sql[j] == '*' && j + 1 < n && sql[j + 1] == '/') {
          --depth;
          j += 2;
        } else {
          ++j;
        }
      }
      body.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '$' && !after_word) {
      std::size_t j = i + 1;
      while (j < n && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
      if (j > i + 1) {
        // A parameter.
        if (sql.substr(i + 1, j - i - 1) == "1") {
          body.append(kKey);
          found = true;
        } else {
          body.append(sql.substr(i, j - i));
        }
        i = j;
        continue;
      }
      std::size_t tag_end = dollar_tag_end(sql, i);
      if (tag_end == std::string_view::npos) {
        body += c;
        ++i;
        continue;
      }
      // A dollar-quoted string: up to the same $tag$.
      std::string_view tag = sql.substr(i, tag_end - i);
      std::size_t close = sql.find(tag, tag_end);
      std::size_t end = close == std::string_view::npos ? n : close + tag.size();
      body.append(sql.substr(i, end - i));
      i = end;
    } else {
      body += c;
      ++i;
    }
  }
  if (!found)
    return Error{ErrorCode::invalid_argument,
                 "batch: the statement has no $1 to take the key (it must be the key's parameter)"};
  std::string out;
  out.reserve(body.size() + 160 + key_type.size());
  out += "SELECT \"enrich.batch\".\"ord\", \"enrich.q\".* FROM unnest($1::";
  out += key_type;
  out += "[]) WITH ORDINALITY AS \"enrich.batch\"(\"key\", \"ord\") CROSS JOIN LATERAL (\n";
  out += body;
  out += "\n) AS \"enrich.q\"";
  return out;
}

std::string array_literal(const std::vector<const Param*>& keys) {
  std::size_t size = 2;
  for (const Param* k : keys) size += 3 + (k->is_null() ? 4 : k->text().size());
  std::string out;
  out.reserve(size);
  out += '{';
  bool first = true;
  for (const Param* k : keys) {
    if (!first) out += ',';
    first = false;
    if (k->is_null()) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (char c : k->text()) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::vector<PGresult*> split_batch_result(const PGresult* batched, std::size_t keys) {
  std::vector<PGresult*> out;
  int columns = PQnfields(batched);
  if (PQresultStatus(batched) != PGRES_TUPLES_OK || columns < 2 || PQftype(batched, 0) != 20 ||
      PQfformat(batched, 0) != 0)
    return out;
  std::vector<PGresAttDesc> attrs(static_cast<std::size_t>(columns - 1));
  for (int c = 1; c < columns; ++c) {
    PGresAttDesc& a = attrs[static_cast<std::size_t>(c - 1)];
    a.name = PQfname(batched, c);
    a.tableid = PQftable(batched, c);
    a.columnid = PQftablecol(batched, c);
    a.format = PQfformat(batched, c);
    a.typid = PQftype(batched, c);
    a.typlen = PQfsize(batched, c);
    a.atttypmod = PQfmod(batched, c);
  }
  auto fail = [&out] {
    for (PGresult* r : out) PQclear(r);
    out.clear();
    return std::vector<PGresult*>{};
  };
  out.reserve(keys);
  for (std::size_t k = 0; k < keys; ++k) {
    PGresult* r = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
    if (!r) return fail();
    out.push_back(r);
    if (!PQsetResultAttrs(r, columns - 1, attrs.data())) return fail();
  }
  int rows = PQntuples(batched);
  for (int row = 0; row < rows; ++row) {
    std::string_view text(PQgetvalue(batched, row, 0),
                          static_cast<std::size_t>(PQgetlength(batched, row, 0)));
    std::size_t ord = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ord);
    if (ec != std::errc{} || end != text.data() + text.size() || ord < 1 || ord > keys)
      return fail();
    PGresult* r = out[ord - 1];
    int tuple = PQntuples(r);
    for (int c = 1; c < columns; ++c) {
      bool null = PQgetisnull(batched, row, c);
      if (!PQsetvalue(r, tuple, c - 1, null ? nullptr : PQgetvalue(batched, row, c),
                      null ? -1 : PQgetlength(batched, row, c)))
        return fail();
    }
  }
  return out;
}

}  // namespace enrich::pg
