// The concurrency suite (ctest label `concurrency`, also run under TSan) fails at once when the
// environment it needs is missing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

TEST(ConcurrencySmoke, TestEnvironmentIsSet) {
  for (const char* name : {"ENRICH_TEST_DSN", "ENRICH_TEST_PG_RESTART"}) {
    const char* value = std::getenv(name);
    ASSERT_NE(value, nullptr) << name << " is not set; run scripts/test or source scripts/env.sh";
    EXPECT_FALSE(std::string(value).empty()) << name;
  }
}
