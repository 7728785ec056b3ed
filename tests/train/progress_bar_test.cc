// The human progress line of flopwise-train.
#include "worker/train/progress_bar.h"

#include <gtest/gtest.h>

#include <limits>

namespace flopwise::train {
namespace {

TEST(ProgressBar, DurationsPickTheTwoLargestUnits) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(59.4), "59s");
  EXPECT_EQ(FormatDuration(59.6), "1m00s");
  EXPECT_EQ(FormatDuration(185), "3m05s");
  EXPECT_EQ(FormatDuration(2 * 3600 + 7 * 60 + 30), "2h07m");
  EXPECT_EQ(FormatDuration(3 * 86400 + 4 * 3600 + 59 * 60), "3d04h");
  EXPECT_EQ(FormatDuration(-1), "?");
  EXPECT_EQ(FormatDuration(std::numeric_limits<double>::infinity()), "?");
  EXPECT_EQ(FormatDuration(std::numeric_limits<double>::quiet_NaN()), "?");
}

TEST(ProgressBar, CountsHaveThreeSignificantDigitsAndASuffix) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(512), "512");
  EXPECT_EQ(FormatCount(12345), "12.3k");
  EXPECT_EQ(FormatCount(4.1e6), "4.1M");
  EXPECT_EQ(FormatCount(999999), "1M");
  EXPECT_EQ(FormatCount(1.25e9), "1.25G");
  EXPECT_EQ(FormatCount(7e12), "7T");
}

TEST(ProgressBar, LineShowsFractionStepTokensLossRateAndEta) {
  ProgressLine p;
  p.step = 17;
  p.tokens = 250000;
  p.total_tokens = 1000000;
  p.loss = 3.14159;
  p.tokens_per_s = 5000;
  EXPECT_EQ(FormatProgressLine(p, 8),
            "[##      ]  25%  step 17  250k/1M tok  loss 3.1416  5k tok/s  ETA 2m30s");
}

TEST(ProgressBar, EtaIsUnknownWithoutThroughputAndTheBarNeverOverflows) {
  ProgressLine p;
  p.step = 3;
  p.tokens = 2000;
  p.total_tokens = 1000;  // a resumed run may report past a shortened budget
  p.loss = 1;
  EXPECT_EQ(FormatProgressLine(p, 4),
            "[####] 100%  step 3  2k/1k tok  loss 1.0000  0 tok/s  ETA ?");
  p.total_tokens = 0;
  EXPECT_EQ(FormatProgressLine(p, 4), "[    ]   0%  step 3  2k/0 tok  loss 1.0000  0 tok/s  ETA ?");
}

}  // namespace
}  // namespace flopwise::train
