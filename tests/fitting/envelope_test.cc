#include "fitting/envelope.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fitting/synthetic.h"

namespace flopwise::fitting {
namespace {

// Run a: (C, loss) = (1, 4), (10, 3); run b: (2, 5), (10, 2.9), (100, 2.5).
std::vector<RunCurve> HandBuiltRuns() {
  RunCurve a{
      .run = "a", .n_params = 1e8, .compute = {1, 10}, .tokens = {1e9, 1e10}, .loss = {4, 3}};
  RunCurve b{.run = "b",
             .n_params = 1e9,
             .compute = {2, 10, 100},
             .tokens = {2e8, 1e9, 1e10},
             .loss = {5, 2.9, 2.5}};
  return {a, b};
}

TEST(Envelope, MinimumOverRunsInterpolatedInLogC) {
  const std::vector<RunCurve> runs = HandBuiltRuns();
  // Grid: 1, 10^0.5, 10, 10^1.5, 100.
  const std::vector<EnvelopePoint> env = ComputeEnvelope(runs, 5);
  ASSERT_EQ(env.size(), 5u);
  // C = 1: only a covers it.
  EXPECT_EQ(env[0].run, "a");
  EXPECT_DOUBLE_EQ(env[0].loss, 4);
  // C = 10^0.5: a interpolates to sqrt(4 * 3); b to 4.28 (above).
  EXPECT_EQ(env[1].run, "a");
  EXPECT_NEAR(env[1].loss, std::sqrt(12.0), 1e-12);
  EXPECT_NEAR(env[1].tokens, std::sqrt(1e9 * 1e10), 1e-3);
  EXPECT_DOUBLE_EQ(env[1].n_params, 1e8);
  // C = 10: both have a checkpoint; b is lower.
  EXPECT_EQ(env[2].run, "b");
  EXPECT_NEAR(env[2].loss, 2.9, 1e-12);
  // C = 10^1.5: only b, halfway in log between 2.9 and 2.5.
  EXPECT_EQ(env[3].run, "b");
  EXPECT_NEAR(env[3].loss, std::sqrt(2.9 * 2.5), 1e-12);
  EXPECT_EQ(env[4].run, "b");
  EXPECT_NEAR(env[4].loss, 2.5, 1e-12);
}

TEST(Envelope, SkipsGridValuesNoRunCovers) {
  RunCurve a{.run = "a", .n_params = 1e8, .compute = {1, 2}, .tokens = {1, 2}, .loss = {3, 2.9}};
  RunCurve b{
      .run = "b", .n_params = 1e9, .compute = {50, 100}, .tokens = {1, 2}, .loss = {2.6, 2.5}};
  const std::vector<RunCurve> runs = {a, b};
  const std::vector<EnvelopePoint> env = ComputeEnvelope(runs, 11);
  for (const EnvelopePoint& p : env) {
    EXPECT_TRUE(p.compute <= 2 + 1e-9 || p.compute >= 50 - 1e-9) << p.compute;
  }
  EXPECT_LT(env.size(), 11u);
}

TEST(PaperMethod, SingleModelSizeIsAnError) {
  std::vector<RunCurve> runs = HandBuiltRuns();
  runs[1].n_params = runs[0].n_params;
  auto fit = FitPaperMethod(runs, 10);
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("at least 2 model sizes"), std::string::npos)
      << fit.status();
}

// The paper's four laws (C in PF-days) are recovered from curves that touch
// the envelope at N_opt(C), D_opt(C). Tolerances: the exponent of L within
// 0.002, those of N_opt and D_opt within 0.02 (a finite set of sizes makes
// N_opt a step function), coefficients within 5%.
TEST(PaperMethod, RecoversThePublishedLaws) {
  for (const PaperLaws& law : PublishedPaperLaws()) {
    FitOptions options;
    options.unit = ComputeUnit::kPfDays;
    options.methods = kPaper;
    auto report = FitScalingLaws(PaperLawRecords(law, PaperCurveOptions{}), options);
    ASSERT_TRUE(report.ok()) << report.status();
    const ArchFit& f = report->archs.at(0);
    ASSERT_TRUE(f.has_paper) << law.arch;
    EXPECT_NEAR(f.paper.loss.exponent, law.loss_exp, 2e-3) << law.arch;
    EXPECT_NEAR(f.paper.n_opt.exponent, law.nopt_exp, 2e-2) << law.arch;
    EXPECT_NEAR(f.paper.d_opt.exponent, law.dopt_exp, 2e-2) << law.arch;
    EXPECT_NEAR(f.paper.loss.coef / law.loss_coef, 1, 0.05) << law.arch;
    EXPECT_NEAR(f.paper.n_opt.coef / law.nopt_coef, 1, 0.05) << law.arch;
    EXPECT_NEAR(f.paper.d_opt.coef / law.dopt_coef, 1, 0.05) << law.arch;
    EXPECT_GT(f.paper.loss.r2_log, 0.99) << law.arch;
  }
}

TEST(PaperMethod, UnitChangesCoefficientsConsistently) {
  const PaperLaws law = PublishedPaperLaws()[0];
  const auto records = PaperLawRecords(law, PaperCurveOptions{});
  FitOptions pf, flops;
  pf.unit = ComputeUnit::kPfDays;
  pf.methods = flops.methods = kPaper;
  auto a = FitScalingLaws(records, pf);
  auto b = FitScalingLaws(records, flops);
  ASSERT_TRUE(a.ok() && b.ok());
  const PowerLawFit& la = a->archs[0].paper.loss;
  const PowerLawFit& lb = b->archs[0].paper.loss;
  EXPECT_NEAR(la.exponent, lb.exponent, 1e-9);
  // coef_flops = coef_pfdays * (8.64e19)^(-exponent)
  EXPECT_NEAR(lb.coef / (la.coef * std::pow(kFlopsPerPfDay, -la.exponent)), 1, 1e-8);
}

}  // namespace
}  // namespace flopwise::fitting
