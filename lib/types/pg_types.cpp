#include "types/pg_types.hpp"

namespace enrich::types {

TypeKind type_kind(unsigned oid) noexcept {
  switch (oid) {
    case 25:    // text
    case 1043:  // varchar
    case 1042:  // bpchar
    case 19:    // name
    case 18:    // char
      return TypeKind::text;
    case 16:
      return TypeKind::boolean;
    case 20:  // int8
    case 21:  // int2
    case 23:  // int4
    case 26:  // oid
    case 28:  // xid
      return TypeKind::integer;
    case 700:
      return TypeKind::float4;
    case 701:
      return TypeKind::float8;
    case 1700:
      return TypeKind::numeric;
    case 17:
      return TypeKind::bytea;
    case 1082:
      return TypeKind::date;
    case 1083:
      return TypeKind::time;
    case 1266:
      return TypeKind::timetz;
    case 1114:
      return TypeKind::timestamp;
    case 1184:
      return TypeKind::timestamptz;
    case 1186:
      return TypeKind::interval;
    case 2950:
      return TypeKind::uuid;
    case 114:
      return TypeKind::json;
    case 3802:
      return TypeKind::jsonb;
    case 869:
      return TypeKind::inet;
    case 650:
      return TypeKind::cidr;
    case 142:
      return TypeKind::xml;
    default:
      return TypeKind::other;
  }
}

unsigned array_element_type(unsigned oid) noexcept {
  switch (oid) {
    case 1000:
      return 16;  // bool
    case 1001:
      return 17;  // bytea
    case 1002:
      return 18;  // char
    case 1003:
      return 19;  // name
    case 1005:
      return 21;  // int2
    case 1007:
      return 23;  // int4
    case 1016:
      return 20;  // int8
    case 1028:
      return 26;  // oid
    case 1009:
      return 25;  // text
    case 1014:
      return 1042;  // bpchar
    case 1015:
      return 1043;  // varchar
    case 1021:
      return 700;  // float4
    case 1022:
      return 701;  // float8
    case 1231:
      return 1700;  // numeric
    case 1182:
      return 1082;  // date
    case 1183:
      return 1083;  // time
    case 1270:
      return 1266;  // timetz
    case 1115:
      return 1114;  // timestamp
    case 1185:
      return 1184;  // timestamptz
    case 1187:
      return 1186;  // interval
    case 2951:
      return 2950;  // uuid
    case 199:
      return 114;  // json
    case 3807:
      return 3802;  // jsonb
    case 1041:
      return 869;  // inet
    case 651:
      return 650;  // cidr
    case 143:
      return 142;  // xml
    default:
      return 0;
  }
}

}  // namespace enrich::types
