#pragma once
/// @file
/// Version of enrich: at compile time (the constants below, generated from the C API's
/// ENRICH_VERSION_* macros in enrich.h, where the version is written once; lib/core/version.cpp
/// checks that both agree) and at run time (`enrich::version()`, the library actually linked).
/// This header does not include the C API.

#include <string_view>

#include "enrich/export.hpp"
#include "enrich/version_config.hpp"  // version_major/minor/patch, version_text (generated)

namespace enrich {

/// 0xMMmmpp, like ENRICH_VERSION_HEX: compare with < and >.
inline constexpr int version_hex = (version_major << 16) | (version_minor << 8) | version_patch;

/// Version of the library actually linked, as version_hex.
ENRICH_EXPORT int version() noexcept;
/// Version of the library actually linked, as version_text ("0.2.0").
ENRICH_EXPORT const char* version_string() noexcept;

}  // namespace enrich
