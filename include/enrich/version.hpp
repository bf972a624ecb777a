#pragma once
/// @file
/// Version of enrich: at compile time (ENRICH_VERSION_* macros, defined once in the C header
/// enrich.h) and at run time (`enrich::version()`).

#include "enrich.h"
#include "enrich/export.hpp"

namespace enrich {
/// Version of the library actually linked, as ENRICH_VERSION_HEX (0xMMmmpp).
ENRICH_EXPORT int version() noexcept;
/// "0.1.0"
ENRICH_EXPORT const char* version_string() noexcept;
}  // namespace enrich
