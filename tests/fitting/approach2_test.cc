#include <gtest/gtest.h>

#include "fitting/curves.h"
#include "fitting/fit.h"
#include "fitting/isoflop.h"
#include "fitting/synthetic.h"

namespace flopwise::fitting {
namespace {

// Under C = 6ND, L(N,D) = E + A/N^a + B/D^b has N_opt ~ C^(b/(a+b)) and
// D_opt ~ C^(a/(a+b)). IsoFLOP parabolas on slices of noise-free curves
// recover the exponents within 0.02.
TEST(Approach2, RecoversChinchillaExponents) {
  ChinchillaCurveOptions data;
  data.loss_noise = 0;
  data.model_sizes = {1e7, 2e7, 5e7, 1e8, 2e8, 5e8, 1e9, 2e9, 5e9};
  data.checkpoints_per_run = 30;
  data.tokens_lo = 1e8;
  data.tokens_hi = 1e12;
  FitOptions options;
  options.methods = kApproach2;
  auto report = FitScalingLaws(ChinchillaRecords(ChinchillaLaw{}, data), options);
  ASSERT_TRUE(report.ok()) << report.status();
  const ArchFit& f = report->archs.at(0);
  ASSERT_TRUE(f.has_approach2) << (f.errors.empty() ? "" : f.errors[0]);
  const ChinchillaLaw law;
  EXPECT_GE(f.approach2.slices.size(), 3u);
  EXPECT_NEAR(f.approach2.n_opt.exponent, law.beta / (law.alpha + law.beta), 0.02);
  EXPECT_NEAR(f.approach2.d_opt.exponent, law.alpha / (law.alpha + law.beta), 0.02);
  // C = 6 N D holds at every slice minimum (D read from the runs' tokens).
  for (const IsoFlopSlice& s : f.approach2.slices) {
    EXPECT_NEAR(6 * s.n_opt * s.d_opt / s.compute, 1, 1e-6);
  }
}

TEST(Approach2, SaysWhenTheDataHasNoIsoFlopSlices) {
  // Two model sizes: no compute level has the 3 sizes a parabola needs.
  ChinchillaCurveOptions data;
  data.model_sizes = {1e8, 1e9};
  FitOptions options;
  options.methods = kApproach2;
  auto report = FitScalingLaws(ChinchillaRecords(ChinchillaLaw{}, data), options);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("0 usable iso-FLOP slices"), std::string::npos)
      << report.status();
  EXPECT_NE(report.status().message().find("fewer than 3 model sizes"), std::string::npos)
      << report.status();
}

}  // namespace
}  // namespace flopwise::fitting
