#pragma once
// Handles given to C callers are not addresses. A handle is (slot index + 1) in its low 32 bits
// and the slot's generation above them; the slot holds the object and its kind. Destroying a
// handle moves its slot to the next generation, so a destroyed, foreign or made-up handle is
// rejected from the table alone, never by reading freed memory (a freed address can be reused,
// so a set of live addresses would not do). Registering and looking up are lock-free: completions
// are registered on I/O threads. Slots live as long as the process and are reused.

#include <atomic>
#include <cstdint>
#include <memory>

namespace enrich::capi {

enum class HandleKind : std::uint8_t { client = 1, queue, plan, tx, completion, error };

class HandleTable {
 public:
  static HandleTable& instance();

  /// Registers `object`; the handle is never 0.
  std::uintptr_t add(HandleKind kind, void* object);
  /// The object of a live handle of `kind`, else nullptr.
  void* get(std::uintptr_t handle, HandleKind kind) const;
  /// Ends a handle: exactly one caller gets its object; nullptr for a handle not live.
  void* remove(std::uintptr_t handle, HandleKind kind);

 private:
  struct Slot {
    std::atomic<std::uint64_t> state{0};  // generation << 8 | kind; kind 0: free
    std::atomic<void*> object{nullptr};
    std::atomic<std::uint32_t> next_free{0};  // free list link: index + 1, 0 ends it
  };
  static constexpr std::uint32_t kChunkBits = 12;
  static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
  static constexpr std::uint32_t kMaxChunks = 1u << 14;  // 64M handles live at once

  /// The slot of `index`, or nullptr if its chunk does not exist (a made-up handle).
  Slot* slot(std::uint32_t index) const;
  Slot& existing_slot(std::uint32_t index) const;
  /// The slot a handle names and the state it has while that handle is live; nullptr for a
  /// handle that cannot be one of ours.
  Slot* find(std::uintptr_t handle, HandleKind kind, std::uint64_t& live_state) const;
  std::uint32_t take_slot();
  void free_slot(std::uint32_t index);

  std::atomic<Slot*> chunks_[kMaxChunks] = {};
  std::atomic<std::uint32_t> next_index_{0};
  std::atomic<std::uint64_t> free_head_{0};  // ABA counter << 32 | (index + 1)
};

}  // namespace enrich::capi
