// Futures, promises, continuations, when_all and coroutines. No database needed.

#include "enrich/future.hpp"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "support/test_support.hpp"

namespace enrich {
namespace {

using namespace std::chrono_literals;
using test::wait_result;

pid_t current_tid() {
  return static_cast<pid_t>(::syscall(SYS_gettid));
}

/// The scheduler's state of thread `tid` of this process (Linux): 'R' running, 'S' sleeping...
char thread_state(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto name_end = stat.rfind(')');  // the thread's name, in parentheses, may hold anything
  if (name_end == std::string::npos || name_end + 2 >= stat.size()) return '?';
  return stat[name_end + 2];
}

/// Waits until thread `tid` sleeps in the kernel (a thread blocked on a future waits on a futex):
/// a producer that completes only then tests the blocked path for certain, without guessing how
/// long the other thread takes to get there.
bool wait_until_blocked(pid_t tid, std::chrono::milliseconds timeout = 10s) {
  return test::eventually([&] { return thread_state(tid) == 'S'; }, timeout, 1ms);
}

// ---------------------------------------------------------------------------------------------
// then()

TEST(FutureTest, ThenWithValueReturnProducesValue) {
  Promise<int> p;
  auto f = p.get_future().then([](Result<int> r) { return r.value() * 2; });
  static_assert(std::is_same_v<decltype(f), Future<int>>);
  EXPECT_FALSE(f.ready());
  p.set_value(21);
  auto r = wait_result(std::move(f), 1s);
  ASSERT_OK(r);
  EXPECT_EQ(*r, 42);
}

TEST(FutureTest, ThenCanChangeTheValueType) {
  auto f = make_ready_future(7).then([](Result<int> r) { return std::to_string(r.value()) + "!"; });
  static_assert(std::is_same_v<decltype(f), Future<std::string>>);
  auto r = wait_result(std::move(f), 1s);
  ASSERT_OK(r);
  EXPECT_EQ(*r, "7!");
}

TEST(FutureTest, ThenWithResultReturnCanProduceAnError) {
  Promise<int> p;
  auto f = p.get_future().then([](Result<int> r) -> Result<std::string> {
    if (r.value() < 0) return make_error(ErrorCode::not_found, "negative");
    return std::string("fine");
  });
  static_assert(std::is_same_v<decltype(f), Future<std::string>>);
  p.set_value(-1);
  auto r = wait_result(std::move(f), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::not_found);
  EXPECT_EQ(r.error().message, "negative");

  auto ok = wait_result(
      make_ready_future(1).then([](Result<int> r) -> Result<int> { return r.value() + 1; }), 1s);
  ASSERT_OK(ok);
  EXPECT_EQ(*ok, 2);
}

TEST(FutureTest, ThenWithFutureReturnIsFlattened) {
  Promise<int> outer;
  Promise<std::string> inner;
  std::atomic<bool> continuation_ran{false};
  auto f = outer.get_future().then([&](Result<int> r) {
    continuation_ran = true;
    EXPECT_EQ(r.value(), 5);
    return inner.get_future();
  });
  static_assert(std::is_same_v<decltype(f), Future<std::string>>);
  outer.set_value(5);
  EXPECT_TRUE(continuation_ran);
  EXPECT_FALSE(f.wait_for(20ms)) << "must wait for the inner future";
  std::thread t([&] { inner.set_value("inner done"); });
  auto r = wait_result(std::move(f), 5s);
  t.join();
  ASSERT_OK(r);
  EXPECT_EQ(*r, "inner done");
}

TEST(FutureTest, ThenWithFutureReturnPropagatesInnerError) {
  auto f = make_ready_future(1).then(
      [](Result<int>) { return make_error_future<int>(make_error(ErrorCode::closed, "inner")); });
  auto r = wait_result(std::move(f), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::closed);
  EXPECT_EQ(r.error().message, "inner");
}

TEST(FutureTest, ThenWithVoidReturnGivesUnit) {
  Promise<int> p;
  int seen = 0;
  auto f = p.get_future().then([&](Result<int> r) { seen = r.value(); });
  static_assert(std::is_same_v<decltype(f), Future<Unit>>);
  p.set_value(9);
  auto r = wait_result(std::move(f), 1s);
  ASSERT_OK(r);
  EXPECT_EQ(*r, Unit{});
  EXPECT_EQ(seen, 9);
}

TEST(FutureTest, ThenReceivesTheErrorOfTheSource) {
  auto f = make_error_future<int>(make_error(ErrorCode::timeout, "slow"))
               .then([](Result<int> r) -> Result<int> {
                 EXPECT_FALSE(r.ok());
                 if (r.ok()) return 0;
                 return std::move(r).error();
               });
  auto r = wait_result(std::move(f), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::timeout);
  EXPECT_EQ(r.error().message, "slow");
}

TEST(FutureTest, ThenChainRunsInOrderAcrossThreads) {
  Promise<int> p;
  auto f = p.get_future()
               .then([](Result<int> r) { return r.value() + 1; })
               .then([](Result<int> r) -> Result<int> { return r.value() * 10; })
               .then([](Result<int> r) { return make_ready_future(r.value() + 3); })
               .then([](Result<int> r) { return std::to_string(r.value()); });
  std::thread t([&] { p.set_value(4); });  // the chain is attached already
  auto r = wait_result(std::move(f), 5s);
  t.join();
  ASSERT_OK(r);
  EXPECT_EQ(*r, "53");
}

TEST(FutureTest, ExceptionInContinuationBecomesInternalError) {
  auto f = make_ready_future(1).then([](Result<int>) -> int { throw std::runtime_error("boom"); });
  auto r = wait_result(std::move(f), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::internal);
  EXPECT_NE(r.error().message.find("boom"), std::string::npos)
      << "the exception's what() should be in the message: " << r.error().to_string();
}

TEST(FutureTest, ExceptionOfUnknownTypeInContinuationBecomesInternalError) {
  auto f = make_ready_future(1).then([](Result<int>) -> int { throw 42; });
  auto r = wait_result(std::move(f), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::internal);
}

TEST(FutureTest, EnrichExceptionInContinuationCarriesItsError) {
  auto f = make_ready_future(1).then([](Result<int>) -> int {
    Error e = make_error(ErrorCode::not_found, "no such row");
    e.sqlstate = "P0002";
    throw Exception(e);
  });
  auto r = wait_result(std::move(f), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::not_found);
  EXPECT_EQ(r.error().message, "no such row");
  EXPECT_EQ(r.error().sqlstate, "P0002");
}

TEST(FutureTest, ValueOnErrorInsideContinuationPropagatesTheError) {
  // r.value() throws enrich::Exception, which then() turns back into the same error.
  auto f =
      make_error_future<int>(make_error(ErrorCode::pool_timeout, "busy")).then([](Result<int> r) {
        return r.value() * 2;
      });
  auto r = wait_result(std::move(f), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::pool_timeout);
  EXPECT_EQ(r.error().message, "busy");
}

// ---------------------------------------------------------------------------------------------
// get / wait_for / ready

TEST(FutureTest, GetReturnsTheValueAndInvalidatesTheFuture) {
  auto f = make_ready_future(std::string("hello"));
  EXPECT_TRUE(f.valid());
  EXPECT_TRUE(f.ready());
  auto r = f.get();
  ASSERT_OK(r);
  EXPECT_EQ(*r, "hello");
  EXPECT_FALSE(f.valid());
  EXPECT_FALSE(f.ready());
  auto again = f.get();
  ASSERT_ERROR_CODE(again, ErrorCode::invalid_argument);
}

TEST(FutureTest, GetBlocksUntilAnotherThreadCompletes) {
  Promise<int> p;
  auto f = p.get_future();
  const pid_t getter = current_tid();
  std::atomic<bool> saw_blocked{false};
  std::thread t([&] {
    saw_blocked = wait_until_blocked(getter);  // in get(), not past it
    p.set_value(3);
  });
  auto r = f.get();
  t.join();
  EXPECT_TRUE(saw_blocked) << "the thread in get() never blocked";
  ASSERT_OK(r);
  EXPECT_EQ(*r, 3);
}

TEST(FutureTest, WaitForTimesOutWhileNotReadyAndSucceedsOnceComplete) {
  Promise<int> p;
  auto f = p.get_future();
  test::Stopwatch sw;
  EXPECT_FALSE(f.wait_for(50ms));
  EXPECT_GE(sw.ms(), 40);
  EXPECT_FALSE(f.ready());
  EXPECT_TRUE(f.valid()) << "wait_for must not consume the future";

  const pid_t waiter = current_tid();
  std::atomic<bool> saw_blocked{false};
  std::thread t([&] {
    saw_blocked = wait_until_blocked(waiter);  // in wait_for(), not past it
    p.set_value(1);
  });
  EXPECT_TRUE(f.wait_for(30s));
  t.join();
  EXPECT_TRUE(saw_blocked) << "the thread in wait_for() never blocked";
  EXPECT_TRUE(f.ready());
  auto r = f.get();
  ASSERT_OK(r);
  EXPECT_EQ(*r, 1);
}

TEST(FutureTest, DefaultConstructedFutureIsInvalid) {
  Future<int> f;
  EXPECT_FALSE(f.valid());
  EXPECT_FALSE(f.ready());
  EXPECT_FALSE(f.wait_for(1ms));
  auto r = f.get();
  ASSERT_ERROR_CODE(r, ErrorCode::invalid_argument);
}

TEST(FutureTest, FirstCompletionWins) {
  Promise<int> p;
  auto f = p.get_future();
  EXPECT_TRUE(p.set_value(1));
  EXPECT_FALSE(p.set_value(2));
  EXPECT_FALSE(p.set_error(make_error(ErrorCode::internal, "late")));
  auto r = f.get();
  ASSERT_OK(r);
  EXPECT_EQ(*r, 1);
}

TEST(FutureTest, MakeErrorFutureIsReadyWithTheError) {
  auto f = make_error_future<std::string>(make_error(ErrorCode::closed, "gone"));
  EXPECT_TRUE(f.ready());
  auto r = f.get();
  ASSERT_ERROR_CODE(r, ErrorCode::closed);
  EXPECT_EQ(r.error().message, "gone");
}

// ---------------------------------------------------------------------------------------------
// subscribe

TEST(FutureTest, SubscribeAfterCompletionRunsInlineOnTheCallingThread) {
  auto f = make_ready_future(5);
  bool ran = false;
  std::thread::id ran_on;
  f.subscribe([&](Result<int> r) {
    ran = true;
    ran_on = std::this_thread::get_id();
    EXPECT_EQ(r.value(), 5);
  });
  EXPECT_TRUE(ran) << "callback must have run before subscribe() returned";
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_FALSE(f.valid());
}

TEST(FutureTest, SubscribeBeforeCompletionRunsOnTheCompletingThread) {
  Promise<int> p;
  auto f = p.get_future();
  std::atomic<int> calls{0};
  std::thread::id ran_on;
  f.subscribe([&](Result<int> r) {
    ran_on = std::this_thread::get_id();
    EXPECT_EQ(r.value(), 8);
    calls++;
  });
  EXPECT_EQ(calls.load(), 0);
  std::thread::id completer;
  std::thread t([&] {
    completer = std::this_thread::get_id();
    p.set_value(8);
  });
  t.join();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(ran_on, completer);
}

TEST(FutureTest, DroppedFutureDoesNotPreventCompletion) {
  Promise<int> p;
  { auto f = p.get_future(); }
  EXPECT_TRUE(p.set_value(1));
}

// ---------------------------------------------------------------------------------------------
// when_all

TEST(FutureTest, WhenAllOverDifferentTypesWaitsForAllAndKeepsErrors) {
  Promise<int> pi;
  Promise<std::string> ps;
  Promise<Unit> pu;
  auto all = when_all(pi.get_future(), ps.get_future(), pu.get_future());
  static_assert(std::is_same_v<decltype(all),
                               Future<std::tuple<Result<int>, Result<std::string>, Result<Unit>>>>);
  ps.set_value("s");
  EXPECT_FALSE(all.ready());
  std::thread t1([&] { pu.set_error(make_error(ErrorCode::query, "bad")); });
  std::thread t2([&] { pi.set_value(1); });
  t1.join();
  t2.join();
  auto r = wait_result(std::move(all), 5s);
  ASSERT_OK(r);
  auto& [ri, rs, ru] = *r;
  ASSERT_OK(ri);
  EXPECT_EQ(*ri, 1);
  ASSERT_OK(rs);
  EXPECT_EQ(*rs, "s");
  ASSERT_ERROR_CODE(ru, ErrorCode::query);
}

TEST(FutureTest, WhenAllOverVectorKeepsOrderAndErrors) {
  std::vector<Promise<int>> promises(50);
  std::vector<Future<int>> futures;
  for (auto& p : promises) futures.push_back(p.get_future());
  auto all = when_all(std::move(futures));
  // Complete in reverse order from several threads; element 7 fails.
  std::vector<std::thread> threads;
  for (int t = 0; t < 5; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 49 - t; i >= 0; i -= 5) {
        if (i == 7)
          promises[i].set_error(make_error(ErrorCode::timeout, "seven"));
        else
          promises[i].set_value(i * i);
      }
    });
  }
  for (auto& t : threads) t.join();
  auto r = wait_result(std::move(all), 5s);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 50u);
  for (int i = 0; i < 50; ++i) {
    auto& item = (*r)[i];
    if (i == 7) {
      EXPECT_ERROR_CODE(item, ErrorCode::timeout);
    } else {
      ASSERT_OK(item);
      EXPECT_EQ(*item, i * i) << "element " << i;
    }
  }
}

TEST(FutureTest, WhenAllOverEmptyVectorCompletesAtOnce) {
  auto all = when_all(std::vector<Future<int>>{});
  EXPECT_TRUE(all.ready());
  auto r = all.get();
  ASSERT_OK(r);
  EXPECT_TRUE(r->empty());
}

TEST(FutureTest, CancellingWhenAllCancelsEveryInput) {
  std::atomic<int> hooks{0};
  std::vector<Promise<int>> promises(3);
  std::vector<Future<int>> futures;
  for (auto& p : promises) {
    p.on_cancel([&] { hooks++; });
    futures.push_back(p.get_future());
  }
  auto all = when_all(std::move(futures));
  all.cancel();
  EXPECT_EQ(hooks.load(), 3);
  for (auto& p : promises) p.set_error(make_error(ErrorCode::cancelled, "cancelled"));
  auto r = wait_result(std::move(all), 1s);
  ASSERT_OK(r);
  for (auto& item : *r) EXPECT_ERROR_CODE(item, ErrorCode::cancelled);
}

// ---------------------------------------------------------------------------------------------
// Coroutines

Future<int> add_async(Future<int> a, Future<int> b) {
  Result<int> ra = co_await std::move(a);
  if (!ra.ok()) co_return ra.error();
  Result<int> rb = co_await std::move(b);
  if (!rb.ok()) co_return rb.error();
  co_return *ra + *rb;
}

Future<Unit> throwing_coroutine(Future<int> a) {
  Result<int> ra = co_await std::move(a);
  if (ra.ok()) throw std::runtime_error("coroutine boom");
  co_return Unit{};
}

Future<std::string> describe_async(Future<int> a) {
  // value() throws enrich::Exception on error; the coroutine's future carries that error.
  int v = (co_await std::move(a)).value();
  co_return "got " + std::to_string(v);
}

TEST(FutureTest, CoroutineAwaitsFuturesCompletedOnOtherThreads) {
  Promise<int> pa, pb;
  auto f = add_async(pa.get_future(), pb.get_future());
  EXPECT_FALSE(f.ready());
  std::thread t([&] {  // the coroutine is suspended on pa already (f is not ready)
    pa.set_value(40);
    pb.set_value(2);
  });
  auto r = wait_result(std::move(f), 5s);
  t.join();
  ASSERT_OK(r);
  EXPECT_EQ(*r, 42);
}

TEST(FutureTest, CoroutineAwaitingReadyFuturesCompletesAtOnce) {
  auto f = add_async(make_ready_future(1), make_ready_future(2));
  EXPECT_TRUE(f.ready());
  auto r = f.get();
  ASSERT_OK(r);
  EXPECT_EQ(*r, 3);
}

TEST(FutureTest, CoroutineCanCoReturnAnError) {
  Promise<int> pb;
  auto f =
      add_async(make_error_future<int>(make_error(ErrorCode::connection, "down")), pb.get_future());
  auto r = wait_result(std::move(f), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::connection);
  EXPECT_EQ(r.error().message, "down");
}

TEST(FutureTest, ExceptionInCoroutineBecomesInternalError) {
  auto r = wait_result(throwing_coroutine(make_ready_future(1)), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::internal);
  EXPECT_NE(r.error().message.find("coroutine boom"), std::string::npos) << r.error().message;
}

TEST(FutureTest, EnrichExceptionInCoroutineCarriesItsError) {
  auto ok = wait_result(describe_async(make_ready_future(5)), 1s);
  ASSERT_OK(ok);
  EXPECT_EQ(*ok, "got 5");
  auto r = wait_result(
      describe_async(make_error_future<int>(make_error(ErrorCode::pool_queue_full, "full"))), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::pool_queue_full);
}

// ---------------------------------------------------------------------------------------------
// Cancellation

TEST(FutureTest, CancelRunsTheHookOnceAndTheFutureStillCompletes) {
  Promise<int> p;
  std::atomic<int> hooks{0};
  p.on_cancel([&] { hooks++; });
  auto f = p.get_future();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 100; ++k) f.cancel();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(hooks.load(), 1);
  EXPECT_TRUE(f.valid()) << "cancel() keeps the future valid";
  EXPECT_FALSE(f.ready()) << "cancel() alone does not complete the future; the producer does";
  p.set_error(make_error(ErrorCode::cancelled, "cancelled by caller"));
  auto r = wait_result(std::move(f), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::cancelled);
}

TEST(FutureTest, CancelBeforeHookIsRegisteredRunsTheHookOnRegistration) {
  Promise<int> p;
  auto f = p.get_future();
  f.cancel();
  int hooks = 0;
  p.on_cancel([&] { hooks++; });
  EXPECT_EQ(hooks, 1);
  f.cancel();
  EXPECT_EQ(hooks, 1);
  p.set_value(3);
  auto r = f.get();
  ASSERT_OK(r) << "a result that was already there wins over cancellation";
  EXPECT_EQ(*r, 3);
}

TEST(FutureTest, CancelAfterCompletionDoesNotRunTheHook) {
  Promise<int> p;
  int hooks = 0;
  p.on_cancel([&] { hooks++; });
  auto f = p.get_future();
  p.set_value(1);
  f.cancel();
  EXPECT_EQ(hooks, 0);
  auto r = f.get();
  ASSERT_OK(r);
}

TEST(FutureTest, CancellerWorksAfterTheFutureWasConsumed) {
  Promise<int> p;
  int hooks = 0;
  p.on_cancel([&] { hooks++; });
  auto f = p.get_future();
  auto cancel = f.canceller();
  Result<int> seen = make_error(ErrorCode::internal, "not called");
  f.subscribe([&](Result<int> r) { seen = std::move(r); });
  cancel();
  EXPECT_EQ(hooks, 1);
  p.set_error(make_error(ErrorCode::cancelled, "x"));
  EXPECT_ERROR_CODE(seen, ErrorCode::cancelled);
  cancel();  // state gone: harmless
  EXPECT_EQ(hooks, 1);
}

TEST(FutureTest, CancellingAThenFutureCancelsTheSource) {
  Promise<int> p;
  int hooks = 0;
  p.on_cancel([&] { hooks++; });
  auto f = p.get_future().then([](Result<int> r) { return r.value() + 1; });
  f.cancel();
  EXPECT_EQ(hooks, 1);
  p.set_error(make_error(ErrorCode::cancelled, "cancelled"));
  auto r = wait_result(std::move(f), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::cancelled);
}

// ---------------------------------------------------------------------------------------------
// Broken promises

TEST(FutureTest, BrokenPromiseGivesInternalError) {
  Future<int> f;
  {
    Promise<int> p;
    f = p.get_future();
  }
  ASSERT_TRUE(f.ready());
  auto r = f.get();
  ASSERT_ERROR_CODE(r, ErrorCode::internal);
  EXPECT_NE(r.error().message.find("broken promise"), std::string::npos) << r.error().message;
}

TEST(FutureTest, MoveAssigningOverAPendingPromiseBreaksIt) {
  Promise<int> a;
  Promise<int> b;
  auto fa = a.get_future();
  auto fb = b.get_future();
  a = std::move(b);
  auto ra = wait_result(std::move(fa), 1s);
  ASSERT_ERROR_CODE(ra, ErrorCode::internal);
  EXPECT_TRUE(a.set_value(2));
  auto rb = wait_result(std::move(fb), 1s);
  ASSERT_OK(rb);
  EXPECT_EQ(*rb, 2);
}

TEST(FutureTest, BrokenPromiseReachesContinuations) {
  Future<int> chained;
  {
    Promise<int> p;
    chained = p.get_future().then([](Result<int> r) { return r.value(); });
  }
  auto r = wait_result(std::move(chained), 1s);
  ASSERT_ERROR_CODE(r, ErrorCode::internal);
}

}  // namespace
}  // namespace enrich
