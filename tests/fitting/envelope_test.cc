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

// Run "small" ends at C = 10 with loss 3; run "large" covers 1..100 and, at
// C = 10, is still at 10^0.5 = 3.16: the per-C minimum jumps back up there.
std::vector<RunCurve> SawtoothRuns() {
  RunCurve small{
      .run = "small", .n_params = 1e7, .compute = {1, 10}, .tokens = {1e8, 1e9}, .loss = {4, 3}};
  RunCurve large{
      .run = "large", .n_params = 1e9, .compute = {1, 100}, .tokens = {1e6, 1e8}, .loss = {10, 1}};
  return {small, large};
}

bool NonIncreasing(const std::vector<EnvelopePoint>& env) {
  for (size_t i = 1; i < env.size(); ++i) {
    if (env[i].loss > env[i - 1].loss) return false;
  }
  return true;
}

TEST(Envelope, PaperEnvelopeOfASawtoothRises) {
  const std::vector<EnvelopePoint> env = ComputeEnvelope(SawtoothRuns(), 21, EnvelopeKind::kPaper);
  EXPECT_EQ(env.size(), 21u);
  EXPECT_FALSE(NonIncreasing(env));
}

TEST(Envelope, ParetoEnvelopeOfASawtoothIsNonIncreasingAndNonDominated) {
  const std::vector<RunCurve> runs = SawtoothRuns();
  const std::vector<EnvelopePoint> paper = ComputeEnvelope(runs, 21, EnvelopeKind::kPaper);
  const std::vector<EnvelopePoint> pareto = ComputeEnvelope(runs, 21);  // the default
  ASSERT_GE(pareto.size(), 2u);
  EXPECT_LT(pareto.size(), paper.size());
  EXPECT_TRUE(NonIncreasing(pareto));
  // Every frontier point is a point of the per-C minimum that no point of
  // lower compute beats.
  for (const EnvelopePoint& p : pareto) {
    bool found = false;
    for (const EnvelopePoint& q : paper) {
      found |= q.compute == p.compute && q.loss == p.loss && q.run == p.run;
      if (q.compute < p.compute) {
        EXPECT_GE(q.loss, p.loss) << q.compute << " beats " << p.compute;
      }
    }
    EXPECT_TRUE(found) << p.compute;
  }
  // Just past C = 10 only "large" runs, above the 3 "small" reached: dropped.
  for (const EnvelopePoint& p : pareto) {
    if (p.compute > 10 + 1e-9) {
      EXPECT_LE(p.loss, 3) << p.compute;
    }
  }
  EXPECT_EQ(pareto.back().run, "large");
  EXPECT_NEAR(pareto.back().loss, 1, 1e-12);
}

EnvelopePoint At(double compute, double loss) {
  return {.compute = compute, .loss = loss, .run = "r", .n_params = 1, .tokens = 1};
}

TEST(Envelope, ParetoFrontierKeepsTiesAndDropsDominatedPoints) {
  const std::vector<EnvelopePoint> frontier = ParetoFrontier(
      {At(1, 3), At(2, 3), At(3, 2.5), At(4, 2.7), At(5, 2.5), At(6, 2.6), At(7, 2)});
  std::vector<double> computes;
  for (const EnvelopePoint& p : frontier) computes.push_back(p.compute);
  EXPECT_EQ(computes, (std::vector<double>{1, 2, 3, 5, 7}));
  EXPECT_TRUE(ParetoFrontier({}).empty());
}

TEST(Envelope, ParetoEnvelopeOfASingleRunDropsItsBumps) {
  const RunCurve run{.run = "only",
                     .n_params = 1e8,
                     .compute = {1, 10, 100, 1000},
                     .tokens = {1, 10, 100, 1000},
                     .loss = {4, 3, 3.2, 2.8}};
  const std::vector<RunCurve> runs = {run};
  const std::vector<EnvelopePoint> pareto = ComputeEnvelope(runs, 4);
  std::vector<double> losses;
  for (const EnvelopePoint& p : pareto) losses.push_back(p.loss);
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_NEAR(losses[0], 4, 1e-12);
  EXPECT_NEAR(losses[1], 3, 1e-12);
  EXPECT_NEAR(losses[2], 2.8, 1e-12);
  EXPECT_EQ(ComputeEnvelope(runs, 4, EnvelopeKind::kPaper).size(), 4u);
}

// The same records as SawtoothRuns, as checkpoints.
std::vector<CheckpointRecord> SawtoothRecords() {
  std::vector<CheckpointRecord> records;
  for (const RunCurve& r : SawtoothRuns()) {
    for (size_t i = 0; i < r.compute.size(); ++i) {
      records.push_back({.arch = "llama",
                         .run = r.run,
                         .n_params = r.n_params,
                         .tokens = r.tokens[i],
                         .flops = r.compute[i],
                         .loss = r.loss[i]});
    }
  }
  return records;
}

TEST(PaperMethod, ParetoIsTheDefaultAndPaperGivesThePerComputeMinimum) {
  FitOptions options;
  options.methods = kPaper;
  options.envelope_grid_points = 21;
  EXPECT_EQ(options.envelope, EnvelopeKind::kPareto);
  auto pareto = FitScalingLaws(SawtoothRecords(), options);
  options.envelope = EnvelopeKind::kPaper;
  auto paper = FitScalingLaws(SawtoothRecords(), options);
  ASSERT_TRUE(pareto.ok() && paper.ok()) << pareto.status() << paper.status();
  EXPECT_EQ(pareto->envelope, EnvelopeKind::kPareto);
  EXPECT_EQ(paper->envelope, EnvelopeKind::kPaper);
  const PaperFit& a = pareto->archs[0].paper;
  const PaperFit& b = paper->archs[0].paper;
  // kPaper reproduces ComputeEnvelope's per-C minimum exactly (the old default).
  const std::vector<EnvelopePoint> old = ComputeEnvelope(SawtoothRuns(), 21, EnvelopeKind::kPaper);
  ASSERT_EQ(b.envelope.size(), old.size());
  for (size_t i = 0; i < old.size(); ++i) EXPECT_EQ(b.envelope[i].loss, old[i].loss) << i;
  EXPECT_TRUE(NonIncreasing(a.envelope));
  EXPECT_LT(a.envelope.size(), b.envelope.size());
  EXPECT_NE(a.loss.exponent, b.loss.exponent);
}

TEST(PaperMethod, EnvelopeKindNamesRoundTrip) {
  for (EnvelopeKind kind : {EnvelopeKind::kPareto, EnvelopeKind::kPaper}) {
    auto parsed = ParseEnvelopeKind(EnvelopeKindKey(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_FALSE(ParseEnvelopeKind("sawtooth").ok());
}

}  // namespace
}  // namespace flopwise::fitting
