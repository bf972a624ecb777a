// Result -> JSON against the real thing. The postgres profile must equal the server's own
// row_to_json byte for byte (the node and python profiles are compared with node-postgres and
// asyncpg + FastAPI by tests/profiles/compare_*.{js,py}, registered in tests/CMakeLists.txt).

#include <fstream>
#include <sstream>

#include "enrich/json.hpp"
#include "support/test_support.hpp"

namespace enrich::test {
namespace {

std::string types_sql() {
  std::ifstream in(ENRICH_PROFILE_TYPES_SQL);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class JsonProfileTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    client_ = connect(client_options());
    ASSERT_NE(client_, nullptr);
  }
  std::unique_ptr<Client> client_;
};

TEST_F(JsonProfileTest, PostgresProfileEqualsRowToJson) {
  std::string sql = types_sql();
  ASSERT_FALSE(sql.empty());
  auto rows = run(*client_, sql);
  ASSERT_OK(rows);
  auto expected = run(
      *client_, "SELECT '[' || string_agg(row_to_json(x)::text, ',' ORDER BY x.id) || ']' FROM (" +
                    sql + ") x");
  ASSERT_OK(expected);
  EXPECT_EQ(to_json(rows.value(), ResultShape::many, JsonProfile::postgres),
            std::string(expected.value().row(0).text(0)));
}

TEST_F(JsonProfileTest, ShapesOneManyAndValue) {
  auto rows = run(*client_, "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(id, name) ORDER BY id");
  ASSERT_OK(rows);
  EXPECT_EQ(to_json(rows.value(), ResultShape::one, JsonProfile::node), R"({"id":1,"name":"a"})");
  EXPECT_EQ(to_json(rows.value(), ResultShape::many, JsonProfile::node),
            R"([{"id":1,"name":"a"},{"id":2,"name":"b"}])");
  EXPECT_EQ(to_json(rows.value(), ResultShape::value, JsonProfile::node), "1");
  auto none = run(*client_, "SELECT 1 AS x WHERE false");
  ASSERT_OK(none);
  EXPECT_EQ(to_json(none.value(), ResultShape::one, JsonProfile::python), "null");
  EXPECT_EQ(to_json(none.value(), ResultShape::many, JsonProfile::python), "[]");
  EXPECT_EQ(to_json(none.value(), ResultShape::value, JsonProfile::python), "null");
}

TEST_F(JsonProfileTest, OtherTypesAreTheirTextInAString) {
  auto rows = run(*client_,
                  "SELECT '1 day 02:03:04'::interval AS i, '10.0.0.1/32'::inet AS n, "
                  "'(1,2)'::point AS p, 'abc'::name AS nm");
  ASSERT_OK(rows);
  for (auto profile : {JsonProfile::postgres, JsonProfile::node, JsonProfile::python})
    EXPECT_EQ(to_json(rows.value(), ResultShape::one, profile),
              R"j({"i":"1 day 02:03:04","n":"10.0.0.1","p":"(1,2)","nm":"abc"})j")
        << to_string(profile);
}

TEST_F(JsonProfileTest, InvalidUtf8FromTheDatabaseStaysValidJson) {
  // A SQL_ASCII-like byte sequence cannot come through a UTF8 database as text, but bytea decoded
  // by the python profile can carry any bytes.
  auto rows = run(*client_, "SELECT '\\xff41'::bytea AS b");
  ASSERT_OK(rows);
  EXPECT_EQ(to_json(rows.value(), ResultShape::one, JsonProfile::python),
            "{\"b\":\"\xEF\xBF\xBD"
            "A\"}");
  EXPECT_EQ(to_json(rows.value(), ResultShape::one, JsonProfile::node),
            R"({"b":{"type":"Buffer","data":[255,65]}})");
  EXPECT_EQ(to_json(rows.value(), ResultShape::one, JsonProfile::postgres), R"({"b":"\\xff41"})");
}

}  // namespace
}  // namespace enrich::test
