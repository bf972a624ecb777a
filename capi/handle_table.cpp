#include "handle_table.hpp"

#include <new>

namespace enrich::capi {

HandleTable& HandleTable::instance() {
  // Never destroyed: handles may be used (and rejected) until the process ends.
  static HandleTable* table = new HandleTable;
  return *table;
}

HandleTable::Slot* HandleTable::slot(std::uint32_t index) const {
  Slot* chunk = chunks_[index >> kChunkBits].load(std::memory_order_acquire);
  return chunk ? &chunk[index & (kChunkSize - 1)] : nullptr;
}

HandleTable::Slot& HandleTable::existing_slot(std::uint32_t index) const {
  // Only for indexes handed out before: their chunk exists.
  return chunks_[index >> kChunkBits].load(std::memory_order_acquire)[index & (kChunkSize - 1)];
}

std::uint32_t HandleTable::take_slot() {
  std::uint64_t head = free_head_.load(std::memory_order_acquire);
  while (static_cast<std::uint32_t>(head) != 0) {
    std::uint32_t index = static_cast<std::uint32_t>(head) - 1;
    std::uint32_t next = existing_slot(index).next_free.load(std::memory_order_relaxed);
    std::uint64_t desired = ((head >> 32) + 1) << 32 | next;
    if (free_head_.compare_exchange_weak(head, desired, std::memory_order_acq_rel,
                                         std::memory_order_acquire))
      return index;
  }
  std::uint32_t index = next_index_.fetch_add(1, std::memory_order_acq_rel);
  if ((index >> kChunkBits) >= kMaxChunks) throw std::bad_alloc();
  auto& chunk = chunks_[index >> kChunkBits];
  if (!chunk.load(std::memory_order_acquire)) {
    Slot* fresh = new Slot[kChunkSize];
    Slot* expected = nullptr;
    if (!chunk.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel))
      delete[] fresh;  // another thread made it first
  }
  return index;
}

void HandleTable::free_slot(std::uint32_t index) {
  Slot* s = &existing_slot(index);
  std::uint64_t head = free_head_.load(std::memory_order_relaxed);
  std::uint64_t desired;
  do {
    s->next_free.store(static_cast<std::uint32_t>(head), std::memory_order_relaxed);
    desired = ((head >> 32) + 1) << 32 | (index + 1);
  } while (!free_head_.compare_exchange_weak(head, desired, std::memory_order_release,
                                             std::memory_order_relaxed));
}

std::uintptr_t HandleTable::add(HandleKind kind, void* object) {
  std::uint32_t index = take_slot();
  Slot* s = &existing_slot(index);
  std::uint64_t generation = (s->state.load(std::memory_order_relaxed) >> 8) + 1;
  generation &= 0xffffffffu;
  if (generation == 0) generation = 1;  // a handle is never 0
  s->object.store(object, std::memory_order_relaxed);
  s->state.store(generation << 8 | static_cast<std::uint8_t>(kind), std::memory_order_release);
  return static_cast<std::uintptr_t>(generation << 32 | (std::uint64_t{index} + 1));
}

HandleTable::Slot* HandleTable::find(std::uintptr_t handle, HandleKind kind,
                                     std::uint64_t& live_state) const {
  auto low = static_cast<std::uint32_t>(handle);
  std::uint64_t generation = static_cast<std::uint64_t>(handle) >> 32;
  if (low == 0 || generation == 0 || low - 1 >= next_index_.load(std::memory_order_acquire))
    return nullptr;
  live_state = generation << 8 | static_cast<std::uint8_t>(kind);
  return slot(low - 1);  // null for a made-up index whose chunk was never allocated
}

void* HandleTable::get(std::uintptr_t handle, HandleKind kind) const {
  std::uint64_t live = 0;
  const Slot* s = find(handle, kind, live);
  if (!s || s->state.load(std::memory_order_acquire) != live) return nullptr;
  return s->object.load(std::memory_order_acquire);
}

void* HandleTable::remove(std::uintptr_t handle, HandleKind kind) {
  std::uint64_t live = 0;
  Slot* s = find(handle, kind, live);
  // Live -> free, keeping the generation (the next add moves past it): exactly one caller wins.
  if (!s || !s->state.compare_exchange_strong(live, live & ~std::uint64_t{0xff},
                                              std::memory_order_acq_rel))
    return nullptr;
  void* object = s->object.exchange(nullptr, std::memory_order_acq_rel);
  free_slot(static_cast<std::uint32_t>(handle) - 1);
  return object;
}

}  // namespace enrich::capi
