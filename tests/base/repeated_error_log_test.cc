#include "base/repeated_error_log.h"

#include <gtest/gtest.h>

namespace flopwise {
namespace {

TEST(RepeatedErrorLog, LogsTheFirstFailureThenOneSummaryPerInterval) {
  RepeatedErrorLog log("lease reaper", absl::Seconds(60));
  const absl::Status full = absl::ResourceExhaustedError("db: disk is full");
  const absl::Time start = absl::FromUnixSeconds(1'000'000);
  EXPECT_FALSE(log.Observe(absl::OkStatus(), start).has_value());
  auto first = log.Observe(full, start);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->error);
  EXPECT_NE(first->text.find("lease reaper: RESOURCE_EXHAUSTED: db: disk is full"),
            std::string::npos)
      << first->text;
  int logged = 0;
  // One pass a second for 59 more seconds: nothing more.
  for (int s = 1; s < 60; ++s) logged += log.Observe(full, start + absl::Seconds(s)).has_value();
  EXPECT_EQ(logged, 0);
  auto summary = log.Observe(full, start + absl::Seconds(60));
  ASSERT_TRUE(summary.has_value());
  EXPECT_NE(summary->text.find("60 more since the last report, 61 since"), std::string::npos)
      << summary->text;
  EXPECT_FALSE(log.Observe(full, start + absl::Seconds(61)).has_value());
  auto recovered = log.Observe(absl::OkStatus(), start + absl::Seconds(90));
  ASSERT_TRUE(recovered.has_value());
  EXPECT_FALSE(recovered->error);
  EXPECT_NE(recovered->text.find("recovered after 62 failures over 1m30s"), std::string::npos)
      << recovered->text;
  EXPECT_FALSE(log.Observe(absl::OkStatus(), start + absl::Seconds(91)).has_value());
  // A new failure is logged at once.
  EXPECT_TRUE(log.Observe(full, start + absl::Seconds(92)).has_value());
}

}  // namespace
}  // namespace flopwise
