// Completion queues: a mutex-protected deque and an eventfd that is readable exactly while the
// queue is not empty (written on empty -> non-empty, drained when poll empties the queue, both
// under the lock so that no wake-up is lost).

#include <sys/eventfd.h>
#include <unistd.h>

#include "capi_internal.hpp"

using namespace enrich::capi;

namespace enrich::capi {

QueueCore::QueueCore() {
  event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

QueueCore::~QueueCore() {
  for (auto* c : items) delete c;  // never handed out: not in the handle table
  if (event_fd >= 0) close(event_fd);
}

void QueueCore::push(enrich_completion* completion) {
  void (*callback)(void*) = nullptr;
  void* payload = nullptr;
  {
    std::lock_guard lock(mu);
    if (closed) {
      delete completion;
      return;
    }
    bool was_empty = items.empty();
    items.push_back(completion);
    if (was_empty) {
      std::uint64_t one = 1;
      [[maybe_unused]] auto n = write(event_fd, &one, sizeof one);
      callback = notify;
      payload = notify_payload;
    }
  }
  if (callback) callback(payload);
}

std::size_t QueueCore::poll(enrich_completion** out, std::size_t max) {
  std::lock_guard lock(mu);
  std::size_t n = 0;
  while (n < max && !items.empty()) {
    out[n++] = items.front();
    items.pop_front();
  }
  if (items.empty()) {
    std::uint64_t value;
    [[maybe_unused]] auto r = read(event_fd, &value, sizeof value);
  }
  return n;
}

void Target::deliver(enrich_completion* completion) const {
  if (queue)
    queue->push(completion);
  else if (callback)
    callback(publish_completion(completion), payload);
  else
    delete completion;
}

enrich_completion* publish_completion(enrich_completion* completion) {
  if (completion->error) {
    completion->error->owned_by_completion = true;
    completion->error_handle = publish(completion->error.get());
  }
  return publish(completion);
}

}  // namespace enrich::capi

extern "C" {

enrich_status enrich_queue_create(enrich_queue** out) {
  return guarded([&] {
    if (!out) return ENRICH_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    auto queue = std::make_unique<enrich_queue>();
    queue->core = std::make_shared<QueueCore>();
    if (queue->core->event_fd < 0) return ENRICH_ERR_INTERNAL;
    *out = publish(queue.release());
    return ENRICH_OK;
  });
}

void enrich_queue_destroy(enrich_queue* handle) {
  auto queue = retire(handle);  // a second destroy finds nothing
  if (!queue) return;
  std::deque<enrich_completion*> items;
  {
    std::lock_guard lock(queue->core->mu);
    queue->core->closed = true;
    queue->core->notify = nullptr;
    items.swap(queue->core->items);
  }
  for (auto* c : items) delete c;  // never handed out
}

int enrich_queue_fd(const enrich_queue* queue) {
  return (queue = resolve(queue)) ? queue->core->event_fd : -1;
}

size_t enrich_queue_poll(enrich_queue* queue, enrich_completion** out, size_t max) {
  if (!(queue = resolve(queue)) || !out || max == 0) return 0;
  return guarded_or<size_t>(0, [&] {
    std::size_t n = queue->core->poll(out, max);
    for (std::size_t i = 0; i < n; ++i) out[i] = publish_completion(out[i]);
    return n;
  });
}

size_t enrich_queue_size(const enrich_queue* queue) {
  if (!(queue = resolve(queue))) return 0;
  std::lock_guard lock(queue->core->mu);
  return queue->core->items.size();
}

enrich_status enrich_queue_set_notify(enrich_queue* queue, void (*notify)(void*), void* payload) {
  if (!(queue = resolve(queue))) return ENRICH_ERR_INVALID_ARGUMENT;
  std::lock_guard lock(queue->core->mu);
  queue->core->notify = notify;
  queue->core->notify_payload = payload;
  return ENRICH_OK;
}

}  // extern "C"
