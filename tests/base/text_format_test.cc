// The shared number, duration and progress-bar formatters.
#include "base/text_format.h"

#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace flopwise {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(ShortCount, PlainBelowOneThousandThenTwoDecimalsAndASuffix) {
  EXPECT_EQ(ShortCount(0), "0");
  EXPECT_EQ(ShortCount(512), "512");
  EXPECT_EQ(ShortCount(999.4), "999");
  EXPECT_EQ(ShortCount(1234), "1.23k");
  EXPECT_EQ(ShortCount(12345), "12.35k");
  EXPECT_EQ(ShortCount(4.1e6), "4.10M");
  EXPECT_EQ(ShortCount(2.5e9), "2.50G");
  EXPECT_EQ(ShortCount(7e12), "7.00T");
  EXPECT_EQ(ShortCount(-1234), "-1.23k");
}

TEST(ShortCount, AValueThatWouldPrintAsOneThousandRollsOverToTheNextUnit) {
  EXPECT_EQ(ShortCount(999.5), "1.00k");
  EXPECT_EQ(ShortCount(999994), "999.99k");
  EXPECT_EQ(ShortCount(999999), "1.00M");
  EXPECT_EQ(ShortCount(999999999), "1.00G");
  EXPECT_EQ(ShortCount(999999999999), "1.00T");
  EXPECT_EQ(ShortCount(-999999), "-1.00M");
}

TEST(ShortCount, ScientificFromOneThousandTeraOn) {
  EXPECT_EQ(ShortCount(999.99e12), "999.99T");
  EXPECT_EQ(ShortCount(999.999e12), "1.00e+15");
  EXPECT_EQ(ShortCount(3e21), "3.00e+21");
  EXPECT_EQ(ShortCount(kInf), "inf");
  EXPECT_EQ(ShortCount(kNaN), "nan");
}

TEST(ShortDuration, TheTwoLargestUnitsRoundedToTheSecond) {
  EXPECT_EQ(ShortDuration(0), "0s");
  EXPECT_EQ(ShortDuration(59.4), "59s");
  EXPECT_EQ(ShortDuration(59.6), "1m00s");
  EXPECT_EQ(ShortDuration(185), "3m05s");
  EXPECT_EQ(ShortDuration(3599.6), "1h00m");
  EXPECT_EQ(ShortDuration(2 * 3600 + 7 * 60 + 30), "2h07m");
  EXPECT_EQ(ShortDuration(3 * 86400 + 4 * 3600 + 59 * 60), "3d04h");
}

TEST(ShortDuration, UnknownTimesPrintAQuestionMark) {
  EXPECT_EQ(ShortDuration(-1), "?");
  EXPECT_EQ(ShortDuration(kInf), "?");
  EXPECT_EQ(ShortDuration(kNaN), "?");
}

TEST(ProgressBar, FillsWholeCellsAndRoundsThePercentDown) {
  EXPECT_EQ(ProgressBar(0, 4), "[....]   0%");
  EXPECT_EQ(ProgressBar(0.58, 10), "[#####.....]  58%");
  EXPECT_EQ(ProgressBar(0.29, 100), "[" + std::string(29, '#') + std::string(71, '.') + "]  29%");
  EXPECT_EQ(ProgressBar(0.999, 4), "[###.]  99%");
  EXPECT_EQ(ProgressBar(1, 4), "[####] 100%");
}

TEST(ProgressBar, ClampsFractionsOutsideZeroToOne) {
  EXPECT_EQ(ProgressBar(-0.5, 4), "[....]   0%");
  EXPECT_EQ(ProgressBar(kNaN, 4), "[....]   0%");
  EXPECT_EQ(ProgressBar(2, 4), "[####] 100%");
}

}  // namespace
}  // namespace flopwise
