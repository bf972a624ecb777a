#include "enrich/version.hpp"

#include "enrich.h"

// The C and the C++ constants are one version.
static_assert(enrich::version_hex == ENRICH_VERSION_HEX);
static_assert(enrich::version_text == ENRICH_VERSION_STRING);

namespace enrich {
int version() noexcept {
  return ENRICH_VERSION_HEX;
}
const char* version_string() noexcept {
  return ENRICH_VERSION_STRING;
}
}  // namespace enrich
