// Placeholder until the library tests land: checks the precondition every
// database test relies on (scripts/test exports ENRICH_TEST_DSN).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

TEST(Smoke, TestDsnIsSet) {
  const char* dsn = std::getenv("ENRICH_TEST_DSN");
  ASSERT_NE(dsn, nullptr)
      << "ENRICH_TEST_DSN is not set; run scripts/test or source scripts/env.sh";
  EXPECT_FALSE(std::string(dsn).empty());
}
