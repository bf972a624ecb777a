// Query results (columns, types, affected rows, typed accessors), server errors, and results
// that do not depend on session settings.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "enrich/client.hpp"
#include "enrich/json.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;

class QueryTestBase : public test::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    client_ = test::connect(test::client_options());
    ASSERT_TRUE(client_);
  }
  Result<QueryResult> q(std::string sql, Params params = {}) {
    return test::run(*client_, std::move(sql), std::move(params));
  }
  std::unique_ptr<Client> client_;
};

// ---------------------------------------------------------------------------------------------
// Results

class ResultTest : public QueryTestBase {};

TEST_F(ResultTest, ColumnNamesAndTypeOids) {
  auto r =
      q("SELECT 1::int2 AS a, 2::int4 AS b, 3::int8 AS c, 'x'::text AS d, true AS e, "
        "1.5::float4 AS f, 2.5::float8 AS g, 1.0::numeric AS h, '\\x00'::bytea AS i, "
        "'v'::varchar AS j, now() AS k, localtimestamp AS l, current_date AS m, "
        "gen_random_uuid() AS n, '{}'::json AS o, '{}'::jsonb AS p, "
        "42 AS \"Mixed Case\"");
  ASSERT_OK(r);
  ASSERT_EQ(r->columns(), 17u);
  const char* names[] = {"a", "b", "c", "d", "e", "f", "g", "h",         "i",
                         "j", "k", "l", "m", "n", "o", "p", "Mixed Case"};
  unsigned types[] = {oid::int2,        oid::int4,      oid::int8,    oid::text,  oid::bool_,
                      oid::float4,      oid::float8,    oid::numeric, oid::bytea, oid::varchar,
                      oid::timestamptz, oid::timestamp, oid::date,    oid::uuid,  oid::json,
                      oid::jsonb,       oid::int4};
  for (std::size_t i = 0; i < 17; ++i) {
    EXPECT_EQ(r->column_name(i), names[i]) << "column " << i;
    EXPECT_EQ(r->column_type(i), types[i]) << "column " << i;
    EXPECT_EQ(r->find_column(names[i]), std::optional<std::size_t>(i));
  }
  EXPECT_EQ(r->find_column("missing"), std::nullopt);
  EXPECT_EQ(r->find_column("mixed case"), std::nullopt) << "column names are exact";
}

TEST_F(ResultTest, RowsCanBeIteratedAndIndexed) {
  auto r = q("SELECT g, g * g AS sq FROM generate_series(1, 5) AS g ORDER BY g");
  ASSERT_OK(r);
  EXPECT_EQ(r->size(), 5u);
  EXPECT_FALSE(r->empty());
  std::int64_t sum = 0;
  std::size_t expected_index = 0;
  for (Row row : *r) {
    EXPECT_EQ(row.index(), expected_index++);
    sum += row.get<std::int64_t>("sq");
  }
  EXPECT_EQ(sum, 1 + 4 + 9 + 16 + 25);
  EXPECT_EQ((*r)[4].get<int>(0), 5);
  EXPECT_EQ(r->row(2).get<int>("g"), 3);
  EXPECT_EQ(r->text(3, 1), "16");
  EXPECT_FALSE(r->is_null(3, 1));
}

TEST_F(ResultTest, EmptyResultStillHasColumns) {
  auto r = q("SELECT 1 AS one, 'a' AS two WHERE false");
  ASSERT_OK(r);
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(r->size(), 0u);
  EXPECT_EQ(r->columns(), 2u);
  EXPECT_EQ(r->column_name(1), "two");
  EXPECT_TRUE(r->begin() == r->end());
  EXPECT_EQ(r->affected_rows(), 0);
  EXPECT_EQ(r->command_tag(), "SELECT 0");
}

TEST_F(ResultTest, AffectedRowsAndCommandTags) {
  std::string t = test::unique_name("enrich_t_affected");
  auto create = q("CREATE TABLE " + t + " (id int PRIMARY KEY, v text)");
  ASSERT_OK(create);
  test::TableGuard guard(*client_, t);
  EXPECT_EQ(create->command_tag(), "CREATE TABLE");

  auto ins = q("INSERT INTO " + t + " VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  ASSERT_OK(ins);
  EXPECT_EQ(ins->affected_rows(), 3);
  EXPECT_EQ(ins->command_tag(), "INSERT 0 3");
  EXPECT_EQ(ins->columns(), 0u);

  auto upd = q("UPDATE " + t + " SET v = v || '!' WHERE id >= $1", {2});
  ASSERT_OK(upd);
  EXPECT_EQ(upd->affected_rows(), 2);
  EXPECT_EQ(upd->command_tag(), "UPDATE 2");

  auto none = q("UPDATE " + t + " SET v = 'x' WHERE id = $1", {999});
  ASSERT_OK(none);
  EXPECT_EQ(none->affected_rows(), 0);

  auto ret = q("UPDATE " + t + " SET v = 'z' WHERE id = 1 RETURNING id, v");
  ASSERT_OK(ret);
  EXPECT_EQ(ret->affected_rows(), 1);
  ASSERT_EQ(ret->size(), 1u);
  EXPECT_EQ((*ret)[0].get<std::string>("v"), "z");

  auto del = q("DELETE FROM " + t + " WHERE id <> $1", {2});
  ASSERT_OK(del);
  EXPECT_EQ(del->affected_rows(), 2);
  EXPECT_EQ(del->command_tag(), "DELETE 2");

  auto sel = q("SELECT * FROM " + t);
  ASSERT_OK(sel);
  EXPECT_EQ(sel->affected_rows(), 1) << "for SELECT: the number of rows returned";
  EXPECT_EQ(sel->command_tag(), "SELECT 1");
  EXPECT_EQ((*sel)[0].get<std::string>(1), "b!");
}

TEST_F(ResultTest, TypedAccessors) {
  auto r =
      q("SELECT true, 7::int2, 70000::int4, 9000000000::int8, 0.5::float4, 0.25::float8, "
        "'txt'::text, '\\xdeadbeef'::bytea");
  ASSERT_OK(r);
  auto row = (*r)[0];
  EXPECT_TRUE(row.get<bool>(0));
  EXPECT_EQ(row.get<std::int16_t>(1), 7);
  EXPECT_EQ(row.get<std::int32_t>(2), 70000);
  EXPECT_EQ(row.get<std::int64_t>(3), 9000000000LL);
  EXPECT_EQ(row.get<float>(4), 0.5f);
  EXPECT_EQ(row.get<double>(5), 0.25);
  EXPECT_EQ(row.get<std::string>(6), "txt");
  EXPECT_EQ(row.get<std::string_view>(6), "txt");
  EXPECT_EQ(row.get<Bytes>(7).data, (std::vector<std::uint8_t>{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(row.get<std::int64_t>(1), 7) << "narrow integers widen";
  EXPECT_EQ(row.get<std::optional<std::int64_t>>(3), std::optional<std::int64_t>(9000000000LL));
}

TEST_F(ResultTest, TryGetNullIntoNonOptionalIsInvalidArgument) {
  auto r = q("SELECT NULL::int4 AS n");
  ASSERT_OK(r);
  auto row = (*r)[0];
  EXPECT_TRUE(row.is_null(0));
  EXPECT_TRUE(row.is_null("n"));
  auto v = row.try_get<int>(0);
  EXPECT_ERROR_CODE(v, ErrorCode::invalid_argument);
  auto s = row.try_get<std::string>("n");
  EXPECT_ERROR_CODE(s, ErrorCode::invalid_argument);
  auto opt = row.try_get<std::optional<int>>(0);
  ASSERT_OK(opt);
  EXPECT_EQ(*opt, std::nullopt);
  try {
    (void)row.get<int>(0);
    ADD_FAILURE() << "get<int> of NULL must throw";
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, ErrorCode::invalid_argument);
  }
}

TEST_F(ResultTest, TryGetBadConversionIsInvalidArgument) {
  auto r = q("SELECT 'abc'::text, 70000::int4, 'maybe'::text, 1.5::float8, '12abc'::text");
  ASSERT_OK(r);
  auto row = (*r)[0];
  auto a = row.try_get<int>(0);
  EXPECT_ERROR_CODE(a, ErrorCode::invalid_argument);
  auto overflow = row.try_get<std::int16_t>(1);
  EXPECT_ERROR_CODE(overflow, ErrorCode::invalid_argument);
  auto b = row.try_get<bool>(2);
  EXPECT_ERROR_CODE(b, ErrorCode::invalid_argument);
  auto frac = row.try_get<std::int64_t>(3);
  EXPECT_ERROR_CODE(frac, ErrorCode::invalid_argument);
  auto trailing = row.try_get<int>(4);
  EXPECT_ERROR_CODE(trailing, ErrorCode::invalid_argument);
  auto d = row.try_get<double>(0);
  EXPECT_ERROR_CODE(d, ErrorCode::invalid_argument);
  auto opt = row.try_get<std::optional<int>>(0);
  EXPECT_ERROR_CODE(opt, ErrorCode::invalid_argument);
  EXPECT_THROW((void)row.get<int>(0), Exception);
}

TEST_F(ResultTest, TryGetUnknownColumnIsInvalidArgument) {
  auto r = q("SELECT 1 AS one");
  ASSERT_OK(r);
  auto row = (*r)[0];
  auto by_name = row.try_get<int>("two");
  EXPECT_ERROR_CODE(by_name, ErrorCode::invalid_argument);
  auto by_index = row.try_get<int>(std::size_t{5});
  EXPECT_ERROR_CODE(by_index, ErrorCode::invalid_argument);
  auto optional_by_index = row.try_get<std::optional<int>>(std::size_t{1});
  EXPECT_ERROR_CODE(optional_by_index, ErrorCode::invalid_argument);
  EXPECT_THROW((void)row.get<int>("two"), Exception);
  auto good = row.try_get<int>("one");
  ASSERT_OK(good);
  EXPECT_EQ(*good, 1);
}

TEST_F(ResultTest, CopiesShareTheResultAndOutliveTheOriginal) {
  QueryResult copy;
  {
    auto r = q("SELECT 'kept'::text AS v");
    ASSERT_OK(r);
    copy = *r;
  }
  ASSERT_EQ(copy.size(), 1u);
  EXPECT_EQ(copy[0].get<std::string>("v"), "kept");
  EXPECT_NE(copy.raw(), nullptr);
}

TEST_F(ResultTest, MultipleRowsOfText) {
  auto r = q("SELECT i, repeat('x', i) FROM generate_series(0, 999) AS i");
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 1000u);
  for (std::size_t i = 0; i < r->size(); i += 111) {
    EXPECT_EQ((*r)[i].get<std::string>(1), std::string(i, 'x'));
  }
}

// ---------------------------------------------------------------------------------------------
// Errors from the server

class ServerErrorTest : public QueryTestBase {};

TEST_F(ServerErrorTest, SyntaxErrorIsQueryError42601) {
  auto r = q("SELEC 1");
  ASSERT_ERROR_CODE(r, ErrorCode::query);
  EXPECT_EQ(r.error().sqlstate, "42601");
  EXPECT_NE(r.error().message.find("syntax error"), std::string::npos) << r.error().message;
  EXPECT_FALSE(r.error().retriable());
  EXPECT_EQ(r.error().field(ErrorField::severity), "ERROR");
  EXPECT_EQ(r.error().field(ErrorField::position), "1");
  EXPECT_EQ(r.error().field(ErrorField::table), "");
}

TEST_F(ServerErrorTest, UniqueViolationIs23505WithDetail) {
  std::string t = test::unique_name("enrich_t_unique");
  auto create = q("CREATE TABLE " + t + " (id int PRIMARY KEY)");
  ASSERT_OK(create);
  test::TableGuard guard(*client_, t);
  auto first = q("INSERT INTO " + t + " VALUES ($1)", {7});
  ASSERT_OK(first);
  auto dup = q("INSERT INTO " + t + " VALUES ($1)", {7});
  ASSERT_ERROR_CODE(dup, ErrorCode::query);
  EXPECT_EQ(dup.error().sqlstate, "23505");
  EXPECT_NE(dup.error().message.find("duplicate key"), std::string::npos) << dup.error().message;
  EXPECT_NE(dup.error().detail.find("(id)=(7) already exists"), std::string::npos)
      << "detail: '" << dup.error().detail << "'";
  EXPECT_FALSE(dup.error().retriable());
  // The fields node-postgres and asyncpg give: schema, table, constraint.
  EXPECT_EQ(dup.error().field(ErrorField::schema), "public");
  EXPECT_EQ(dup.error().field(ErrorField::table), t);
  EXPECT_EQ(dup.error().field(ErrorField::constraint), t + "_pkey");
  EXPECT_EQ(dup.error().field(ErrorField::severity), "ERROR");
}

TEST_F(ServerErrorTest, DivisionByZeroIs22012) {
  auto r = q("SELECT 1 / $1::int4", {0});
  ASSERT_ERROR_CODE(r, ErrorCode::query);
  EXPECT_EQ(r.error().sqlstate, "22012");
  EXPECT_NE(r.error().to_string().find("22012"), std::string::npos);
}

TEST_F(ServerErrorTest, UndefinedTableIs42P01) {
  auto r = q("SELECT * FROM " + test::unique_name("enrich_no_such_table"));
  ASSERT_ERROR_CODE(r, ErrorCode::query);
  EXPECT_EQ(r.error().sqlstate, "42P01");
}

TEST_F(ServerErrorTest, DetailAndHintFromRaise) {
  auto r =
      q("DO $$ BEGIN RAISE EXCEPTION 'custom failure' USING ERRCODE = 'P0001', "
        "DETAIL = 'the detail', HINT = 'the hint'; END $$");
  ASSERT_ERROR_CODE(r, ErrorCode::query);
  EXPECT_EQ(r.error().sqlstate, "P0001");
  EXPECT_NE(r.error().message.find("custom failure"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().detail, "the detail");
  EXPECT_EQ(r.error().hint, "the hint");
}

TEST_F(ServerErrorTest, SerializationFailureIsRetriable) {
  auto r = q("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$");
  ASSERT_ERROR_CODE(r, ErrorCode::query);
  EXPECT_EQ(r.error().sqlstate, "40001");
  EXPECT_TRUE(r.error().retriable());
}

TEST_F(ServerErrorTest, ClientKeepsWorkingAfterErrors) {
  for (int i = 0; i < 5; ++i) {
    auto bad = q("SELECT 1/0");
    EXPECT_ERROR_CODE(bad, ErrorCode::query);
    auto good = q("SELECT $1::int4", {i});
    ASSERT_OK(good);
    EXPECT_EQ((*good)[0].get<int>(0), i);
  }
}

TEST_F(ServerErrorTest, NoticesAndWarningsAreNotErrors) {
  auto r = q("DO $$ BEGIN RAISE NOTICE 'just a notice'; RAISE WARNING 'a warning'; END $$");
  ASSERT_OK(r);
  auto after = q("SELECT 1");
  ASSERT_OK(after);
}

// ---------------------------------------------------------------------------------------------
// Session settings

class SessionTest : public QueryTestBase {};

// enrich sets no TimeZone of its own (a pooler such as PgBouncer would reject or drop it): the
// JSON of a timestamptz is the same instant in UTC whatever the session's TimeZone is.
TEST_F(SessionTest, TimestampJsonIsUtcWhateverTheSessionTimeZone) {
  // A role whose default TimeZone has a half-hour offset.
  std::string role = test::unique_name("enrich_tz_role");
  ASSERT_OK(q("CREATE ROLE " + role + " LOGIN PASSWORD 'tzpass'"));
  struct DropRole {
    Client& c;
    std::string role;
    ~DropRole() { (void)test::run(c, "DROP ROLE IF EXISTS " + role, {}, {}, 10s); }
  } drop{*client_, role};
  ASSERT_OK(q("ALTER ROLE " + role + " SET TimeZone = 'Asia/Kolkata'"));

  auto opts = test::client_options();
  opts.dsn = test::dsn_with_user(opts.dsn, role, "tzpass");
  auto other = test::connect(opts);
  ASSERT_TRUE(other);
  auto zone = test::run(*other, "SHOW TimeZone");
  ASSERT_OK(zone);
  ASSERT_EQ((*zone)[0].get<std::string>(0), "Asia/Kolkata");  // else this test proves nothing

  const std::string sql =
      "SELECT '2024-03-05 06:07:08.570001+00'::timestamptz AS t, "
      "ARRAY['1999-12-31 23:30:00+00'::timestamptz, NULL] AS a, "
      "'2024-03-05 06:07:08'::timestamptz AS local_text, "
      "'9999-12-31 20:00:00+00'::timestamptz AS far";  // written as year 10000 in Kolkata
  auto r = test::run(*other, sql);
  ASSERT_OK(r);
  // The server writes the Kolkata wall clock (+05:30)...
  EXPECT_EQ((*r)[0].get<std::string>(0), "2024-03-05 11:37:08.570001+05:30");
  // ...and every profile writes UTC.
  EXPECT_EQ(to_json(*r, ResultShape::one, JsonProfile::postgres),
            R"({"t":"2024-03-05T06:07:08.570001+00:00","a":["1999-12-31T23:30:00+00:00",null],)"
            R"("local_text":"2024-03-05T00:37:08+00:00","far":"9999-12-31T20:00:00+00:00"})");
  EXPECT_EQ(to_json(*r, ResultShape::one, JsonProfile::node),
            R"({"t":"2024-03-05T06:07:08.570Z","a":["1999-12-31T23:30:00.000Z",null],)"
            R"("local_text":"2024-03-05T00:37:08.000Z","far":"9999-12-31T20:00:00.000Z"})");
  EXPECT_EQ(to_json(*r, ResultShape::one, JsonProfile::python),
            R"({"t":"2024-03-05T06:07:08.570001Z","a":["1999-12-31T23:30:00Z",null],)"
            R"("local_text":"2024-03-05T00:37:08Z","far":"9999-12-31T20:00:00Z"})");
}

}  // namespace
}  // namespace enrich
