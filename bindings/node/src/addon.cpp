// enrich.node: the native half of the `enrich` package. It sits on the C API only (enrich.h).
// lib/native.js loads it once per environment (main thread or Worker) and installs the JS
// helpers; lib/client.js wraps the native objects in the public classes.

#include <napi.h>

#include "bridge.hpp"
#include "client_wrap.hpp"
#include "enrich.h"

namespace enrich_node {
namespace {

Napi::Value set_helpers(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject())
    throw Napi::TypeError::New(info.Env(), "helpers must be an object");
  Bridge::of(info.Env())->set_helpers(info[0].As<Napi::Object>());
  return info.Env().Undefined();
}

// process.on('exit'): the loop will not turn again. Destroy the clients now, while the process
// is still whole (process.exit() skips environment cleanup hooks).
Napi::Value shutdown(const Napi::CallbackInfo& info) {
  if (Bridge* b = Bridge::of(info.Env())) b->shutdown_for_exit();
  return info.Env().Undefined();
}

Napi::Value bridge_stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bridge* b = Bridge::of(env);
  auto o = Napi::Object::New(env);
  o.Set("pending", Napi::Number::New(env, b ? static_cast<double>(b->pending()) : 0));
  o.Set("drains", Napi::Number::New(env, b ? static_cast<double>(b->drains()) : 0));
  o.Set("completions", Napi::Number::New(env, b ? static_cast<double>(b->completions()) : 0));
  return o;
}

Napi::Value status_name(const Napi::CallbackInfo& info) {
  int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
  return Napi::String::New(info.Env(), enrich_status_name(static_cast<enrich_status>(code)));
}

// The core's db.operation.name of a statement (what plan timings carry), for direct statements.
Napi::Value sql_operation_name(const Napi::CallbackInfo& info) {
  std::string sql = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value()
                                                            : std::string();
  std::size_t n = enrich_sql_operation_name(sql.data(), sql.size(), nullptr, 0);
  std::string name(n, '\0');
  enrich_sql_operation_name(sql.data(), sql.size(), name.data(), n + 1);
  return Napi::String::New(info.Env(), name);
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  Bridge* bridge = Bridge::create(env);
  exports.Set("NativeClient", ClientWrap::define(env));
  bridge->tx_constructor = Napi::Persistent(TxWrap::define(env));
  bridge->plan_constructor = Napi::Persistent(PlanWrap::define(env));
  exports.Set("loadPlan", Napi::Function::New(env, &PlanWrap::load, "loadPlan"));
  exports.Set("planFromJson", Napi::Function::New(env, &PlanWrap::from_json, "planFromJson"));
  exports.Set("setHelpers", Napi::Function::New(env, &set_helpers, "setHelpers"));
  exports.Set("shutdown", Napi::Function::New(env, &shutdown, "shutdown"));
  exports.Set("bridgeStats", Napi::Function::New(env, &bridge_stats, "bridgeStats"));
  exports.Set("sqlOperationName",
              Napi::Function::New(env, &sql_operation_name, "sqlOperationName"));
  exports.Set("statusName", Napi::Function::New(env, &status_name, "statusName"));
  exports.Set("optionsSchema", Napi::String::New(env, enrich_client_options_schema()));
  exports.Set("version", Napi::String::New(env, enrich_version_string()));
  exports.Set("versionHex", Napi::Number::New(env, enrich_version()));
  exports.Set("headerVersionHex", Napi::Number::New(env, ENRICH_VERSION_HEX));
  return exports;
}

}  // namespace
}  // namespace enrich_node

static Napi::Object init_enrich(Napi::Env env, Napi::Object exports) {
  return enrich_node::init(env, exports);
}

NODE_API_MODULE(enrich, init_enrich)
