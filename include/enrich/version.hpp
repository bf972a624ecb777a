#pragma once
/// @file
/// Version of enrich: at compile time (the constants below; the C API's ENRICH_VERSION_* macros in
/// enrich.h carry the same numbers, checked by tests/capi/cxx_header_test.cpp) and at run time
/// (`enrich::version()`, the library actually linked).

#include <string_view>

#include "enrich/export.hpp"

namespace enrich {

inline constexpr int version_major = 0;
inline constexpr int version_minor = 2;
inline constexpr int version_patch = 0;
/// 0xMMmmpp, like ENRICH_VERSION_HEX: compare with < and >.
inline constexpr int version_hex = (version_major << 16) | (version_minor << 8) | version_patch;
inline constexpr std::string_view version_text = "0.2.0";

/// Version of the library actually linked, as version_hex.
ENRICH_EXPORT int version() noexcept;
/// "0.2.0"
ENRICH_EXPORT const char* version_string() noexcept;

}  // namespace enrich
