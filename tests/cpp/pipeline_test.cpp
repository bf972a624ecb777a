// Pipelining: independent queries on one connection are isolated from each other's errors, and
// every result reaches the query that produced it.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "enrich/client.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;

class PipelineTest : public test::PgTest {
 protected:
  std::unique_ptr<Client> client_with(std::size_t max_connections,
                                      std::size_t max_pipeline_depth = 64) {
    auto opts = test::client_options();
    opts.pool.max_connections = max_connections;
    opts.pool.max_pipeline_depth = max_pipeline_depth;
    return test::connect(opts);
  }
};

TEST_F(PipelineTest, OneFailingQueryAmongTwoHundredFailsAlone) {
  auto client = client_with(1);
  ASSERT_TRUE(client);
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 200; ++i) {
    futures.push_back(i == 100 ? client->query("SELECT 1/0")
                               : client->query("SELECT $1::int4 * 10", {i}));
  }
  for (int i = 0; i < 200; ++i) {
    auto r = test::wait_result(std::move(futures[i]));
    if (i == 100) {
      ASSERT_ERROR_CODE(r, ErrorCode::query);
      EXPECT_EQ(r.error().sqlstate, "22012");
    } else {
      ASSERT_OK(r) << "query " << i;
      EXPECT_EQ((*r)[0].get<int>(0), i * 10) << "query " << i;
    }
  }
}

TEST_F(PipelineTest, ErrorsAtParseBindAndExecuteStagesStayIsolated) {
  auto client = client_with(1);
  ASSERT_TRUE(client);
  const std::string missing = test::unique_name("enrich_missing");
  struct Expect {
    bool ok;
    std::string sqlstate;
    int value;
  };
  std::vector<Future<QueryResult>> futures;
  std::vector<Expect> expected;
  for (int i = 0; i < 120; ++i) {
    switch (i % 10) {
      case 3:  // fails at Parse
        futures.push_back(client->query("SELEC " + std::to_string(i)));
        expected.push_back({false, "42601", 0});
        break;
      case 5:  // fails at Parse (undefined table)
        futures.push_back(client->query("SELECT * FROM " + missing));
        expected.push_back({false, "42P01", 0});
        break;
      case 7:  // fails at Bind (parameter input)
        futures.push_back(client->query("SELECT $1::int4", {"not an int"}));
        expected.push_back({false, "22P02", 0});
        break;
      case 9:  // fails at Execute
        futures.push_back(client->query("SELECT 10 / ($1::int4 - $1::int4)", {i}));
        expected.push_back({false, "22012", 0});
        break;
      default:
        futures.push_back(client->query("SELECT $1::int4 + 1", {i}));
        expected.push_back({true, "", i + 1});
    }
  }
  for (std::size_t i = 0; i < futures.size(); ++i) {
    auto r = test::wait_result(std::move(futures[i]));
    if (expected[i].ok) {
      ASSERT_OK(r) << "query " << i;
      EXPECT_EQ((*r)[0].get<int>(0), expected[i].value) << "query " << i;
    } else {
      ASSERT_ERROR_CODE(r, ErrorCode::query);
      EXPECT_EQ(r.error().sqlstate, expected[i].sqlstate)
          << "query " << i << ": " << r.error().to_string();
    }
  }
}

TEST_F(PipelineTest, LargeResultsInterleavedWithSmallOnes) {
  auto client = client_with(1);
  ASSERT_TRUE(client);
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 20; ++i) {
    if (i % 5 == 0) {
      futures.push_back(client->query(
          "SELECT g, repeat('y', 20) FROM generate_series(1, $1::int4) AS g", {50000 + i}));
    } else {
      futures.push_back(client->query("SELECT $1::int4", {i}));
    }
  }
  for (int i = 0; i < 20; ++i) {
    auto r = test::wait_result(std::move(futures[i]));
    ASSERT_OK(r);
    if (i % 5 == 0) {
      ASSERT_EQ(r->size(), static_cast<std::size_t>(50000 + i));
      EXPECT_EQ((*r)[r->size() - 1].get<int>(0), 50000 + i);
    } else {
      ASSERT_EQ(r->size(), 1u);
      EXPECT_EQ((*r)[0].get<int>(0), i);
    }
  }
}

TEST_F(PipelineTest, PipelineDepthOneStillRunsEverything) {
  auto client = client_with(2, 1);
  ASSERT_TRUE(client);
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 100; ++i) futures.push_back(client->query("SELECT $1::int8", {i}));
  for (int i = 0; i < 100; ++i) {
    auto r = test::wait_result(std::move(futures[i]));
    ASSERT_OK(r);
    EXPECT_EQ((*r)[0].get<std::int64_t>(0), i);
  }
}

TEST_F(PipelineTest, ErrorDoesNotRollBackNeighbouringWrites) {
  // Each pipelined query has its own Sync: a failing neighbour must not undo a committed write.
  auto client = client_with(1);
  ASSERT_TRUE(client);
  std::string t = test::unique_name("enrich_t_pipe");
  auto create = test::run(*client, "CREATE TABLE " + t + " (v int)");
  ASSERT_OK(create);
  test::TableGuard guard(*client, t);
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 30; ++i) {
    futures.push_back(i % 3 == 1 ? client->query("SELECT 1/0")
                                 : client->query("INSERT INTO " + t + " VALUES ($1)", {i}));
  }
  int inserted = 0;
  for (int i = 0; i < 30; ++i) {
    auto r = test::wait_result(std::move(futures[i]));
    if (i % 3 == 1) {
      EXPECT_ERROR_CODE(r, ErrorCode::query);
    } else {
      ASSERT_OK(r);
      EXPECT_EQ(r->affected_rows(), 1);
      ++inserted;
    }
  }
  auto n = test::scalar_int(*client, "SELECT count(*) FROM " + t);
  ASSERT_OK(n);
  EXPECT_EQ(*n, inserted);
}

}  // namespace
}  // namespace enrich
