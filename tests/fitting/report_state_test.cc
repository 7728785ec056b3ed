// FitReportToState / FitReportFromState: a stored fit reads back bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "fitting/fit.h"
#include "fitting/report.h"
#include "fitting/report_state.h"
#include "fitting/synthetic.h"

namespace flopwise::fitting {
namespace {

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof(double)) == 0; }

FitReport FitTwoArchs(unsigned methods) {
  std::vector<CheckpointRecord> records;
  for (auto [arch, e] : {std::pair{"llama", 1.9}, std::pair{"tnl", 1.7}}) {
    ChinchillaLaw law;
    law.e = e;
    ChinchillaCurveOptions data;
    data.arch = arch;
    data.model_sizes = {1e7, 3e7, 1e8, 3e8, 1e9};
    data.checkpoints_per_run = 10;
    const auto r = ChinchillaRecords(law, data);
    records.insert(records.end(), r.begin(), r.end());
  }
  FitOptions options;
  options.methods = methods;
  options.unit = ComputeUnit::kPfDays;
  options.bootstrap_resamples = 8;
  options.approach3.solves = 4;
  auto fit = FitScalingLaws(records, options);
  EXPECT_TRUE(fit.ok()) << fit.status();
  return fit.ok() ? *fit : FitReport{};
}

TEST(ReportState, EveryFieldReadsBackExactly) {
  const FitReport fit = FitTwoArchs(kAllMethods);
  ASSERT_EQ(fit.archs.size(), 2u);
  ASSERT_TRUE(fit.archs[0].has_paper && fit.archs[0].has_approach3);
  const std::string state = FitReportToState(fit);
  auto back = FitReportFromState(state);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(FitReportToState(*back), state);
  EXPECT_EQ(back->unit, fit.unit);
  EXPECT_EQ(back->methods, fit.methods);
  EXPECT_EQ(back->bootstrap_resamples, fit.bootstrap_resamples);
  for (size_t a = 0; a < fit.archs.size(); ++a) {
    const ArchFit& x = fit.archs[a];
    const ArchFit& y = back->archs[a];
    EXPECT_EQ(y.arch, x.arch);
    for (int c = 0; c < kCoefCount; ++c) {
      EXPECT_TRUE(SameBits(y.coefs[c], x.coefs[c])) << CoefName(static_cast<Coef>(c));
      EXPECT_EQ(y.intervals[c].valid, x.intervals[c].valid);
      EXPECT_TRUE(SameBits(y.intervals[c].lo, x.intervals[c].lo));
    }
    ASSERT_EQ(y.draws.size(), x.draws.size());
    for (size_t d = 0; d < x.draws.size(); ++d) {
      for (int c = 0; c < kCoefCount; ++c) EXPECT_TRUE(SameBits(y.draws[d][c], x.draws[d][c]));
    }
    ASSERT_EQ(y.paper.envelope.size(), x.paper.envelope.size());
    EXPECT_TRUE(SameBits(y.paper.envelope.back().tokens, x.paper.envelope.back().tokens));
    EXPECT_EQ(y.paper.envelope.back().run, x.paper.envelope.back().run);
    EXPECT_EQ(y.approach2.slices.size(), x.approach2.slices.size());
    EXPECT_TRUE(SameBits(y.approach3.huber_objective, x.approach3.huber_objective));
    EXPECT_EQ(y.holdout.size(), x.holdout.size());
    EXPECT_EQ(y.warnings, x.warnings);
  }
  // What people read is the same, recommendations included.
  EXPECT_EQ(FitReportJson(*back, nullptr), FitReportJson(fit, nullptr));
  auto rec = RecommendForBudget(fit, 100, {});
  auto rec_back = RecommendForBudget(*back, 100, {});
  ASSERT_TRUE(rec.ok() && rec_back.ok());
  EXPECT_EQ(FitReportText(*back, &*rec_back), FitReportText(fit, &*rec));
}

TEST(ReportState, NanAndInfinitiesSurvive) {
  FitReport fit = FitTwoArchs(kPaper);
  ASSERT_FALSE(fit.archs.empty());
  ASSERT_TRUE(std::isnan(fit.archs[0].coefs[kE]));  // approach 3 was not asked for
  fit.archs[0].compute_min = std::numeric_limits<double>::infinity();
  fit.archs[0].compute_max = -std::numeric_limits<double>::infinity();
  auto back = FitReportFromState(FitReportToState(fit));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(std::isnan(back->archs[0].coefs[kE]));
  EXPECT_EQ(back->archs[0].compute_min, std::numeric_limits<double>::infinity());
  EXPECT_EQ(back->archs[0].compute_max, -std::numeric_limits<double>::infinity());
  EXPECT_FALSE(back->archs[0].has_approach3);
}

TEST(ReportState, TheEnvelopeReadsBackAndOldStatesMeanThePapers) {
  FitReport fit = FitTwoArchs(kPaper);
  EXPECT_EQ(fit.envelope, EnvelopeKind::kPareto);
  fit.envelope = EnvelopeKind::kPaper;
  auto back = FitReportFromState(FitReportToState(fit));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->envelope, EnvelopeKind::kPaper);
  // A state written before the envelope was recorded: the paper's was used.
  fit.envelope = EnvelopeKind::kPareto;
  std::string state = FitReportToState(fit);
  const std::string key = "\"envelope\":\"pareto\",";
  ASSERT_NE(state.find(key), std::string::npos) << state.substr(0, 200);
  state.erase(state.find(key), key.size());
  auto old = FitReportFromState(state);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->envelope, EnvelopeKind::kPaper);
}

TEST(ReportState, RefusesWhatIsNotAState) {
  EXPECT_TRUE(absl::IsInvalidArgument(FitReportFromState("not json").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(FitReportFromState("{\"format\": 99}").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(FitReportFromState("{\"archs\": []}").status()));
  const std::string state = FitReportToState(FitTwoArchs(kPaper));
  std::string broken = state;
  broken.replace(broken.find("\"coefs\":["), 9, "\"coefs\":[\"x\",");
  const auto status = FitReportFromState(broken).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
}

}  // namespace
}  // namespace flopwise::fitting
