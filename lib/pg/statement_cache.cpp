#include "pg/statement_cache.hpp"

#include "core/sha256.hpp"

namespace enrich::pg {

std::string statement_name(std::string_view sql, std::size_t param_count) {
  // Versioned input, so that a later change of what shapes a statement changes every name.
  std::string input = "enrich-statement-v1\n" + std::to_string(param_count) + "\n";
  input += sql;
  Sha256Digest digest = sha256(input);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = "enrich_";
  for (std::size_t i = 0; i < 16; ++i) {  // 128 bits: no collision between real statements
    name += kHex[digest[i] >> 4];
    name += kHex[digest[i] & 15];
  }
  return name;
}

StatementCache::Lookup StatementCache::get(const std::string& sql, std::size_t param_count) {
  std::optional<std::string> evicted;
  if (auto it = map_.find(sql); it != map_.end()) {
    if (it->second->param_count == param_count) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return Lookup{it->second->name, false, std::nullopt};
    }
    // Same text with another parameter count is another statement: replace the entry.
    evicted = it->second->name;
    lru_.erase(it->second);
    map_.erase(it);
  }
  Lookup out{statement_name(sql, param_count), true, std::move(evicted)};
  if (!out.evicted && capacity_ > 0 && map_.size() >= capacity_) {
    auto& victim = lru_.back();
    out.evicted = victim.name;
    map_.erase(victim.sql);
    lru_.pop_back();
  }
  lru_.push_front(Entry{sql, out.name, param_count});
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
