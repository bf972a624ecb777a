// Transactions: commit, rollback, rollback on destruction, aborted transactions, and the
// connection being returned afterwards.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "enrich/client.hpp"
#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;

class TransactionTest : public test::PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    auto opts = test::client_options();
    opts.pool.max_connections = 1;  // the connection must come back for anything to work
    opts.pool.acquire_timeout = 5s;
    client_ = test::connect(opts);
    ASSERT_TRUE(client_);
    table_ = test::unique_name("enrich_t_tx");
    auto r = test::run(*client_, "CREATE TABLE " + table_ + " (id int PRIMARY KEY, v text)");
    ASSERT_OK(r);
  }
  void TearDown() override {
    if (client_) (void)test::run(*client_, "DROP TABLE IF EXISTS " + table_, {}, {}, 10s);
  }
  Result<std::int64_t> count() {
    return test::scalar_int(*client_, "SELECT count(*) FROM " + table_);
  }

  std::unique_ptr<Client> client_;
  std::string table_;
};

TEST_F(TransactionTest, CommitPersists) {
  auto tx = test::wait_result(client_->transaction());
  ASSERT_OK(tx);
  EXPECT_TRUE(tx->active());
  auto a = test::run(*tx, "INSERT INTO " + table_ + " VALUES ($1, $2)", {1, "one"});
  ASSERT_OK(a);
  EXPECT_EQ(a->affected_rows(), 1);
  auto b = test::run(*tx, "INSERT INTO " + table_ + " VALUES ($1, $2)", {2, "two"});
  ASSERT_OK(b);
  auto inside = test::run(*tx, "SELECT count(*) FROM " + table_);
  ASSERT_OK(inside);
  EXPECT_EQ((*inside)[0].get<std::int64_t>(0), 2);
  auto c = test::wait_result(tx->commit());
  ASSERT_OK(c);
  EXPECT_FALSE(tx->active());
  auto n = count();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 2);
}

TEST_F(TransactionTest, RollbackDiscards) {
  auto tx = test::wait_result(client_->transaction());
  ASSERT_OK(tx);
  auto a = test::run(*tx, "INSERT INTO " + table_ + " VALUES (1, 'x')");
  ASSERT_OK(a);
  auto rb = test::wait_result(tx->rollback());
  ASSERT_OK(rb);
  EXPECT_FALSE(tx->active());
  auto n = count();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
}

TEST_F(TransactionTest, DestructorWithoutCommitRollsBack) {
  {
    auto tx = test::wait_result(client_->transaction());
    ASSERT_OK(tx);
    auto a = test::run(*tx, "INSERT INTO " + table_ + " VALUES (1, 'x')");
    ASSERT_OK(a);
  }
  auto n = count();  // needs the single connection back
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
  // Had the old transaction stayed open on the connection, this commit would commit row 1 too.
  auto tx2 = test::wait_result(client_->transaction());
  ASSERT_OK(tx2);
  auto b = test::run(*tx2, "INSERT INTO " + table_ + " VALUES (2, 'y')");
  ASSERT_OK(b);
  auto c = test::wait_result(tx2->commit());
  ASSERT_OK(c);
  auto ids = test::run(*client_, "SELECT id FROM " + table_ + " ORDER BY id");
  ASSERT_OK(ids);
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ((*ids)[0].get<int>(0), 2);
}

TEST_F(TransactionTest, DestructorWithQueriesStillInFlightRollsBack) {
  {
    auto tx = test::wait_result(client_->transaction());
    ASSERT_OK(tx);
    for (int i = 0; i < 10; ++i) {
      (void)tx->query("INSERT INTO " + table_ + " VALUES ($1, 'x')", {i});
    }
  }
  auto n = count();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
}

TEST_F(TransactionTest, ErrorInsideFailsLaterStatementsUntilRollback) {
  auto tx = test::wait_result(client_->transaction());
  ASSERT_OK(tx);
  auto a = test::run(*tx, "INSERT INTO " + table_ + " VALUES (1, 'x')");
  ASSERT_OK(a);
  auto bad = test::run(*tx, "SELECT 1/0");
  ASSERT_ERROR_CODE(bad, ErrorCode::query);
  EXPECT_EQ(bad.error().sqlstate, "22012");
  for (int i = 0; i < 2; ++i) {
    auto later = test::run(*tx, "SELECT 1");
    ASSERT_ERROR_CODE(later, ErrorCode::query);
    EXPECT_EQ(later.error().sqlstate, "25P02") << later.error().to_string();
  }
  auto rb = test::wait_result(tx->rollback());
  ASSERT_OK(rb);

  // The connection is reusable afterwards, outside any transaction.
  auto n = count();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
  auto tx2 = test::wait_result(client_->transaction());
  ASSERT_OK(tx2);
  auto b = test::run(*tx2, "INSERT INTO " + table_ + " VALUES (2, 'y')");
  ASSERT_OK(b);
  auto c = test::wait_result(tx2->commit());
  ASSERT_OK(c);
  auto n2 = count();
  ASSERT_OK(n2);
  EXPECT_EQ(*n2, 1);
}

TEST_F(TransactionTest, PipelinedStatementsRunInOrder) {
  auto tx = test::wait_result(client_->transaction());
  ASSERT_OK(tx);
  std::vector<Future<QueryResult>> futures;
  for (int i = 0; i < 50; ++i) {
    futures.push_back(
        tx->query("INSERT INTO " + table_ + " SELECT $1, count(*)::text FROM " + table_, {i}));
  }
  for (auto& f : futures) {
    auto r = test::wait_result(std::move(f));
    ASSERT_OK(r);
  }
  auto c = test::wait_result(tx->commit());
  ASSERT_OK(c);
  auto r = test::run(*client_, "SELECT count(*) FROM " + table_ + " WHERE v::int = id");
  ASSERT_OK(r);
  EXPECT_EQ((*r)[0].get<std::int64_t>(0), 50) << "statement i must see exactly i earlier rows";
}

TEST_F(TransactionTest, UncommittedWritesAreInvisibleToOtherConnections) {
  auto other = test::connect(test::client_options());
  ASSERT_TRUE(other);
  auto tx = test::wait_result(client_->transaction());
  ASSERT_OK(tx);
  auto a = test::run(*tx, "INSERT INTO " + table_ + " VALUES (1, 'x')");
  ASSERT_OK(a);
  auto outside = test::scalar_int(*other, "SELECT count(*) FROM " + table_);
  ASSERT_OK(outside);
  EXPECT_EQ(*outside, 0);
  auto c = test::wait_result(tx->commit());
  ASSERT_OK(c);
  auto after = test::scalar_int(*other, "SELECT count(*) FROM " + table_);
  ASSERT_OK(after);
  EXPECT_EQ(*after, 1);
}

TEST_F(TransactionTest, QueryAfterCommitFailsWithClosed) {
  auto tx = test::wait_result(client_->transaction());
  ASSERT_OK(tx);
  auto c = test::wait_result(tx->commit());
  ASSERT_OK(c);
  auto r = test::run(*tx, "SELECT 1");
  ASSERT_ERROR_CODE(r, ErrorCode::closed);
  auto again = test::wait_result(tx->commit());
  EXPECT_ERROR_CODE(again, ErrorCode::closed);
  auto n = count();
  ASSERT_OK(n);
}

TEST_F(TransactionTest, CommitOfAFailedTransactionDoesNotPersist) {
  auto tx = test::wait_result(client_->transaction());
  ASSERT_OK(tx);
  auto a = test::run(*tx, "INSERT INTO " + table_ + " VALUES (1, 'x')");
  ASSERT_OK(a);
  auto dup = test::run(*tx, "INSERT INTO " + table_ + " VALUES (1, 'again')");
  ASSERT_ERROR_CODE(dup, ErrorCode::query);
  EXPECT_EQ(dup.error().sqlstate, "23505");
  (void)test::wait_result(tx->commit());  // Postgres answers ROLLBACK; either result is fine
  EXPECT_FALSE(tx->active());
  auto n = count();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
}

TEST_F(TransactionTest, MovedTransactionKeepsWorking) {
  auto tx = test::wait_result(client_->transaction());
  ASSERT_OK(tx);
  Transaction moved = std::move(tx).value();
  auto a = test::run(moved, "INSERT INTO " + table_ + " VALUES (1, 'x')");
  ASSERT_OK(a);
  Transaction assigned = std::move(moved);
  auto c = test::wait_result(assigned.commit());
  ASSERT_OK(c);
  auto n = count();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
}

TEST_F(TransactionTest, SequentialTransactionsReuseTheSingleConnection) {
  for (int i = 0; i < 20; ++i) {
    auto tx = test::wait_result(client_->transaction(), 10s);
    ASSERT_OK(tx) << "iteration " << i;
    auto a = test::run(*tx, "INSERT INTO " + table_ + " VALUES ($1, 'x')", {i});
    ASSERT_OK(a);
    if (i % 2) {
      auto c = test::wait_result(tx->commit());
      ASSERT_OK(c);
    } else {
      auto rb = test::wait_result(tx->rollback());
      ASSERT_OK(rb);
    }
  }
  auto n = count();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 10);
}

}  // namespace
}  // namespace enrich
