#pragma once
// One epoll loop on one thread: fd readiness, timers, and work handed in from other threads
// through an eventfd. Everything except post(), in_loop_thread() and stop() must be called on the
// loop's own thread.

// The core is Linux-only: its loop is epoll with an eventfd and timers on it.
#if !defined(__linux__)
#error "enrich's core needs Linux (epoll, eventfd); other platforms are not supported"
#endif

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "enrich/deadline.hpp"

namespace enrich {

class EventLoop {
 public:
  using Task = std::function<void()>;
  using IoHandler = std::function<void(std::uint32_t events)>;
  using TimerId = std::uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Starts the loop thread.
  void start(std::string name);
  /// Runs `before_exit` on the loop thread, then ends the loop and joins the thread. Tasks posted
  /// after that are refused. Safe to call twice and from any thread but the loop's own.
  void stop(Task before_exit = nullptr);

  /// Queues `task` to run on the loop thread. Returns false (and leaves `task` untouched) once
  /// the loop is stopping, or in a forked child (which has no loop thread), so that the caller
  /// can complete its promise with an error instead.
  bool post(Task& task);
  bool post(Task&& task) { return post(task); }
  bool in_loop_thread() const { return std::this_thread::get_id() == thread_id_; }
  /// True in a child forked after this loop was created: nothing of it may be used or stopped.
  bool forked() const noexcept;

  // --- loop thread only ---
  void watch(int fd, std::uint32_t events, IoHandler handler);
  void modify(int fd, std::uint32_t events);
  void unwatch(int fd);

  TimerId add_timer(Clock::time_point when, Task task);
  void cancel_timer(TimerId id);
  /// Runs `task` once at the end of the current turn: after this turn's I/O events, posted tasks
  /// and due timers, before the loop waits again. What the turn's callbacks submitted can be
  /// gathered and sent together (pg/batcher.hpp) without ever waiting for more.
  void at_turn_end(Task task) { turn_end_.push_back(std::move(task)); }
  /// Entries in the timer heap, cancelled ones not yet dropped included (for tests).
  std::size_t timer_entries() const { return timer_heap_.size(); }

 private:
  void run();

  unsigned fork_generation_;
  int next_timeout_ms() const;
  void run_due_timers();
  void pop_timer_entry();
  void compact_timers();
  void drain_posted();
  void run_turn_end();

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::unique_ptr<std::thread> thread_;  // a pointer, so that a forked child can leak it
  std::thread::id thread_id_;
  bool stopping_ = false;  // loop thread only

  std::mutex mu_;
  std::vector<Task> posted_;
  std::vector<Task> turn_end_;  // loop thread only
  bool accepting_ = true;
  bool wake_pending_ = false;

  struct Watch {
    std::uint32_t generation;
    IoHandler handler;
  };
  std::unordered_map<int, Watch> watches_;
  std::uint32_t next_generation_ = 1;

  struct TimerEntry {
    Clock::time_point when;
    TimerId id;
    bool operator>(const TimerEntry& o) const { return when > o.when; }
  };
  /// A min-heap on `when` (std::push_heap / pop_heap with std::greater). Cancelled timers leave
  /// their entry behind, skipped when it reaches the top; compact_timers() drops them in bulk
  /// when they outnumber the live ones, so the heap stays proportional to the live timers.
  std::vector<TimerEntry> timer_heap_;
  static constexpr std::size_t kCompactMinEntries = 1024;
  std::unordered_map<TimerId, Task> timers_;
  TimerId next_timer_id_ = 1;
};

}  // namespace enrich
