// Statement text helpers, so that the bindings' spans name a statement as the core's timings do.

#include <algorithm>
#include <cstring>
#include <string>

#include "enrich.h"
#include "pg/read_only.hpp"

using namespace enrich;

extern "C" {

size_t enrich_sql_operation_name(const char* sql, size_t length, char* out, size_t out_size) {
  if (!sql) return 0;
  std::string name;
  try {
    name = pg::operation_name({sql, length});
  } catch (...) {  // out of memory: no name rather than an exception through C
    return 0;
  }
  if (out && out_size > 0) {
    std::size_t n = std::min(name.size(), out_size - 1);
    std::memcpy(out, name.data(), n);
    out[n] = '\0';
  }
  return name.size();
}

}  // extern "C"
