#include "json/pg_array.hpp"

namespace enrich::json {
namespace {

class ArrayParser {
 public:
  explicit ArrayParser(std::string_view s) : s_(s) {}

  std::optional<PgArrayItem> parse() {
    auto item = array();
    if (!item || pos_ != s_.size()) return std::nullopt;
    return item;
  }

 private:
  std::optional<PgArrayItem> array() {
    if (pos_ >= s_.size() || s_[pos_] != '{') return std::nullopt;
    ++pos_;
    PgArrayItem out;
    out.is_array = true;
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return out;
    }
    while (pos_ < s_.size()) {
      if (s_[pos_] == '{') {
        auto child = array();
        if (!child) return std::nullopt;
        out.children.push_back(std::move(*child));
      } else {
        auto child = element();
        if (!child) return std::nullopt;
        out.children.push_back(std::move(*child));
      }
      if (pos_ >= s_.size()) return std::nullopt;
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return out;
      }
      return std::nullopt;
    }
    return std::nullopt;
  }

  std::optional<PgArrayItem> element() {
    PgArrayItem item;
    if (s_[pos_] == '"') {
      ++pos_;
      std::string text;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
        text += s_[pos_++];
      }
      if (pos_ >= s_.size()) return std::nullopt;
      ++pos_;
      item.text = std::move(text);
      return item;
    }
    std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}') ++pos_;
    std::string_view raw = s_.substr(start, pos_ - start);
    if (raw.empty()) return std::nullopt;
    if (raw != "NULL") item.text = std::string(raw);
    return item;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<PgArrayItem> parse_pg_array(std::string_view text) {
  return ArrayParser(text).parse();
}

unsigned array_element_type(unsigned array_oid) {
  switch (array_oid) {
    case 1000:
      return 16;  // bool
    case 1001:
      return 17;  // bytea
    case 1005:
      return 21;  // int2
    case 1007:
      return 23;  // int4
    case 1016:
      return 20;  // int8
    case 1009:
      return 25;  // text
    case 1015:
      return 1043;  // varchar
    case 1014:
      return 1042;  // bpchar
    case 1021:
      return 700;  // float4
    case 1022:
      return 701;  // float8
    case 1231:
      return 1700;  // numeric
    case 1115:
      return 1114;  // timestamp
    case 1185:
      return 1184;  // timestamptz
    case 1182:
      return 1082;  // date
    case 2951:
      return 2950;  // uuid
    case 199:
      return 114;  // json
    case 3807:
      return 3802;  // jsonb
    case 1028:
      return 26;  // oid
    default:
      return 0;
  }
}

}  // namespace enrich::json
