// enrich-query: runs one statement and prints its rows as JSON in a profile. Handy to see what a
// profile produces, and used by the profile comparison tests.
//
//   enrich-query --profile node --shape many "SELECT * FROM users WHERE id = $1" 42

#include <cstdio>
#include <cstdlib>
#include <enrich/enrich.hpp>
#include <enrich/json.hpp>
#include <fstream>
#include <sstream>
#include <string>

int main(int argc, char** argv) {
  std::string dsn = std::getenv("DATABASE_URL") ? std::getenv("DATABASE_URL") : "";
  std::string sql;
  enrich::JsonProfile profile = enrich::JsonProfile::postgres;
  enrich::ResultShape shape = enrich::ResultShape::many;
  enrich::Params params;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "enrich-query: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::string(argv[++i]);
    };
    if (a == "--dsn") {
      dsn = value();
    } else if (a == "--profile") {
      auto p = enrich::parse_json_profile(value());
      if (!p.ok()) return std::fprintf(stderr, "enrich-query: %s\n", p.error().message.c_str()), 2;
      profile = p.value();
    } else if (a == "--shape") {
      auto s = enrich::parse_result_shape(value());
      if (!s.ok()) return std::fprintf(stderr, "enrich-query: %s\n", s.error().message.c_str()), 2;
      shape = s.value();
    } else if (a == "--file") {
      std::ifstream in(value());
      std::stringstream ss;
      ss << in.rdbuf();
      sql = ss.str();
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: enrich-query [--dsn DSN] [--profile postgres|node|python] "
          "[--shape one|many|value] (SQL | --file F) [params...]\n");
      return 0;
    } else if (sql.empty()) {
      sql = a;
    } else {
      params.emplace_back(a);
    }
  }
  if (sql.empty()) {
    std::fprintf(stderr, "enrich-query: no SQL given (see --help)\n");
    return 2;
  }
  enrich::ClientOptions options;
  options.dsn = dsn;
  options.pool.max_connections = 1;
  auto client = enrich::Client::create(options);
  if (!client.ok())
    return std::fprintf(stderr, "enrich-query: %s\n", client.error().to_string().c_str()), 1;
  auto result = client.value()->query(sql, params).get();
  if (!result.ok())
    return std::fprintf(stderr, "enrich-query: %s\n", result.error().to_string().c_str()), 1;
  std::printf("%s\n", enrich::to_json(result.value(), shape, profile).c_str());
  return 0;
}
