#pragma once
/// @file
/// Umbrella header: everything of the enrich C++ API.

#include "enrich/client.hpp"
#include "enrich/deadline.hpp"
#include "enrich/error.hpp"
#include "enrich/future.hpp"
#include "enrich/log.hpp"
#include "enrich/pg/params.hpp"
#include "enrich/pg/result.hpp"
#include "enrich/version.hpp"
