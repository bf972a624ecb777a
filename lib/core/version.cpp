#include "enrich/version.hpp"

namespace enrich {
int version() noexcept {
  return ENRICH_VERSION_HEX;
}
const char* version_string() noexcept {
  return ENRICH_VERSION_STRING;
}
}  // namespace enrich
