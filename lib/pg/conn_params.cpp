#include "pg/conn_params.hpp"

#include <libpq-fe.h>

#include <string_view>

#include "enrich/log.hpp"
#include "pg/dsn_options.hpp"

namespace enrich::pg {

Result<ConnParams> ConnParams::parse(const std::string& dsn) {
  auto split = split_dsn_options(dsn);
  if (!split.ok()) return std::move(split).error();
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(split.value().libpq_dsn.c_str(), &err);
  if (!opts) {
    std::string message = err ? err : "out of memory";
    PQfreemem(err);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    return Error{ErrorCode::invalid_argument, "invalid DSN: " + message};
  }
  ConnParams p;
  p.statement_cache_ = split.value().statement_cache;
  std::string app_name;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    std::string_view key = o->keyword;
    if (key == "application_name") {
      app_name = o->val;
    } else if (key != "client_encoding") {
      p.keywords_.emplace_back(o->keyword);
      p.values_.emplace_back(o->val);
    }
  }
  PQconninfoFree(opts);
  // No `options` of our own (such as -c TimeZone=UTC): PgBouncer rejects that startup parameter,
  // or drops it when told to ignore it, and any SET is lost between its transactions. Results do
  // not depend on the session's TimeZone instead: the encoders turn timestamptz into UTC.
  p.keywords_.emplace_back("client_encoding");
  p.values_.emplace_back("UTF8");
  p.keywords_.emplace_back("application_name");
  p.values_.push_back(app_name.empty() ? "enrich" : app_name);
  p.redacted_ = redact_dsn(dsn);
  p.rebuild_pointers();
  return p;
}

ConnParams& ConnParams::operator=(const ConnParams& other) {
  if (this == &other) return *this;
  keywords_ = other.keywords_;
  values_ = other.values_;
  redacted_ = other.redacted_;
  statement_cache_ = other.statement_cache_;
  rebuild_pointers();
  return *this;
}

void ConnParams::rebuild_pointers() {
  keyword_ptrs_.clear();
  value_ptrs_.clear();
  for (std::size_t i = 0; i < keywords_.size(); ++i) {
    keyword_ptrs_.push_back(keywords_[i].c_str());
    value_ptrs_.push_back(values_[i].c_str());
  }
  keyword_ptrs_.push_back(nullptr);
  value_ptrs_.push_back(nullptr);
}

}  // namespace enrich::pg
