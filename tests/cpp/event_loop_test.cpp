// The event loop (lib/core/event_loop): timers (order, cancellation, and that cancelled timers
// do not pile up in the heap: a deadline timer per statement, cancelled when it finishes) and
// the end-of-turn tasks.
#include "core/event_loop.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <vector>

namespace enrich {
namespace {

using namespace std::chrono_literals;

// Runs `fn` on the loop thread and waits for it.
template <class Fn>
void on_loop(EventLoop& loop, Fn fn) {
  std::promise<void> done;
  ASSERT_TRUE(loop.post([&] {
    fn();
    done.set_value();
  }));
  done.get_future().get();
}

TEST(EventLoopTimers, CancelledTimersDoNotAccumulate) {
  EventLoop loop;
  loop.start("loop-test");
  std::size_t entries = 0;
  std::size_t peak = 0;
  on_loop(loop, [&] {
    auto far = Clock::now() + 1h;
    for (int i = 0; i < 100000; ++i) {
      auto id = loop.add_timer(far + std::chrono::milliseconds(i), [] {});
      loop.cancel_timer(id);
      peak = std::max(peak, loop.timer_entries());
    }
    entries = loop.timer_entries();
  });
  EXPECT_LE(peak, 2048u);
  EXPECT_LE(entries, 2048u);
  loop.stop();
}

TEST(EventLoopTimers, LiveTimersSurviveCompactionAndFireInOrder) {
  EventLoop loop;
  loop.start("loop-test");
  std::vector<int> fired;
  std::promise<void> all;
  on_loop(loop, [&] {
    auto now = Clock::now();
    // Cancelled timers interleaved with live ones, enough to trigger compaction several times.
    for (int i = 0; i < 5000; ++i) {
      if (i % 100 == 0) {
        int n = i / 100;
        loop.add_timer(now + 20ms + std::chrono::microseconds(100 * (50 - n)), [&fired, &all, n] {
          fired.push_back(n);
          if (fired.size() == 50) all.set_value();
        });
      } else {
        loop.cancel_timer(
            loop.add_timer(now + 10ms, [] { ADD_FAILURE() << "cancelled timer ran"; }));
      }
    }
    EXPECT_LT(loop.timer_entries(), 2000u);
  });
  ASSERT_EQ(all.get_future().wait_for(5s), std::future_status::ready);
  loop.stop();
  ASSERT_EQ(fired.size(), 50u);
  for (std::size_t i = 0; i < fired.size(); ++i) EXPECT_EQ(fired[i], 49 - static_cast<int>(i));
}

}  // namespace
}  // namespace enrich

namespace enrich {
namespace {

// at_turn_end (pg/batcher.hpp's "what this turn submitted"): the task runs after every task
// posted in the same turn, once, and a task it queues runs before the loop waits again.
TEST(EventLoopTurnEnd, RunsAfterTheTurnsPostedTasksAndWhatItQueues) {
  EventLoop loop;
  loop.start("turn-end-test");
  std::mutex mu;
  std::vector<std::string> order;
  auto note = [&](std::string what) {
    std::lock_guard lock(mu);
    order.push_back(std::move(what));
  };
  std::promise<void> gate_open, gated;
  // Holds the loop so that the three tasks below are drained together, in one turn.
  ASSERT_TRUE(loop.post([&, opened = gate_open.get_future().share()] {
    gated.set_value();
    opened.wait();
  }));
  gated.get_future().wait();
  std::promise<void> done;
  ASSERT_TRUE(loop.post([&] {
    note("a");
    loop.at_turn_end([&] {
      note("end");
      loop.at_turn_end([&] {
        note("end of end");
        done.set_value();
      });
    });
  }));
  ASSERT_TRUE(loop.post([&] { note("b"); }));
  gate_open.set_value();
  ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  loop.stop();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "end", "end of end"}));
}

}  // namespace
}  // namespace enrich
