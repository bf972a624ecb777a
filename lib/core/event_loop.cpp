#include "core/event_loop.hpp"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/fork_guard.hpp"

namespace enrich {

EventLoop::EventLoop() : fork_generation_(enrich::fork_generation()) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    throw std::runtime_error(std::string("event loop: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // generation 0 marks the wake fd
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

EventLoop::~EventLoop() {
  if (forked()) {
    // The thread is the parent's: joining or detaching it here is undefined. Leak its handle.
    (void)thread_.release();
    return;
  }
  stop();
  close(wake_fd_);
  close(epoll_fd_);
}

void EventLoop::start(std::string name) {
  thread_ = std::make_unique<std::thread>([this, name = std::move(name)] {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    run();
  });
  thread_id_ = thread_->get_id();
}

bool EventLoop::forked() const noexcept {
  return fork_generation_ != enrich::fork_generation();
}

void EventLoop::stop(Task before_exit) {
  if (forked()) return;  // no loop thread here; its mutex may be held forever
  if (!thread_ || !thread_->joinable()) return;
  {
    std::lock_guard lock(mu_);
    if (accepting_) {
      accepting_ = false;
      posted_.push_back([this, before_exit = std::move(before_exit)] {
        if (before_exit) before_exit();
        stopping_ = true;
      });
    }
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
  thread_->join();
}

bool EventLoop::post(Task& task) {
  if (forked()) return false;  // before the mutex, which a parent thread may have held
  bool wake;
  {
    std::lock_guard lock(mu_);
    if (!accepting_) return false;
    posted_.push_back(std::move(task));
    // Write the eventfd only on empty -> non-empty: one wake-up per batch.
    wake = !wake_pending_;
    wake_pending_ = true;
  }
  if (wake) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
  }
  return true;
}

void EventLoop::watch(int fd, std::uint32_t events, IoHandler handler) {
  std::uint32_t generation = next_generation_++;
  if (next_generation_ == 0) next_generation_ = 1;
  watches_[fd] = Watch{generation, std::move(handler)};
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<std::uint64_t>(generation) << 32) | static_cast<std::uint32_t>(fd);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::modify(int fd, std::uint32_t events) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 =
      (static_cast<std::uint64_t>(it->second.generation) << 32) | static_cast<std::uint32_t>(fd);
  // ENOENT: the watched socket was closed and another one opened with the same number (libpq
  // trying the next host of a multi-host DSN); epoll dropped the closed one, so add the new one.
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void EventLoop::unwatch(int fd) {
  if (watches_.erase(fd) == 0) return;
  // The fd may already be closed (EBADF) or unknown to epoll (ENOENT): both are fine.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::add_timer(Clock::time_point when, Task task) {
  TimerId id = next_timer_id_++;
  timers_.emplace(id, std::move(task));
  timer_heap_.push_back(TimerEntry{when, id});
  std::push_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<>{});
  return id;
}

void EventLoop::cancel_timer(TimerId id) {
  // The heap entry is skipped lazily, or dropped with the others by compact_timers(): most
  // timers (statement deadlines) are cancelled long before they are due.
  if (timers_.erase(id) == 0) return;
  if (timer_heap_.size() > kCompactMinEntries && timer_heap_.size() > 2 * timers_.size())
    compact_timers();
}

void EventLoop::pop_timer_entry() {
  std::pop_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<>{});
  timer_heap_.pop_back();
}

void EventLoop::compact_timers() {
  std::erase_if(timer_heap_, [this](const TimerEntry& e) { return !timers_.contains(e.id); });
  std::make_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<>{});
  // A burst can leave a large buffer behind; give it back once it is mostly unused.
  if (timer_heap_.capacity() > kCompactMinEntries &&
      timer_heap_.capacity() > 4 * timer_heap_.size())
    timer_heap_.shrink_to_fit();
}

int EventLoop::next_timeout_ms() const {
  if (timer_heap_.empty()) return -1;
  auto now = Clock::now();
  auto when = timer_heap_.front().when;
  if (when <= now) return 0;
  auto ms = std::chrono::ceil<Milliseconds>(when - now).count();
  return ms > 60000 ? 60000 : static_cast<int>(ms);
}

void EventLoop::run_due_timers() {
  auto now = Clock::now();
  while (!timer_heap_.empty() && timer_heap_.front().when <= now) {
    TimerId id = timer_heap_.front().id;
    pop_timer_entry();
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled
    Task task = std::move(it->second);
    timers_.erase(it);
    task();
  }
  // Drop cancelled entries at the top so the next timeout is computed from a live timer.
  while (!timer_heap_.empty() && !timers_.contains(timer_heap_.front().id)) pop_timer_entry();
}

void EventLoop::drain_posted() {
  std::vector<Task> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(posted_);
    wake_pending_ = false;
  }
  for (auto& task : batch) task();
}

void EventLoop::run_turn_end() {
  // A task may queue another (its callbacks submitted more): run until none is left.
  while (!turn_end_.empty()) {
    std::vector<Task> tasks;
    tasks.swap(turn_end_);
    for (auto& task : tasks) task();
  }
}

void EventLoop::run() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  while (!stopping_) {
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, next_timeout_ms());
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      std::uint64_t data = events[i].data.u64;
      auto generation = static_cast<std::uint32_t>(data >> 32);
      if (generation == 0) {
        std::uint64_t value;
        [[maybe_unused]] auto r = read(wake_fd_, &value, sizeof value);
        continue;
      }
      int fd = static_cast<int>(static_cast<std::uint32_t>(data));
      auto it = watches_.find(fd);
      // Skip events for an fd unwatched (or re-used) earlier in this batch.
      if (it == watches_.end() || it->second.generation != generation) continue;
      IoHandler handler = it->second.handler;  // copy: the handler may unwatch itself
      handler(events[i].events);
    }
    drain_posted();
    run_due_timers();
    run_turn_end();
  }
  // Run what was posted before stop() closed the queue, so no promise is silently dropped.
  drain_posted();
  run_turn_end();
}

}  // namespace enrich
