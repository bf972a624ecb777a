// The C API under concurrency: 10,000 operations in flight drained from the queue's fd while
// other threads submit, enrich_cancel racing completion from several threads, and queues
// destroyed while I/O threads push into them. Part of enrich_concurrency_tests (also run under
// ThreadSanitizer), so every wait is generous but bounded.

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "enrich.h"
#include "support/capi_support.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace enrich::capi_test;

class CapiConcurrencyTest : public enrich::test::PgTest {};

void* tag_of(int i) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(i) + 1);
}
int index_of(const enrich_completion* c) {
  return static_cast<int>(reinterpret_cast<std::uintptr_t>(enrich_completion_user_data(c))) - 1;
}

TEST_F(CapiConcurrencyTest, TenThousandOpsInFlightDrainedFromTheFd) {
  constexpr int kOps = 10000;
  constexpr int kThreads = 2;
  auto q = make_queue();
  ClientPtr client = make_client(dsn_, [](enrich_client_options& o) {
    o.io_threads = 2;
    o.max_connections = 4;
  });
  ASSERT_TRUE(client);

  // Submitters write ids[i] for their own i only; read after they are joined.
  std::vector<enrich_op_id> ids(kOps, 0);
  std::atomic<int> submit_errors{0};
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = t; i < kOps; i += kThreads) {
        std::string v = std::to_string(i);
        const char* params[] = {v.c_str()};
        if (enrich_query(client.get(), q.get(), "SELECT $1::int", params, 1, nullptr, tag_of(i),
                         &ids[i]) != ENRICH_OK)
          submit_errors.fetch_add(1);
      }
    });
  }

  // Drain from this thread while the others submit: poll(2) on the fd, then a batch.
  std::vector<int> seen(kOps, 0);
  std::vector<enrich_op_id> completed_id(kOps, 0);
  int received = 0, wrong = 0, failed = 0, bad_tag = 0, wakeups = 0;
  std::string first_problem;
  std::size_t peak_queue = 0;
  auto until = std::chrono::steady_clock::now() + 120s;
  enrich_completion* batch[256];
  while (received < kOps && std::chrono::steady_clock::now() < until) {
    pollfd p{enrich_queue_fd(q.get()), POLLIN, 0};
    if (poll(&p, 1, 200) != 1) continue;
    ++wakeups;
    peak_queue = std::max(peak_queue, enrich_queue_size(q.get()));
    std::size_t n = enrich_queue_poll(q.get(), batch, 256);
    for (std::size_t k = 0; k < n; ++k) {
      CompletionPtr c(batch[k]);
      ++received;
      int i = index_of(c.get());
      if (i < 0 || i >= kOps) {
        ++bad_tag;
        continue;
      }
      ++seen[i];
      completed_id[i] = enrich_completion_id(c.get());
      if (enrich_completion_status(c.get()) != ENRICH_OK) {
        if (failed++ == 0) first_problem = error_text(enrich_completion_error(c.get()));
        continue;
      }
      const char* v = enrich_completion_value(c.get(), 0, 0, nullptr);
      if (!v || std::to_string(i) != v) {
        if (wrong++ == 0) first_problem = "op " + std::to_string(i) + " got " + (v ? v : "NULL");
      }
    }
  }
  for (auto& t : submitters) t.join();

  EXPECT_EQ(submit_errors.load(), 0);
  EXPECT_EQ(received, kOps);
  EXPECT_EQ(bad_tag, 0);
  EXPECT_EQ(failed, 0) << first_problem;
  EXPECT_EQ(wrong, 0) << first_problem;
  int missing = 0, duplicated = 0, id_mismatch = 0;
  std::set<enrich_op_id> distinct;
  for (int i = 0; i < kOps; ++i) {
    if (seen[i] == 0) ++missing;
    if (seen[i] > 1) ++duplicated;
    if (seen[i] == 1 && completed_id[i] != ids[i]) ++id_mismatch;
    distinct.insert(ids[i]);
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(id_mismatch, 0) << "each completion carries the id enrich_query returned";
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kOps));
  EXPECT_EQ(distinct.count(0), 0u);
  EXPECT_GT(peak_queue, 1u) << "completions should batch up between wake-ups";
  EXPECT_LT(wakeups, kOps) << "one fd wake-up should drain several completions";

  // Nothing more arrives; the fd is quiet.
  EXPECT_EQ(enrich_queue_size(q.get()), 0u);
  pollfd p{enrich_queue_fd(q.get()), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 50), 0);
  EXPECT_EQ(stat_of(client.get(), "pending_operations"), 0);
}

struct CancelRace {
  int cancellers = 1;
  int max_pause_us = 1000;  // a random pause below this between two enrich_cancel calls
  int pause_one_in = 1;     // ... after one call in this many
  int any_op_one_in = 2;    // one cancel in this many picks any op; the others a recent one
  bool strict = true;       // an op nobody cancelled must complete OK
};

void run_cancel_race(const std::string& dsn, const CancelRace& race) {
  constexpr int kOps = 3000;
  auto q = make_queue();
  ClientPtr client = make_client(dsn, [](enrich_client_options& o) {
    o.io_threads = 2;
    o.max_connections = 4;
    o.max_pipeline_depth = 16;  // some ops wait in the pool's queue, some are on the wire
  });
  ASSERT_TRUE(client);

  std::vector<std::atomic<enrich_op_id>> ids(kOps);
  for (auto& id : ids) id.store(0);
  std::vector<std::atomic<bool>> cancel_requested(kOps);
  for (auto& r : cancel_requested) r.store(false);
  std::atomic<int> issued{0};
  std::atomic<bool> stop{false};
  std::atomic<int> cancel_ok{0}, cancel_not_found{0}, cancel_other{0};
  std::atomic<int> first_other{-1};

  std::thread submitter([&] {
    std::mt19937 rng(1234);
    for (int i = 0; i < kOps; ++i) {
      std::string v = std::to_string(i);
      std::string sleep = "0.00" + std::to_string(rng() % 4);  // 0 to 3 ms
      const char* params[] = {v.c_str(), sleep.c_str()};
      enrich_op_id id = 0;
      if (enrich_query(client.get(), q.get(), "SELECT $1::int AS v FROM pg_sleep($2::float8)",
                       params, 2, nullptr, tag_of(i), &id) != ENRICH_OK)
        continue;
      ids[i].store(id);
      issued.store(i + 1);
      if (rng() % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
    }
  });
  std::vector<std::thread> cancellers;
  for (int t = 0; t < race.cancellers; ++t) {
    cancellers.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      while (!stop.load()) {
        int n = issued.load();
        if (n == 0) {
          std::this_thread::yield();
          continue;
        }
        // Favour recent ops (more likely still running), but also hit finished ones.
        int i = (rng() % race.any_op_one_in == 0)
                    ? static_cast<int>(rng() % n)
                    : std::max(0, n - 1 - static_cast<int>(rng() % 64));
        enrich_op_id id = ids[i].load();
        if (id == 0) continue;
        cancel_requested[i].store(true);
        enrich_status s = enrich_cancel(client.get(), id);
        if (s == ENRICH_OK) {
          cancel_ok.fetch_add(1);
        } else if (s == ENRICH_ERR_NOT_FOUND) {
          cancel_not_found.fetch_add(1);
        } else {
          cancel_other.fetch_add(1);
          int expected = -1;
          first_other.compare_exchange_strong(expected, static_cast<int>(s));
        }
        if (race.max_pause_us > 0 && rng() % race.pause_one_in == 0)
          std::this_thread::sleep_for(std::chrono::microseconds(rng() % race.max_pause_us));
      }
    });
  }

  std::vector<int> seen(kOps, 0);
  int received = 0, ok = 0, cancelled = 0, wrong = 0;
  int other_requested = 0, other_bystander = 0;
  std::string first_problem;
  auto until = std::chrono::steady_clock::now() + 120s;
  enrich_completion* batch[128];
  while (received < kOps && std::chrono::steady_clock::now() < until) {
    pollfd p{enrich_queue_fd(q.get()), POLLIN, 0};
    if (poll(&p, 1, 200) != 1) continue;
    std::size_t n = enrich_queue_poll(q.get(), batch, 128);
    for (std::size_t k = 0; k < n; ++k) {
      CompletionPtr c(batch[k]);
      ++received;
      int i = index_of(c.get());
      ASSERT_TRUE(i >= 0 && i < kOps);
      ++seen[i];
      switch (enrich_completion_status(c.get())) {
        case ENRICH_OK: {
          ++ok;
          const char* v = enrich_completion_value(c.get(), 0, 0, nullptr);
          if (!v || std::to_string(i) != v) ++wrong;
          break;
        }
        case ENRICH_ERR_CANCELLED:
          ++cancelled;
          break;
        default: {
          const enrich_error* e = enrich_completion_error(c.get());
          bool requested = cancel_requested[i].load();
          ++(requested ? other_requested : other_bystander);
          if (first_problem.empty())
            first_problem =
                "op " + std::to_string(i) + ": " + error_text(e) + " [" + enrich_error_sqlstate(e) +
                "]" +
                (requested ? " (cancel was requested for it)" : " (never cancelled by the caller)");
        }
      }
    }
  }
  submitter.join();
  stop.store(true);
  for (auto& t : cancellers) t.join();

  std::cout << "[ info     ] " << cancel_ok.load() << " cancels accepted, "
            << cancel_not_found.load() << " not found; completions: " << ok << " ok, " << cancelled
            << " cancelled, " << other_requested + other_bystander << " other (" << other_bystander
            << " never cancelled)\n";
  EXPECT_EQ(received, kOps);
  EXPECT_EQ(other_requested, 0) << "a cancelled op completes with OK or CANCELLED; first: "
                                << first_problem;
  if (race.strict) {
    EXPECT_EQ(other_bystander, 0) << "an op nobody cancelled must not fail; first: "
                                  << first_problem;
  }
  EXPECT_EQ(wrong, 0);
  int missing = 0, duplicated = 0;
  for (int i = 0; i < kOps; ++i) {
    if (seen[i] == 0) ++missing;
    if (seen[i] > 1) ++duplicated;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0) << "each op completes exactly once";
  EXPECT_EQ(cancel_other.load(), 0)
      << "enrich_cancel returns OK or NOT_FOUND only; got "
      << enrich_status_name(static_cast<enrich_status>(first_other.load()));
  EXPECT_GT(cancel_ok.load(), 0);
  EXPECT_GT(cancel_not_found.load(), 0);
  EXPECT_GT(cancelled, 0) << "some cancels must have hit running ops";
  EXPECT_GT(ok, 0);
  EXPECT_GE(cancel_ok.load(), cancelled) << "no op is cancelled without a request";
  // Every op has completed: each id is unknown now.
  int still_found = 0;
  for (auto& id : ids)
    if (id.load() != 0 && enrich_cancel(client.get(), id.load()) != ENRICH_ERR_NOT_FOUND)
      ++still_found;
  EXPECT_EQ(still_found, 0);
  EXPECT_EQ(stat_of(client.get(), "pending_operations"), 0);
  // The client is still healthy after thousands of cancels.
  ASSERT_EQ(
      enrich_query(client.get(), q.get(), "SELECT 'ok'", nullptr, 0, nullptr, nullptr, nullptr),
      ENRICH_OK);
  auto c = next(q.get());
  ASSERT_TRUE(c);
  EXPECT_EQ(enrich_completion_status(c.get()), ENRICH_OK)
      << error_text(enrich_completion_error(c.get()));
}

// enrich_cancel at random moments from another thread while the ops run and complete: each op
// completes exactly once, with its result or CANCELLED; cancelling a completed op is NOT_FOUND.
TEST_F(CapiConcurrencyTest, CancelRacesCompletion) {
  run_cancel_race(dsn_, CancelRace{});
}

// The same from two threads cancelling back to back. A server-side cancel is per connection, so
// with ops pipelined on shared connections a cancel may land on a neighbour; lib/pg sends such a
// neighbour again (kMaxForeignCancelRetries), so even under this storm an op nobody cancelled
// completes OK.
TEST_F(CapiConcurrencyTest, CancelStormNeverFailsBystanders) {
  run_cancel_race(dsn_, CancelRace{.cancellers = 2,
                                   .max_pause_us = 300,
                                   .pause_one_in = 8,
                                   .any_op_one_in = 4,
                                   .strict = true});
}

// An id that enrich_cancel sees while its operation is still being started (guessed, or read
// from another thread's out_id) must not make enrich_cancel fail.
TEST_F(CapiConcurrencyTest, CancelOfAnOperationBeingStarted) {
  auto q = make_queue();
  ClientPtr client = make_client(dsn_, [](enrich_client_options& o) { o.max_connections = 2; });
  ASSERT_TRUE(client);
  constexpr int kOps = 5000;
  std::atomic<enrich_op_id> last{0};
  std::atomic<bool> stop{false};
  std::atomic<int> other{0}, first_other{-1};
  std::thread canceller([&] {
    while (!stop.load()) {
      enrich_op_id base = last.load();
      for (enrich_op_id guess = base + 1; guess <= base + 3; ++guess) {
        enrich_status s = enrich_cancel(client.get(), guess);
        if (s != ENRICH_OK && s != ENRICH_ERR_NOT_FOUND) {
          other.fetch_add(1);
          int expected = -1;
          first_other.compare_exchange_strong(expected, static_cast<int>(s));
        }
      }
    }
  });
  int started = 0;
  for (int i = 0; i < kOps; ++i) {
    enrich_op_id id = 0;
    if (enrich_query(client.get(), q.get(), "SELECT 1", nullptr, 0, nullptr, nullptr, &id) ==
        ENRICH_OK)
      ++started;
    last.store(id);
  }
  auto completions = drain(q.get(), static_cast<std::size_t>(started), 120s);
  stop.store(true);
  canceller.join();
  EXPECT_EQ(started, kOps);
  for (auto& c : completions) {
    auto s = enrich_completion_status(c.get());
    EXPECT_TRUE(s == ENRICH_OK || s == ENRICH_ERR_CANCELLED) << enrich_status_name(s);
  }
  EXPECT_EQ(other.load(), 0) << "first: "
                             << enrich_status_name(static_cast<enrich_status>(first_other.load()));
}

// Queues destroyed from the caller's thread while I/O threads push completions into them.
TEST_F(CapiConcurrencyTest, QueuesDestroyedWhileCompletionsArrive) {
  ClientPtr client = make_client(dsn_, [](enrich_client_options& o) {
    o.io_threads = 2;
    o.max_connections = 4;
  });
  ASSERT_TRUE(client);
  {  // connections up, so that completions start to land within the rounds below
    auto warm = make_queue();
    ASSERT_EQ(
        enrich_query(client.get(), warm.get(), "SELECT 1", nullptr, 0, nullptr, nullptr, nullptr),
        ENRICH_OK);
    ASSERT_TRUE(next(warm.get()));
  }
  std::atomic<int> notified{0};
  for (int round = 0; round < 30; ++round) {
    enrich_queue* q = nullptr;
    ASSERT_EQ(enrich_queue_create(&q), ENRICH_OK);
    ASSERT_EQ(enrich_queue_set_notify(
                  q, [](void* p) { static_cast<std::atomic<int>*>(p)->fetch_add(1); }, &notified),
              ENRICH_OK);
    for (int i = 0; i < 100; ++i)
      ASSERT_EQ(enrich_query(client.get(), q, "SELECT 1", nullptr, 0, nullptr, nullptr, nullptr),
                ENRICH_OK);
    // Destroy at a different moment each round: at once, once completions land, or a little
    // later (while the rest still arrive).
    if (round % 3 == 1) {
      EXPECT_TRUE(enrich::test::eventually([&] { return enrich_queue_size(q) > 0; }, 30s, 1ms));
      enrich_completion* batch[8];
      std::size_t n = enrich_queue_poll(q, batch, 8);
      for (std::size_t k = 0; k < n; ++k) enrich_completion_free(batch[k]);
    } else if (round % 3 == 2) {
      std::this_thread::sleep_for(std::chrono::microseconds(round * 100));
    }
    enrich_queue_destroy(q);
  }
  EXPECT_TRUE(enrich::test::eventually(
      [&] { return stat_of(client.get(), "pending_operations") == 0; }, 60s));
  EXPECT_GT(notified.load(), 0);
}

}  // namespace
