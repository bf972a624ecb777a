// Prepared statement names derived from the statement (so a name means one statement on every
// server connection, which is what keeps a pooler from handing a caller another statement's
// rows), SHA-256 itself, and enrich's own DSN parameters.

#include <gtest/gtest.h>

#include <string>

#include "core/sha256.hpp"
#include "pg/conn_params.hpp"
#include "pg/dsn_options.hpp"
#include "pg/statement_cache.hpp"

namespace enrich {
namespace {

std::string hex(const Sha256Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (auto b : d) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the length no longer fits in the first padded block.
  EXPECT_EQ(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex(sha256(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(StatementName, DependsOnTheTextAndTheParameterCountOnly) {
  std::string a = pg::statement_name("SELECT $1::int", 1);
  EXPECT_EQ(a, pg::statement_name("SELECT $1::int", 1));
  EXPECT_NE(a, pg::statement_name("SELECT $1::int ", 1));
  EXPECT_NE(a, pg::statement_name("SELECT $1::int", 2));
  EXPECT_EQ(a.rfind("enrich_", 0), 0u);
  EXPECT_EQ(a.size(), 7u + 32u);  // within Postgres's 63-byte identifiers
}

TEST(StatementCache, SameTextWithAnotherParameterCountIsAnotherStatement) {
  pg::StatementCache cache(8);
  auto first = cache.get("SELECT $1", 1);
  EXPECT_TRUE(first.fresh);
  EXPECT_FALSE(cache.get("SELECT $1", 1).fresh);
  auto other = cache.get("SELECT $1", 2);
  EXPECT_TRUE(other.fresh);
  EXPECT_NE(other.name, first.name);
  ASSERT_TRUE(other.evicted);
  EXPECT_EQ(*other.evicted, first.name);
}

TEST(DsnOptions, StatementCacheIsTakenOutOfBothDsnForms) {
  auto uri = pg::split_dsn_options(
      "postgresql://u:p@127.0.0.1:5432/db?sslmode=disable&statement_cache=off&connect_timeout=3");
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(uri->libpq_dsn, "postgresql://u:p@127.0.0.1:5432/db?sslmode=disable&connect_timeout=3");
  EXPECT_EQ(uri->statement_cache, false);

  auto only = pg::split_dsn_options("postgres://h/db?statement%5Fcache=on");
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->libpq_dsn, "postgres://h/db");
  EXPECT_EQ(only->statement_cache, true);

  auto kv = pg::split_dsn_options("host=h  statement_cache = off password='a b\\'c' dbname=x");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->libpq_dsn, "host=h password='a b\\'c' dbname=x");
  EXPECT_EQ(kv->statement_cache, false);

  auto quoted = pg::split_dsn_options("statement_cache='on' host=h");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->libpq_dsn, "host=h");
  EXPECT_EQ(quoted->statement_cache, true);

  auto none = pg::split_dsn_options("host=h dbname=x");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->libpq_dsn, "host=h dbname=x");
  EXPECT_FALSE(none->statement_cache);
}

TEST(DsnOptions, BadValueIsAnErrorThatNamesTheParameter) {
  for (const char* dsn : {"postgresql://h/db?statement_cache=maybe", "host=h statement_cache=2"}) {
    auto r = pg::ConnParams::parse(dsn);
    ASSERT_FALSE(r.ok()) << dsn;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find("statement_cache"), std::string::npos) << r.error().message;
  }
}

TEST(DsnOptions, LibpqNeverSeesThem) {
  for (const char* dsn : {"postgresql://u@h/db?statement_cache=off", "host=h statement_cache=on"}) {
    auto r = pg::ConnParams::parse(dsn);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    for (auto k = r->keywords(); *k; ++k) EXPECT_STRNE(*k, "statement_cache");
  }
  // Nor an `options` startup parameter of enrich's own, which PgBouncer rejects.
  auto r = pg::ConnParams::parse("host=h");
  ASSERT_TRUE(r.ok());
  for (auto k = r->keywords(); *k; ++k) EXPECT_STRNE(*k, "options");
}

}  // namespace
}  // namespace enrich
