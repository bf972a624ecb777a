// The CMake consumer of the install tree (tests/package/check.sh): a query and the reference plan
// against the fixture database, through the installed shared library.
//   consumer DSN PLAN_FILE VERSION
#include <cstdint>
#include <cstdio>
#include <enrich/enrich.hpp>
#include <string>

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  if (std::string(enrich::version_string()) != argv[3] || enrich::version_text != argv[3] ||
      enrich::version() != enrich::version_hex) {
    std::fprintf(stderr, "version: library %s, headers %s, expected %s\n", enrich::version_string(),
                 std::string(enrich::version_text).c_str(), argv[3]);
    return 1;
  }
  enrich::ClientOptions options;
  options.dsn = argv[1];
  options.pool.max_connections = 2;
  auto client = enrich::Client::create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "client: %s\n", client.error().to_string().c_str());
    return 1;
  }
  auto doubled = (*client)->query("SELECT $1::int8 * 2 AS doubled", {21}).get();
  if (!doubled.ok() || doubled->row(0).get<std::int64_t>("doubled") != 42) {
    std::fprintf(stderr, "query: %s\n",
                 doubled.ok() ? "wrong value" : doubled.error().to_string().c_str());
    return 1;
  }
  auto plan = enrich::Plan::load(argv[2]);
  if (!plan.ok()) {
    std::fprintf(stderr, "plan: %s\n", plan.error().to_string().c_str());
    return 1;
  }
  auto out =
      (*client)->run(*plan, {{"userId", std::int64_t{1}}, {"includeAnalytics", false}}).get();
  if (!out.ok() || !out->json.starts_with("{\"user\":{\"id\":\"1\",") ||
      out->json.find("\"recentActivity\":[{") == std::string::npos) {
    std::fprintf(stderr, "plan run: %s\n",
                 out.ok() ? out->json.c_str() : out.error().to_string().c_str());
    return 1;
  }
  std::printf("cmake consumer: enrich %s, query ok, plan %s ok (%zu bytes)\n",
              enrich::version_string(), plan->name().c_str(), out->json.size());
  return 0;
}
