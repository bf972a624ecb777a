#pragma once
// The one table of Postgres types that enrich decodes: what kind of value a type OID holds and
// the element type of array types. The JSON profiles (lib/json/encoder.cpp) and, through the C
// API (enrich_type_kind, enrich_array_element_type), the Python binding read it.

namespace enrich::types {

/// The kind of value a type holds; the numbers are the C API's enrich_type_kind.
enum class TypeKind {
  other = 0,  ///< anything else (enums, domains over text, ...): its text
  text = 1,   ///< text, varchar, bpchar, name, char
  boolean = 2,
  integer = 3,  ///< int2, int4, int8, oid, xid
  float4 = 4,
  float8 = 5,
  numeric = 6,
  bytea = 7,
  date = 8,
  time = 9,
  timetz = 10,
  timestamp = 11,
  timestamptz = 12,
  interval = 13,
  uuid = 14,
  json = 15,
  jsonb = 16,
  inet = 17,
  cidr = 18,
  xml = 19,
};

/// The kind of a scalar type OID (`other` for unknown OIDs and for array types).
TypeKind type_kind(unsigned oid) noexcept;

/// The element type OID of a built-in array type OID, or 0 if `oid` is not one.
unsigned array_element_type(unsigned oid) noexcept;

}  // namespace enrich::types
