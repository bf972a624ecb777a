#include "pg/statement_cache.hpp"

namespace enrich::pg {

StatementCache::Lookup StatementCache::get(const std::string& sql) {
  if (auto it = map_.find(sql); it != map_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return Lookup{it->second->name, false, std::nullopt};
  }
  Lookup out{"enrich_" + std::to_string(next_id_++), true, std::nullopt};
  if (capacity_ > 0 && map_.size() >= capacity_) {
    auto& victim = lru_.back();
    out.evicted = victim.name;
    map_.erase(victim.sql);
    lru_.pop_back();
  }
  lru_.push_front(Entry{sql, out.name});
  map_.emplace(sql, lru_.begin());
  return out;
}

void StatementCache::erase(const std::string& sql, const std::string& name) {
  auto it = map_.find(sql);
  if (it == map_.end() || it->second->name != name) return;
  lru_.erase(it->second);
  map_.erase(it);
}

}  // namespace enrich::pg
