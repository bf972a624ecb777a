#pragma once
/// @file
/// Version of enrich: at compile time (macros) and at run time (`enrich::version()`).

#define ENRICH_VERSION_MAJOR 0
#define ENRICH_VERSION_MINOR 1
#define ENRICH_VERSION_PATCH 0
/// 0xMMmmpp, comparable with <, like RD_KAFKA_VERSION.
#define ENRICH_VERSION_HEX \
  ((ENRICH_VERSION_MAJOR << 16) | (ENRICH_VERSION_MINOR << 8) | ENRICH_VERSION_PATCH)

namespace enrich {
/// Version of the library actually linked, as ENRICH_VERSION_HEX.
int version() noexcept;
/// "0.1.0"
const char* version_string() noexcept;
}  // namespace enrich
