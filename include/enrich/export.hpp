#pragma once
/// @file
/// ENRICH_EXPORT marks the documented C++ API that the shared library exports; everything else
/// is built with hidden visibility (see lib/exports.map).

#if defined(_WIN32)
#define ENRICH_EXPORT
#else
#define ENRICH_EXPORT __attribute__((visibility("default")))
#endif
