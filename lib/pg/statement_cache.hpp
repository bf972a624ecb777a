#pragma once
// Per-connection cache of named prepared statements, least recently used evicted first.

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace enrich::pg {

class StatementCache {
 public:
  explicit StatementCache(std::size_t capacity) : capacity_(capacity) {}

  struct Lookup {
    std::string name;
    bool fresh;  ///< not prepared yet on this connection: send Parse first
    std::optional<std::string> evicted;  ///< a statement to DEALLOCATE
  };

  /// The statement name for `sql`, creating (and possibly evicting) an entry.
  Lookup get(const std::string& sql);
  /// Forgets `sql` if it is still cached under `name` (prepare failed, or the plan went stale).
  void erase(const std::string& sql, const std::string& name);
  std::size_t size() const { return map_.size(); }

 private:
  struct Entry {
    std::string sql;
    std::string name;
  };
  std::size_t capacity_;
  std::uint64_t next_id_ = 1;
  std::list<Entry> lru_;  // front: most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> map_;
};

}  // namespace enrich::pg
