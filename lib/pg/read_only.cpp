#include "pg/read_only.hpp"

#include <array>
#include <cctype>

namespace enrich::pg {
namespace {

bool is_word_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

bool equals_upper(std::string_view word, std::string_view upper) {
  if (word.size() != upper.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(word[i])) != upper[i]) return false;
  return true;
}

// Skips whitespace and comments before the first keyword. Returns npos for an unterminated or
// nested block comment (doubtful: the caller answers "no").
std::size_t skip_leading(std::string_view sql) {
  std::size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (sql.substr(i, 2) == "--") {
      std::size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) return std::string_view::npos;
      i = end + 1;
    } else if (sql.substr(i, 2) == "/*") {
      std::size_t end = sql.find("*/", i + 2);
      if (end == std::string_view::npos) return std::string_view::npos;
      if (sql.substr(i + 2, end - i - 2).find("/*") != std::string_view::npos)
        return std::string_view::npos;
      i = end + 2;
    } else {
      break;
    }
  }
  return i;
}

// Words that make a statement (possibly) write, lock rows or run arbitrary commands.
constexpr std::array<std::string_view, 10> kWriteWords = {
    "INSERT", "UPDATE", "DELETE", "MERGE", "INTO", "SHARE", "COPY", "CALL", "LOCK", "NOTIFY"};

bool has_write_word(std::string_view sql) {
  std::size_t i = 0;
  while (i < sql.size()) {
    if (!is_word_start(sql[i])) {
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < sql.size() && is_word_char(sql[i])) ++i;
    std::string_view word = sql.substr(start, i - start);
    for (std::string_view w : kWriteWords)
      if (equals_upper(word, w)) return true;
  }
  return false;
}

// A ';' followed by anything but whitespace could start a second statement.
bool has_inner_semicolon(std::string_view sql) {
  std::size_t semi = sql.find(';');
  if (semi == std::string_view::npos) return false;
  for (char c : sql.substr(semi + 1))
    if (!std::isspace(static_cast<unsigned char>(c))) return true;
  return false;
}

}  // namespace

std::string operation_name(std::string_view sql) {
  std::size_t start = skip_leading(sql);
  std::string out;
  if (start == std::string_view::npos) return out;
  for (std::size_t i = start; i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]));
       ++i)
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i])));
  return out;
}

bool is_read_only_sql(std::string_view sql) {
  std::size_t start = skip_leading(sql);
  if (start == std::string_view::npos || start >= sql.size() || !is_word_start(sql[start]))
    return false;
  std::size_t end = start;
  while (end < sql.size() && is_word_char(sql[end])) ++end;
  std::string_view first = sql.substr(start, end - start);
  bool reading = equals_upper(first, "SELECT") || equals_upper(first, "VALUES") ||
                 equals_upper(first, "TABLE") || equals_upper(first, "WITH");
  return reading && !has_write_word(sql) && !has_inner_semicolon(sql);
}

}  // namespace enrich::pg
