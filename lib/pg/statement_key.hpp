#pragma once
// Keys that say two calls run the same statement (single-flight, pg/coalescer.hpp) or the same
// statement shape (batching, pg/batcher.hpp). Every part is length-prefixed, so that no choice of
// SQL and values can make two different calls collide.

#include <cstddef>
#include <string>
#include <string_view>

#include "enrich/pg/params.hpp"

namespace enrich::pg {

/// Appends `text`, prefixed by its length.
void append_key_part(std::string& key, std::string_view text);

/// Appends `params[from..]`: each value length-prefixed, NULL apart from ''.
void append_params_key(std::string& key, const Params& params, std::size_t from = 0);

}  // namespace enrich::pg
