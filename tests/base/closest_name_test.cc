#include "base/closest_name.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flopwise {
namespace {

const std::vector<std::string> kCommands = {"submit", "status", "runs", "cancel", "workers"};

TEST(ClosestName, SwappedNeighboursCountOnce) {
  EXPECT_EQ(ClosestName("stauts", kCommands), "status");
  EXPECT_EQ(ClosestName("wrokers", kCommands), "workers");
}

TEST(ClosestName, OneEditAwayIsFound) {
  EXPECT_EQ(ClosestName("sumbit", kCommands), "submit");
  EXPECT_EQ(ClosestName("run", kCommands), "runs");
  EXPECT_EQ(ClosestName("cancl", kCommands), "cancel");
}

TEST(ClosestName, FarWordsHaveNoSuggestion) {
  EXPECT_EQ(ClosestName("frobnicate", kCommands), std::nullopt);
  EXPECT_EQ(ClosestName("xyz", kCommands), std::nullopt);
  EXPECT_EQ(ClosestName("", kCommands), std::nullopt);
  EXPECT_EQ(ClosestName("status", {}), std::nullopt);
}

TEST(ClosestName, TiesGoToTheEarlierCandidate) {
  const std::vector<std::string> names = {"fit", "fix"};
  EXPECT_EQ(ClosestName("fi", names), "fit");
}

}  // namespace
}  // namespace flopwise
