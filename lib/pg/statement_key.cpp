#include "pg/statement_key.hpp"

#include <cstring>

namespace enrich::pg {

void append_key_part(std::string& key, std::string_view text) {
  std::size_t n = text.size();
  char bytes[sizeof n];
  std::memcpy(bytes, &n, sizeof n);
  key.append(bytes, sizeof n);
  key += text;
}

void append_params_key(std::string& key, const Params& params, std::size_t from) {
  std::size_t size = key.size();
  for (std::size_t i = from; i < params.size(); ++i)
    size += 1 + (params[i].is_null() ? 0 : sizeof(std::size_t) + params[i].text().size());
  key.reserve(size);
  for (std::size_t i = from; i < params.size(); ++i) {
    if (params[i].is_null()) {
      key += 'N';
      continue;
    }
    key += 'V';
    append_key_part(key, params[i].text());
  }
}

}  // namespace enrich::pg
