// Bootstrap over runs: intervals exist, cover the truth at about the nominal
// rate over repeated data sets, and resample runs (not points).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "fitting/fit.h"
#include "fitting/synthetic.h"

namespace flopwise::fitting {
namespace {

// 40 independent noisy data sets from Chinchilla's law; 90% intervals from 30
// resamples each. The band accepted for the coverage of alpha and beta is
// wide (60%-100%): 40 seeds give a binomial sd of ~5%, and a bootstrap over
// 8 runs is known to run a little narrow.
TEST(Bootstrap, IntervalsCoverTheTruthAtAboutNominalRate) {
  const ChinchillaLaw law;
  int covered_alpha = 0, covered_beta = 0, covered_e = 0;
  const int seeds = 40;
  for (int seed = 1; seed <= seeds; ++seed) {
    ChinchillaCurveOptions data;
    data.seed = 100 + seed;
    data.model_sizes = {1e7, 3e7, 1e8, 3e8, 1e9, 3e9, 1e10, 3e10};
    data.checkpoints_per_run = 8;
    data.loss_noise = 0.01;
    FitOptions options;
    options.methods = kApproach3;
    options.bootstrap_resamples = 30;
    options.interval_level = 0.9;
    options.seed = seed;
    options.approach3.solves = 4;
    options.approach3.bootstrap_solves = 1;
    auto report = FitScalingLaws(ChinchillaRecords(law, data), options);
    ASSERT_TRUE(report.ok()) << report.status();
    const ArchFit& f = report->archs[0];
    ASSERT_EQ(f.draws.size(), 30u);
    auto covers = [&](Coef c, double truth) {
      EXPECT_TRUE(f.intervals[c].valid) << CoefName(c);
      EXPECT_LT(f.intervals[c].lo, f.intervals[c].hi) << CoefName(c);
      return f.intervals[c].lo <= truth && truth <= f.intervals[c].hi;
    };
    covered_alpha += covers(kAlpha, law.alpha);
    covered_beta += covers(kBeta, law.beta);
    covered_e += covers(kE, law.e);
  }
  std::printf("coverage of 90%% intervals over %d seeds: alpha %d, beta %d, E %d\n", seeds,
              covered_alpha, covered_beta, covered_e);
  EXPECT_GE(covered_alpha, 0.6 * seeds) << covered_alpha;
  EXPECT_GE(covered_beta, 0.6 * seeds) << covered_beta;
  EXPECT_GE(covered_e, 0.6 * seeds) << covered_e;
  // Not vacuous: intervals that always covered would be suspiciously wide.
  EXPECT_LT(covered_alpha + covered_beta + covered_e, 3 * seeds);
}

TEST(Bootstrap, PaperMethodIntervalsContainTheEstimateAndAreDeterministic) {
  PaperCurveOptions data;
  data.loss_noise = 0.01;
  const auto records = PaperLawRecords(PublishedPaperLaws()[1], data);
  FitOptions options;
  options.unit = ComputeUnit::kPfDays;
  options.methods = kPaper;
  options.bootstrap_resamples = 50;
  auto a = FitScalingLaws(records, options);
  auto b = FitScalingLaws(records, options);
  ASSERT_TRUE(a.ok() && b.ok());
  const ArchFit& f = a->archs[0];
  for (Coef c : {kLCoef, kLExp, kNoptCoef, kNoptExp, kDoptCoef, kDoptExp}) {
    ASSERT_TRUE(f.intervals[c].valid) << CoefName(c);
    EXPECT_LE(f.intervals[c].lo, f.intervals[c].hi) << CoefName(c);
    EXPECT_EQ(f.intervals[c].lo, b->archs[0].intervals[c].lo) << CoefName(c);
  }
  EXPECT_LT(f.intervals[kLExp].lo, f.coefs[kLExp]);
  EXPECT_GT(f.intervals[kLExp].hi, f.coefs[kLExp]);
  // Methods not requested have no interval.
  EXPECT_FALSE(f.intervals[kAlpha].valid);
}

}  // namespace
}  // namespace flopwise::fitting
