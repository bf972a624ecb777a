// A tour of the enrich C++ API: pooled, pipelined queries with futures, when_all, a coroutine,
// a transaction, a timeout and an error.
//
//   enrich_query_demo "postgresql://user:password@127.0.0.1:5432/db"

#include <cstdio>
#include <enrich/enrich.hpp>
#include <string>

using namespace std::chrono_literals;

// A coroutine: three queries at once, one await each, errors as values.
enrich::Future<std::string> summary(enrich::Client& client) {
  auto version = co_await client.query("SELECT current_setting('server_version')");
  if (!version.ok()) co_return version.error();
  auto tz = co_await client.query("SHOW TimeZone");
  if (!tz.ok()) co_return tz.error();
  co_return "PostgreSQL " + std::string(version->row(0).text(0)) + ", session TimeZone " +
      std::string(tz->row(0).text(0));
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DSN\n", argv[0]);
    return 2;
  }
  enrich::ClientOptions options;
  options.dsn = argv[1];
  options.pool.max_connections = 4;
  auto created = enrich::Client::create(options);
  if (!created.ok()) {
    std::fprintf(stderr, "error: %s\n", created.error().to_string().c_str());
    return 1;
  }
  enrich::Client& client = *created.value();

  // 1. Independent queries run concurrently (pipelined on shared connections).
  auto [a, b, c] =
      enrich::when_all(client.query("SELECT $1::int8 * 2 AS doubled", {21}),
                       client.query("SELECT $1::text || ' world' AS greeting", {"hello"}),
                       client.query("SELECT now() AT TIME ZONE 'UTC' AS utc_now"))
          .get()
          .value();
  if (!a.ok() || !b.ok() || !c.ok()) {
    const auto& e = !a.ok() ? a.error() : !b.ok() ? b.error() : c.error();
    std::fprintf(stderr, "error: %s\n", e.to_string().c_str());
    return 1;
  }
  std::printf("doubled  = %lld\n", static_cast<long long>(a->row(0).get<std::int64_t>("doubled")));
  std::printf("greeting = %s\n", b->row(0).get<std::string>("greeting").c_str());
  std::printf("utc_now  = %s\n", c->row(0).get<std::string>(0).c_str());

  // 2. A coroutine.
  auto s = summary(client).get();
  std::printf("server   = %s\n", s.ok() ? s->c_str() : s.error().to_string().c_str());

  // 3. A transaction on a dedicated connection.
  auto tx = client.transaction().get();
  if (tx.ok()) {
    tx->query("CREATE TEMP TABLE demo_items(id int PRIMARY KEY, name text)").get();
    tx->query("INSERT INTO demo_items VALUES ($1, $2), ($3, $4)", {1, "one", 2, "two"}).get();
    auto n = tx->query("SELECT count(*) FROM demo_items").get();
    std::printf("in tx    = %s rows\n", n.ok() ? std::string(n->row(0).text(0)).c_str() : "?");
    tx->rollback().get();
  }

  // 4. A timeout: the query is cancelled on the server and the connection stays in the pool.
  enrich::QueryOptions quick;
  quick.timeout = 100ms;
  auto slow = client.query("SELECT pg_sleep(5)", {}, quick).get();
  std::printf("timeout  = %s\n", slow.ok() ? "no?" : slow.error().to_string().c_str());

  // 5. A server error carries its SQLSTATE; it fails only its own caller.
  auto bad = client.query("SELECT 1 / $1::int", {0}).get();
  std::printf("error    = %s\n", bad.ok() ? "no?" : bad.error().to_string().c_str());

  auto stats = client.stats();
  std::printf("pool     = %zu connections, %zu idle, %llu connects\n", stats.connections,
              stats.idle, static_cast<unsigned long long>(stats.connects));
  return 0;
}
