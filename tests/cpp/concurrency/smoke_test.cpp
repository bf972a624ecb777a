// Placeholder for the concurrency suite (ctest label `concurrency`, also run under
// TSan): checks the environment and that threads work in this build.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

TEST(ConcurrencySmoke, TestEnvironmentIsSet) {
  for (const char* name : {"ENRICH_TEST_DSN", "ENRICH_TEST_PG_RESTART"}) {
    const char* value = std::getenv(name);
    ASSERT_NE(value, nullptr) << name << " is not set; run scripts/test or source scripts/env.sh";
    EXPECT_FALSE(std::string(value).empty()) << name;
  }
}

TEST(ConcurrencySmoke, ThreadsRun) {
  std::atomic<int> counter{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&counter] {
      for (int j = 0; j < 1000; ++j) counter.fetch_add(1, std::memory_order_relaxed);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.load(), 4000);
}
