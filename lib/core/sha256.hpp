#pragma once
// SHA-256 (FIPS 180-4), self-contained so the core needs no crypto library of its own. Used where
// a name must stand for exactly one text (prepared statement names), not for security.

#include <array>
#include <cstdint>
#include <string_view>

namespace enrich {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(std::string_view data);

}  // namespace enrich
