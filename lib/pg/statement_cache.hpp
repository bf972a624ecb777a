#pragma once
// Per-connection cache of named prepared statements, least recently used evicted first.
//
// A statement's name is derived from its text and parameter count (statement_name), so a name
// means one statement on every server connection, in every process. Behind a pooler such as
// PgBouncer in transaction mode a name prepared through one client connection can reach a server
// connection that another client prepared: with derived names it is then the same statement
// (SQLSTATE 42P05 or 26000 at worst, never another statement's rows).

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace enrich::pg {

/// "enrich_" and 32 hex digits of SHA-256 over the SQL and its parameter count (the parameter
/// types are left to the server, so the count is what else shapes the prepared statement).
std::string statement_name(std::string_view sql, std::size_t param_count);

class StatementCache {
 public:
  explicit StatementCache(std::size_t capacity) : capacity_(capacity) {}

  struct Lookup {
    std::string name;
    bool fresh;                          ///< not prepared yet on this connection: send Parse first
    std::optional<std::string> evicted;  ///< a statement to DEALLOCATE
  };

  /// The statement name for `sql` with `param_count` parameters, creating (and possibly evicting)
  /// an entry.
  Lookup get(const std::string& sql, std::size_t param_count);
  /// Forgets `sql` if it is still cached under `name` (prepare failed, or the plan went stale).
  void erase(const std::string& sql, const std::string& name);
  /// True if `sql` is cached under `name` (this connection prepared it and it was not evicted).
  bool contains(const std::string& sql, const std::string& name) const {
    auto it = map_.find(sql);
    return it != map_.end() && it->second->name == name;
  }
  std::size_t size() const { return map_.size(); }

 private:
  struct Entry {
    std::string sql;
    std::string name;
    std::size_t param_count;
  };
  std::size_t capacity_;
  std::list<Entry> lru_;  // front: most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> map_;
};

}  // namespace enrich::pg
