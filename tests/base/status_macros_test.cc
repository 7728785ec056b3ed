#include "base/status_macros.h"

#include <gtest/gtest.h>

namespace flopwise {
namespace {

absl::StatusOr<int> ParsePositive(int v) {
  if (v <= 0) return absl::InvalidArgumentError("v: must be positive");
  return v;
}

absl::StatusOr<int> Doubled(int v) {
  ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return 2 * x;
}

absl::Status CheckBoth(int a, int b) {
  RETURN_IF_ERROR(ParsePositive(a).status());
  RETURN_IF_ERROR(ParsePositive(b).status());
  return absl::OkStatus();
}

TEST(StatusMacros, AssignOrReturnPassesValue) {
  auto r = Doubled(21);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
}

TEST(StatusMacros, AssignOrReturnPropagatesError) {
  auto r = Doubled(-1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "v: must be positive");
}

TEST(StatusMacros, ReturnIfErrorStopsAtFirstFailure) {
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  EXPECT_EQ(CheckBoth(1, 0).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flopwise
