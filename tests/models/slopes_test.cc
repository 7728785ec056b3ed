// Head slopes and TNL's layer factor against docs/model-contract.md §3.2 / §9.1.
#include "models/slopes.h"

#include <gtest/gtest.h>

namespace flopwise::models {
namespace {

TEST(Slopes, MatchTheSpecValues) {
  EXPECT_EQ(HeadSlopes(4), (std::vector<double>{0.25, 0.0625, 0.015625, 0.00390625}));
  const std::vector<double> six = HeadSlopes(6);
  const std::vector<double> expected_six = {0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125};
  ASSERT_EQ(six.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(six[i], expected_six[i]) << i;
  const std::vector<double> twelve = HeadSlopes(12);
  EXPECT_DOUBLE_EQ(twelve[0], 0.5);
  EXPECT_DOUBLE_EQ(twelve[7], 1.0 / 256);
  EXPECT_NEAR(twelve[8], 0.7071, 1e-4);
  EXPECT_NEAR(twelve[11], 0.0884, 1e-4);
  EXPECT_NEAR(HeadSlopes(32)[0], 0.8409, 1e-4);
}

TEST(Slopes, LayerFactorKeepsItsOffset) {
  const double expected[] = {1.00001, 0.80001, 0.60001, 0.40001, 0.20001, 0.00001};
  for (int l = 0; l < 6; ++l) EXPECT_NEAR(LayerDecayFactor(l, 6), expected[l], 1e-12) << l;
  EXPECT_EQ(LayerDecayFactor(0, 1), 1.0);
}

}  // namespace
}  // namespace flopwise::models
