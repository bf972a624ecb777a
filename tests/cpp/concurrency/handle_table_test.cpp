// The C API's handle table (capi/handle_table.hpp): handles across several chunks, a slot reused
// under a new generation, kinds kept apart, and registering/removing from many threads at once
// (this suite also runs under ThreadSanitizer).

#include "handle_table.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace enrich::capi {
namespace {

TEST(HandleTable, ManyHandlesAcrossChunksResolveUntilRemoved) {
  auto& table = HandleTable::instance();
  std::vector<int> objects(10000);  // more than one chunk of slots
  std::vector<std::uintptr_t> handles;
  for (auto& o : objects) handles.push_back(table.add(HandleKind::plan, &o));
  for (std::size_t i = 0; i < handles.size(); ++i) {
    ASSERT_NE(handles[i], 0u);
    ASSERT_EQ(table.get(handles[i], HandleKind::plan), &objects[i]);
    ASSERT_EQ(table.get(handles[i], HandleKind::queue), nullptr);  // another kind
  }
  for (std::size_t i = 0; i < handles.size(); ++i) {
    ASSERT_EQ(table.remove(handles[i], HandleKind::plan), &objects[i]);
    ASSERT_EQ(table.remove(handles[i], HandleKind::plan), nullptr);  // second remove
    ASSERT_EQ(table.get(handles[i], HandleKind::plan), nullptr);
  }
}

TEST(HandleTable, ReusedSlotRefusesTheOldHandle) {
  auto& table = HandleTable::instance();
  int a = 0, b = 0;
  std::uintptr_t old_handle = table.add(HandleKind::client, &a);
  ASSERT_EQ(table.remove(old_handle, HandleKind::client), &a);
  std::uintptr_t new_handle = table.add(HandleKind::client, &b);  // the freed slot, reused
  EXPECT_EQ(static_cast<std::uint32_t>(new_handle), static_cast<std::uint32_t>(old_handle));
  EXPECT_NE(new_handle, old_handle);
  EXPECT_EQ(table.get(old_handle, HandleKind::client), nullptr);
  EXPECT_EQ(table.remove(old_handle, HandleKind::client), nullptr);
  EXPECT_EQ(table.get(new_handle, HandleKind::client), &b);
  EXPECT_EQ(table.remove(new_handle, HandleKind::client), &b);
}

TEST(HandleTable, MadeUpHandlesAreRefused) {
  auto& table = HandleTable::instance();
  for (std::uintptr_t h : {std::uintptr_t{0}, std::uintptr_t{1}, std::uintptr_t{0x1234},
                           ~std::uintptr_t{0}, std::uintptr_t{0xffffffff}}) {
    EXPECT_EQ(table.get(h, HandleKind::error), nullptr) << h;
    EXPECT_EQ(table.remove(h, HandleKind::error), nullptr) << h;
  }
}

TEST(HandleTable, ThreadsAddAndRemoveConcurrently) {
  auto& table = HandleTable::instance();
  constexpr int kThreads = 4, kRounds = 20000;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      int objects[8];
      for (int r = 0; r < kRounds; ++r) {
        int* o = &objects[r % 8];
        std::uintptr_t h = table.add(HandleKind::completion, o);
        if (table.get(h, HandleKind::completion) != o) ++wrong;
        if (table.remove(h, HandleKind::completion) != o) ++wrong;
        if (table.remove(h, HandleKind::completion) != nullptr) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace enrich::capi
