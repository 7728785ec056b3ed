#include "worker/eval/niah_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace flopwise::eval {
namespace {

// Two lengths × three depths; scores chosen so every metric has a hand value.
NiahGrid HandGrid() {
  NiahGrid g;
  g.lengths = {100, 200};
  g.depths = {0.0, 0.5, 1.0};
  g.scores = {{10, 5, 0}, {10, 10, 10}};
  return g;
}

TEST(NiahMetricsTest, AccuracyAtLengthIsTheColumnMean) {
  const NiahGrid g = HandGrid();
  EXPECT_DOUBLE_EQ(AccuracyAtLength(g, 0), 0.5);
  EXPECT_DOUBLE_EQ(AccuracyAtLength(g, 1), 1.0);
}

TEST(NiahMetricsTest, AccuracyUpToLengthAveragesEveryCellUpToIt) {
  const NiahGrid g = HandGrid();
  EXPECT_DOUBLE_EQ(AccuracyUpToLength(g, 100), 0.5);
  EXPECT_DOUBLE_EQ(AccuracyUpToLength(g, 150), 0.5);
  EXPECT_DOUBLE_EQ(AccuracyUpToLength(g, 200), 0.75);
  EXPECT_DOUBLE_EQ(AccuracyUpToLength(g, 50), 0.0);
}

TEST(NiahMetricsTest, WeightedAverageUsesTheOuterProductOfGeometricWeights) {
  const NiahGrid g = HandGrid();
  // α_c = 2, α_d = 3: length weights 1, 2; depth weights 1, 3, 9.
  const double numerator = 1 * (1 * 1.0 + 3 * 0.5 + 9 * 0.0) + 2 * (1 + 3 + 9) * 1.0;
  const double denominator = (1 + 2) * (1 + 3 + 9);
  EXPECT_DOUBLE_EQ(WeightedAverageAccuracy(g, 2.0, 3.0), numerator / denominator);
  // Equal weights: the plain mean.
  EXPECT_DOUBLE_EQ(WeightedAverageAccuracy(g, 1.0, 1.0), 0.75);
}

TEST(NiahMetricsTest, SegmentPenaltyCases) {
  EXPECT_DOUBLE_EQ(SegmentPenalty({false, false, false}), 0.0);                // no success
  EXPECT_DOUBLE_EQ(SegmentPenalty({true, true, true}), 1.0);                   // all success
  EXPECT_DOUBLE_EQ(SegmentPenalty({true, true, false}), std::pow(2.0, -0.5));  // n = 2
  EXPECT_DOUBLE_EQ(SegmentPenalty({true, false, true}), 0.5);                  // n = 3
  // Alternating over five depths: n = 5 segments, 2^(-2).
  EXPECT_DOUBLE_EQ(SegmentPenalty({true, false, true, false, true}), 0.25);
  EXPECT_DOUBLE_EQ(SegmentPenalty({false, true, false, true, false, true}), std::pow(2.0, -2.5));
}

TEST(NiahMetricsTest, LongestSuccessRun) {
  EXPECT_EQ(LongestSuccessRun({}), 0);
  EXPECT_EQ(LongestSuccessRun({false, false}), 0);
  EXPECT_EQ(LongestSuccessRun({true, false, true, true, false}), 2);
  EXPECT_EQ(LongestSuccessRun({true, true, true}), 3);
}

TEST(NiahMetricsTest, NiahScoreCombinesRunsAndPenaltiesWithLengthWeights) {
  NiahGrid g;
  g.lengths = {100, 200, 300};
  g.depths = {0.0, 0.25, 0.5, 0.75};
  g.scores = {
      {0, 0, 0, 0},      // no success: 0
      {10, 10, 10, 10},  // all success: 1
      {10, 0, 10, 10},   // run 2 of 4, three segments: 0.5 · 0.5
  };
  // α_c = 2: weights 1, 2, 4.
  EXPECT_DOUBLE_EQ(NiahScore(g, 10.0, 2.0), (1 * 0.0 + 2 * 1.0 + 4 * 0.25) / 7.0);
  // The threshold decides success: at 0 every cell succeeds.
  EXPECT_DOUBLE_EQ(NiahScore(g, 0.0, 2.0), 1.0);
}

TEST(NiahMetricsTest, AllOrNothingGrids) {
  NiahGrid g;
  g.lengths = {10, 20};
  g.depths = {0.0, 1.0};
  g.scores = {{10, 10}, {10, 10}};
  EXPECT_DOUBLE_EQ(WeightedAverageAccuracy(g, 1.5, 1.2), 1.0);
  EXPECT_DOUBLE_EQ(NiahScore(g, 10.0, 1.5), 1.0);
  g.scores = {{0, 0}, {0, 0}};
  EXPECT_DOUBLE_EQ(WeightedAverageAccuracy(g, 1.5, 1.2), 0.0);
  EXPECT_DOUBLE_EQ(NiahScore(g, 10.0, 1.5), 0.0);
}

}  // namespace
}  // namespace flopwise::eval
