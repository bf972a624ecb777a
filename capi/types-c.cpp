// The core's type table and text decoder (lib/types) for bindings that build their own values.

#include <cstring>

#include "capi_internal.hpp"
#include "types/pg_text.hpp"
#include "types/pg_types.hpp"

using namespace enrich;
using namespace enrich::capi;

namespace {

class CVisitor final : public types::ArrayVisitor {
 public:
  CVisitor(const enrich_array_visitor& v, void* payload) : v_(v), payload_(payload) {}
  bool begin_array() override { return ok(!v_.begin_array || v_.begin_array(payload_) == 0); }
  bool end_array() override { return ok(!v_.end_array || v_.end_array(payload_) == 0); }
  bool element(std::string_view text, bool null) override {
    return ok(!v_.element || v_.element(payload_, null ? nullptr : text.data(), text.size()) == 0);
  }
  bool stopped = false;

 private:
  bool ok(bool go_on) {
    if (!go_on) stopped = true;
    return go_on;
  }
  const enrich_array_visitor& v_;
  void* payload_;
};

}  // namespace

extern "C" {

enrich_type_kind enrich_type_kind_of(uint32_t oid) {
  return static_cast<enrich_type_kind>(types::type_kind(oid));
}

uint32_t enrich_array_element_type(uint32_t oid) {
  return types::array_element_type(oid);
}

enrich_status enrich_parse_datetime(enrich_type_kind kind, const char* text, size_t length,
                                    int to_utc, enrich_datetime* out) {
  return guarded([&] {
    if (!text || !out) return ENRICH_ERR_INVALID_ARGUMENT;
    long long k = raw_enum(kind);
    if (k != ENRICH_TYPE_DATE && k != ENRICH_TYPE_TIME && k != ENRICH_TYPE_TIMETZ &&
        k != ENRICH_TYPE_TIMESTAMP && k != ENRICH_TYPE_TIMESTAMPTZ)
      return ENRICH_ERR_INVALID_ARGUMENT;
    types::DateTime t;
    if (!types::parse_datetime({text, length}, static_cast<types::TypeKind>(k), t))
      return ENRICH_ERR_INVALID_ARGUMENT;
    if (to_utc && t.has_offset && t.infinity == 0 && k != ENRICH_TYPE_TIMETZ) types::to_utc(t);
    *out = enrich_datetime{t.year,        t.month,          t.day,
                           t.hour,        t.minute,         t.second,
                           t.microsecond, t.offset_seconds, t.has_offset ? 1 : 0,
                           t.infinity};
    return ENRICH_OK;
  });
}

enrich_status enrich_decode_bytea(const char* text, size_t length, char* out, size_t* out_length) {
  return guarded([&] {
    if (!text || !out || !out_length) return ENRICH_ERR_INVALID_ARGUMENT;
    auto bytes = types::decode_bytea({text, length});
    if (!bytes) return ENRICH_ERR_INVALID_ARGUMENT;
    std::memcpy(out, bytes->data(), bytes->size());  // never longer than the text
    *out_length = bytes->size();
    return ENRICH_OK;
  });
}

enrich_status enrich_parse_array(const char* text, size_t length,
                                 const enrich_array_visitor* visitor, void* payload) {
  return guarded([&] {
    if (!text || !visitor) return ENRICH_ERR_INVALID_ARGUMENT;
    CVisitor v(*visitor, payload);
    if (types::visit_pg_array({text, length}, v, true)) return ENRICH_OK;
    return v.stopped ? ENRICH_ERR_CANCELLED : ENRICH_ERR_INVALID_ARGUMENT;
  });
}

}  // extern "C"
