#pragma once
/// @file
/// Futures and promises carrying a `Result<T>`.
///
/// Threading rules (read these before writing continuations):
/// - A continuation given to `then()` or `subscribe()` runs on the thread that completes the
///   promise. For every operation of `enrich::Client` that is the client's I/O thread, so a
///   continuation must be short and must never block (no `get()`, no sleeping, no blocking I/O).
///   If the future is already complete when `then()`/`subscribe()` is called, the continuation
///   runs at once on the calling thread.
/// - `get()` and `wait_for()` block the calling thread; never call them on an I/O thread.
/// - `co_await future` resumes the coroutine on the completing thread (as `then()` does) and
///   yields the `Result<T>`; a coroutine whose return type is `Future<T>` completes its future
///   with `co_return value;` or `co_return error;`.
/// - `cancel()` may be called from any thread, any number of times. The operation still
///   completes (with `ErrorCode::cancelled` unless its result was already there): a cancelled or
///   abandoned future never leaks a connection or a callback.
/// - Dropping a future without waiting is allowed; the operation runs on and its result is
///   discarded.

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "enrich/error.hpp"
#include "enrich/export.hpp"

namespace enrich {

template <class T>
class Future;
template <class T>
class Promise;

namespace detail {

/// Error for an exception that escaped a continuation or coroutine.
ENRICH_EXPORT Error error_from_current_exception();

template <class T>
struct FutureState {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<T>> result;
  std::function<void(Result<T>)> callback;
  std::function<void()> on_cancel;
  bool cancel_requested = false;
  bool completed = false;

  /// Completes the state; returns false if it was already complete (first result wins).
  bool complete(Result<T> r) {
    std::unique_lock lock(mu);
    if (completed) return false;
    completed = true;
    on_cancel = nullptr;  // the operation is over; drop what the producer captured
    if (callback) {
      auto cb = std::move(callback);
      callback = nullptr;
      lock.unlock();
      cb(std::move(r));
      return true;
    }
    result.emplace(std::move(r));
    lock.unlock();
    cv.notify_all();
    return true;
  }

  void subscribe(std::function<void(Result<T>)> cb) {
    std::unique_lock lock(mu);
    if (result) {
      Result<T> r = std::move(*result);
      result.reset();
      lock.unlock();
      cb(std::move(r));
      return;
    }
    callback = std::move(cb);
  }

  void cancel() {
    std::function<void()> hook;
    {
      std::lock_guard lock(mu);
      if (completed || cancel_requested) return;
      cancel_requested = true;
      hook = std::move(on_cancel);
      on_cancel = nullptr;
    }
    if (hook) hook();
  }

  void set_cancel_hook(std::function<void()> hook) {
    std::unique_lock lock(mu);
    if (completed) return;
    if (cancel_requested) {
      lock.unlock();
      hook();
      return;
    }
    on_cancel = std::move(hook);
  }
};

template <class T>
struct IsFuture : std::false_type {};
template <class T>
struct IsFuture<Future<T>> : std::true_type {};
template <class T>
struct IsResult : std::false_type {};
template <class T>
struct IsResult<Result<T>> : std::true_type {};

/// The value type U of the future returned by `then(f)` where f returns R.
template <class R>
struct ThenValue {
  using type = R;
};
template <class U>
struct ThenValue<Result<U>> {
  using type = U;
};
template <class U>
struct ThenValue<Future<U>> {
  using type = U;
};
template <>
struct ThenValue<void> {
  using type = Unit;
};

}  // namespace detail

/// The producing side of a `Future<T>`. Move-only. Destroying a promise that was never completed
/// completes its future with an `internal` error ("broken promise"), so a future never hangs.
template <class T>
class Promise {
 public:
  Promise() : state_(std::make_shared<detail::FutureState<T>>()) {}
  Promise(Promise&&) noexcept = default;
  Promise& operator=(Promise&& other) noexcept {
    if (this != &other) {
      abandon();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  Promise(const Promise&) = delete;
  Promise& operator=(const Promise&) = delete;
  ~Promise() { abandon(); }

  /// The future; call once.
  Future<T> get_future() { return Future<T>(state_); }

  /// Completes the future; the first completion wins, later ones return false.
  bool set(Result<T> result) {
    if (!state_) return false;
    auto state = std::move(state_);
    return state->complete(std::move(result));
  }
  bool set_value(T value) { return set(Result<T>(std::move(value))); }
  bool set_error(Error error) { return set(Result<T>(std::move(error))); }

  /// Registers what to do when the consumer calls `Future::cancel()`. Runs at most once, on the
  /// cancelling thread (at once if cancel was already requested); it must not block and should
  /// hand the request to the producer's own thread.
  void on_cancel(std::function<void()> hook) {
    if (state_) state_->set_cancel_hook(std::move(hook));
  }

  bool valid() const { return static_cast<bool>(state_); }

 private:
  void abandon() {
    if (state_) set_error(Error{ErrorCode::internal, "broken promise: operation was dropped"});
  }
  std::shared_ptr<detail::FutureState<T>> state_;
};

/// The consuming side: a value or error that arrives later. Move-only.
template <class T>
class Future {
 public:
  using value_type = T;

  Future() = default;
  Future(Future&&) noexcept = default;
  Future& operator=(Future&&) noexcept = default;
  Future(const Future&) = delete;
  Future& operator=(const Future&) = delete;

  /// False for a default-constructed future or one whose result was taken.
  bool valid() const { return static_cast<bool>(state_); }

  /// True once the result is available.
  bool ready() const {
    if (!state_) return false;
    std::lock_guard lock(state_->mu);
    return state_->result.has_value();
  }

  /// Blocks until complete and returns the result; the future becomes invalid.
  /// Never call this on an I/O thread.
  Result<T> get() {
    if (!state_) return Error{ErrorCode::invalid_argument, "get() on an invalid future"};
    auto state = std::move(state_);
    std::unique_lock lock(state->mu);
    if (state->callback)
      return Error{ErrorCode::invalid_argument, "get() on a future that has a continuation"};
    state->cv.wait(lock, [&] { return state->result.has_value(); });
    Result<T> r = std::move(*state->result);
    state->result.reset();
    return r;
  }

  /// Blocks until complete or until `timeout` has passed; returns `ready()`. Waiting does not
  /// cancel anything: use deadlines on the operation for that.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    if (!state_) return false;
    std::unique_lock lock(state_->mu);
    return state_->cv.wait_for(lock, timeout, [&] { return state_->result.has_value(); });
  }
  void wait() const {
    if (!state_) return;
    std::unique_lock lock(state_->mu);
    state_->cv.wait(lock, [&] { return state_->result.has_value(); });
  }

  /// The primitive continuation: `callback(Result<T>)` runs once, on the completing thread (see
  /// the file comment). The future becomes invalid.
  void subscribe(std::function<void(Result<T>)> callback) {
    if (!state_) return;
    auto state = std::move(state_);
    state->subscribe(std::move(callback));
  }

  /// Chains `f(Result<T>)`, which may return a plain value U, a `Result<U>`, a `Future<U>`, or
  /// nothing (`Future<Unit>`). An exception thrown by `f` becomes an `internal` error (or the
  /// carried error for `enrich::Exception`). Cancelling the returned future cancels this one.
  template <class F>
  auto then(F&& f) -> Future<typename detail::ThenValue<std::invoke_result_t<F, Result<T>>>::type> {
    using R = std::invoke_result_t<F, Result<T>>;
    using U = typename detail::ThenValue<R>::type;
    Promise<U> next;
    Future<U> out = next.get_future();
    next.on_cancel(canceller());
    // std::function needs copyable targets: share the (possibly move-only) function and promise.
    struct Chain {
      std::decay_t<F> fn;
      Promise<U> promise;
    };
    auto chain = std::make_shared<Chain>(Chain{std::forward<F>(f), std::move(next)});
    subscribe([chain](Result<T> r) {
      auto& p = chain->promise;
      try {
        if constexpr (std::is_void_v<R>) {
          chain->fn(std::move(r));
          p.set_value(Unit{});
        } else if constexpr (detail::IsFuture<R>::value) {
          chain->fn(std::move(r)).subscribe([chain](Result<U> inner) {
            chain->promise.set(std::move(inner));
          });
        } else {
          p.set(chain->fn(std::move(r)));
        }
      } catch (...) {
        p.set_error(detail::error_from_current_exception());
      }
    });
    return out;
  }

  /// Requests cancellation of the operation (see the file comment). Keeps the future valid.
  void cancel() const {
    if (state_) state_->cancel();
  }

  /// A function that cancels this operation from any thread without keeping it alive; stays
  /// usable after the future was consumed by `get()`, `then()` or `subscribe()`.
  std::function<void()> canceller() const {
    return [weak = std::weak_ptr<detail::FutureState<T>>(state_)] {
      if (auto s = weak.lock()) s->cancel();
    };
  }

  /// `co_await future` yields the `Result<T>`.
  auto operator co_await() && {
    struct Awaiter {
      Future<T> future;
      std::optional<Result<T>> result;
      bool await_ready() const { return future.ready(); }
      void await_suspend(std::coroutine_handle<> handle) {
        future.subscribe([this, handle](Result<T> r) {
          result.emplace(std::move(r));
          handle.resume();
        });
      }
      Result<T> await_resume() {
        if (!result) return future.get();
        return std::move(*result);
      }
    };
    return Awaiter{std::move(*this), std::nullopt};
  }

  /// Lets a coroutine return `Future<T>`: `co_return value;` or `co_return error;`.
  struct promise_type {
    Promise<T> promise;
    Future<T> get_return_object() { return promise.get_future(); }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_value(Result<T> r) { promise.set(std::move(r)); }
    void unhandled_exception() { promise.set_error(detail::error_from_current_exception()); }
  };

 private:
  friend class Promise<T>;
  explicit Future(std::shared_ptr<detail::FutureState<T>> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::FutureState<T>> state_;
};

/// A future that is already complete.
template <class T>
Future<std::decay_t<T>> make_ready_future(T&& value) {
  Promise<std::decay_t<T>> p;
  auto f = p.get_future();
  p.set_value(std::forward<T>(value));
  return f;
}
template <class T>
Future<T> make_error_future(Error error) {
  Promise<T> p;
  auto f = p.get_future();
  p.set_error(std::move(error));
  return f;
}

/// Completes when every future has completed, with each one's `Result` (errors do not short-cut;
/// look at each element). Cancelling the combined future cancels every input.
template <class... Ts>
Future<std::tuple<Result<Ts>...>> when_all(Future<Ts>... futures) {
  using Tuple = std::tuple<Result<Ts>...>;
  struct Shared {
    std::tuple<std::optional<Result<Ts>>...> slots;
    std::atomic<size_t> remaining{sizeof...(Ts)};
    Promise<Tuple> promise;
  };
  auto shared = std::make_shared<Shared>();
  Future<Tuple> out = shared->promise.get_future();
  if constexpr (sizeof...(Ts) == 0) {
    shared->promise.set_value(Tuple{});
    return out;
  } else {
    auto finish = [shared] {
      if (shared->remaining.fetch_sub(1) == 1) {
        shared->promise.set_value(
            std::apply([](auto&... slot) { return Tuple(std::move(*slot)...); }, shared->slots));
      }
    };
    std::vector<std::function<void()>> cancel_all{futures.canceller()...};
    shared->promise.on_cancel([cancel_all = std::move(cancel_all)] {
      for (auto& c : cancel_all) c();
    });
    [&]<size_t... I>(std::index_sequence<I...>) {
      (std::move(futures).subscribe([shared, finish](Result<Ts> r) {
        std::get<I>(shared->slots).emplace(std::move(r));
        finish();
      }),
       ...);
    }
    (std::index_sequence_for<Ts...>{});
    return out;
  }
}

/// Completes when every future in the vector has completed, with their results in order.
template <class T>
Future<std::vector<Result<T>>> when_all(std::vector<Future<T>> futures) {
  struct Shared {
    std::vector<std::optional<Result<T>>> slots;
    std::atomic<size_t> remaining;
    Promise<std::vector<Result<T>>> promise;
  };
  auto shared = std::make_shared<Shared>();
  shared->slots.resize(futures.size());
  shared->remaining = futures.size();
  auto out = shared->promise.get_future();
  if (futures.empty()) {
    shared->promise.set_value({});
    return out;
  }
  std::vector<std::function<void()>> cancel_all;
  for (auto& f : futures) cancel_all.push_back(f.canceller());
  shared->promise.on_cancel([cancel_all = std::move(cancel_all)] {
    for (auto& c : cancel_all) c();
  });
  for (size_t i = 0; i < futures.size(); ++i) {
    futures[i].subscribe([shared, i](Result<T> r) {
      shared->slots[i].emplace(std::move(r));
      if (shared->remaining.fetch_sub(1) == 1) {
        std::vector<Result<T>> all;
        all.reserve(shared->slots.size());
        for (auto& s : shared->slots) all.push_back(std::move(*s));
        shared->promise.set_value(std::move(all));
      }
    });
  }
  return out;
}

}  // namespace enrich
