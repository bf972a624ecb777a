// The one option list: every option in enrich_client_options_schema() can be set by name and is
// what the client then runs with; bad values and unknown names fail with messages that name them.

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>

#include "config/option_table.hpp"
#include "enrich.h"
#include "json/value.hpp"
#include "support/test_support.hpp"

namespace {

using namespace enrich;

json::Value parse(const char* text) {
  auto doc = json::parse(text);
  EXPECT_TRUE(doc.ok()) << text;
  return doc.ok() ? std::move(doc).value() : json::Value();
}

json::Value number(const std::string& text) {
  return json::Value(json::Number{text});
}

// A valid value other than the default, for an option of this type.
json::Value other_than_default(const json::Object& option) {
  const std::string& name = option[0].second.as_string();
  const std::string& type = option[1].second.as_string();
  const json::Value& def = option[2].second;
  if (type == "count") return number(std::to_string(*def.as_number().as_int64() + 1));
  if (type == "duration")
    return number(std::to_string(def.is_null() ? 1500 : *def.as_number().as_int64() + 1000));
  if (type == "boolean") return json::Value(!def.as_bool());
  if (type == "ratio") return number("0.5");
  if (type == "log_level") return json::Value(std::string("error"));
  if (type == "text") return json::Value(std::string("ua-test/1"));
  if (type == "text_list") {  // a replica nothing listens on: the client still starts
    json::Array list;
    list.emplace_back(std::string("postgresql://127.0.0.1:1/nothing"));
    return json::Value(std::move(list));
  }
  ADD_FAILURE() << "no test value for " << name << " (" << type << ")";
  return {};
}

TEST(OptionsTest, SchemaListsEachOptionOnceWithItsDefault) {
  json::Value schema = parse(enrich_client_options_schema());
  ASSERT_TRUE(schema.is_array());
  std::set<std::string> names;
  for (const auto& entry : schema.as_array()) {
    ASSERT_TRUE(entry.is_object());
    const auto& o = entry.as_object();
    ASSERT_EQ(o.size(), 4u);
    EXPECT_EQ(o[0].first, "name");
    EXPECT_TRUE(names.insert(o[0].second.as_string()).second) << o[0].second.as_string();
    EXPECT_NE(o[3].second.as_string(), "") << "undocumented: " << o[0].second.as_string();
  }
  // What the bindings could not reach before the list existed.
  for (const char* n : {"health_check_interval", "http2", "http_max_total_connections",
                        "retry_max_attempts", "retry_budget_ratio", "lifetime_jitter"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_EQ(names.size(), config::options().size());
}

// Every option but the DSN, set to a value other than its default through the JSON path, is the
// value the running client reports.
TEST(OptionsTest, EveryOptionCanBeSetByNameAndReadBack) {
  json::Value schema = parse(enrich_client_options_schema());
  json::Object config;
  config.emplace_back("dsn", json::Value(enrich::test::test_dsn()));
  for (const auto& entry : schema.as_array()) {
    const auto& o = entry.as_object();
    const std::string& name = o[0].second.as_string();
    if (name == "dsn") continue;
    config.emplace_back(name, other_than_default(o));
  }
  std::string text = json::serialize(json::Value(config));
  enrich_client* client = nullptr;
  enrich_error* error = nullptr;
  ASSERT_EQ(enrich_client_create_json(&client, text.c_str(), &error), ENRICH_OK)
      << (error ? enrich_error_message(error) : "") << "\n"
      << text;
  char* effective = nullptr;
  ASSERT_EQ(enrich_client_options_json(client, &effective), ENRICH_OK);
  json::Value values = parse(effective);
  enrich_free(effective);
  enrich_client_destroy(client);
  for (const auto& [name, want] : config) {
    const json::Value* got = values.find(name);
    ASSERT_NE(got, nullptr) << name;
    if (name == "dsn") {
      EXPECT_EQ(got->as_string().find("enrich:enrich@"), std::string::npos)
          << "the password is redacted: " << got->as_string();
      continue;
    }
    EXPECT_EQ(json::serialize(*got), json::serialize(want)) << name;
  }
}

TEST(OptionsTest, BadValuesNameTheOption) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"acquire_timeout": 0})", "option acquire_timeout must be a positive duration"},
      {R"({"acquire_timeout": "2s"})", "option acquire_timeout must be a positive duration"},
      {R"({"connect_timeout": 1e300})", "option connect_timeout must be a positive duration"},
      {R"({"max_connections": -1})", "option max_connections must be a non-negative integer"},
      {R"({"breaker_failure_threshold": 3000000000})",
       "option breaker_failure_threshold must be a non-negative integer"},
      {R"({"lifetime_jitter": 2})", "option lifetime_jitter must be a number from 0 to 1"},
      {R"({"http2": "yes"})", "option http2 must be true or false"},
      {R"({"dsn": 5})", "option dsn must be a string"},
      {R"({"log_level": "verbose"})", "option log_level must be one of debug"},
      {R"({"acquire_timeout_ms": 5})",
       "unknown option \"acquire_timeout_ms\" (valid options: dsn,"},
      {R"({"max_connections": 1, "io_threads": 2})",
       "option max_connections must be at least io_threads"},
  };
  for (const auto& c : cases) {
    enrich_client* client = nullptr;
    enrich_error* error = nullptr;
    EXPECT_EQ(enrich_client_create_json(&client, c.json, &error), ENRICH_ERR_INVALID_ARGUMENT)
        << c.json;
    ASSERT_NE(error, nullptr) << c.json;
    EXPECT_NE(std::string(enrich_error_message(error)).find(c.message), std::string::npos)
        << c.json << " -> " << enrich_error_message(error);
    enrich_error_free(error);
    EXPECT_EQ(client, nullptr);
  }
}

}  // namespace
