#include "fitting/report_paper_comparison.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "tests/fitting/evaluation_rows.h"

namespace flopwise::fitting {
namespace {

// Two architectures with paper-method fits L = coef * C^exp over C in
// [1e10, 1e13] (hgrn2) and [1e10, 1e12] (llama), each with `draws` bootstrap
// draws equal to its estimate.
FitReport TwoFits(double llama_coef, double hgrn2_coef, int draws) {
  FitReport fit;
  fit.bootstrap_resamples = draws;
  auto arch = [&](const char* name, double coef, double exp, double hi) {
    ArchFit f;
    f.arch = name;
    f.has_paper = true;
    f.compute_min = 1e10;
    f.compute_max = hi;
    f.coefs.fill(NAN);
    f.coefs[kLCoef] = coef;
    f.coefs[kLExp] = exp;
    f.coefs[kNoptExp] = 0.6;
    f.coefs[kDoptExp] = 0.4;
    if (draws > 0) f.intervals[kLExp] = {exp - 0.01, exp + 0.01, true};
    for (int i = 0; i < draws; ++i) f.draws.push_back(f.coefs);
    return f;
  };
  fit.archs.push_back(arch("hgrn2", hgrn2_coef, -0.0755, 1e13));
  fit.archs.push_back(arch("llama", llama_coef, -0.12, 1e12));
  return fit;
}

TEST(PaperComparison, ExponentsBesideTable3) {
  const std::string md = PaperComparisonMarkdown(TwoFits(20, 10, 10), nullptr);
  EXPECT_EQ(md.rfind("## This study beside the paper\n", 0), 0u) << md;
  EXPECT_NE(md.find("| hgrn2 | 1e+10 – 1e+13 | -0.0755 [-0.0855, -0.0655] | -0.0753 | 0.6 | "
                    "0.6427 | 0.4 | 0.45 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| llama | 1e+10 – 1e+12 | -0.12 [-0.13, -0.11] | -0.0798 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("inside this study's interval for hgrn2."), std::string::npos) << md;
  EXPECT_NE(md.find("outside it for llama."), std::string::npos) << md;
}

TEST(PaperComparison, LowestLossAtTheCommonComputeWithAVerdict) {
  // At C = 1e12 (llama's end): hgrn2 10 * 1e12^-0.0755 = 1.24, llama
  // 20 * 1e12^-0.12 = 0.73: llama lowest in every resample.
  std::string md = PaperComparisonMarkdown(TwoFits(20, 10, 10), nullptr);
  EXPECT_NE(md.find("at C = 1e+12 FLOPs"), std::string::npos) << md;
  EXPECT_NE(md.find("Lowest: llama (in 100% of 10 bootstrap resamples)"), std::string::npos) << md;
  EXPECT_NE(md.find("Verdict: **does not agree**: llama is lowest"), std::string::npos) << md;

  md = PaperComparisonMarkdown(TwoFits(40, 10, 10), nullptr);  // llama 1.46
  EXPECT_NE(md.find("Lowest: hgrn2 "), std::string::npos) << md;
  EXPECT_NE(md.find("Verdict: **agrees** with the paper: a linear model is lowest."),
            std::string::npos)
      << md;

  FitReport split = TwoFits(40, 10, 10);
  for (int i = 0; i < 5; ++i) split.archs[1].draws[i][kLCoef] = 1;  // llama lowest in half
  md = PaperComparisonMarkdown(split, nullptr);
  EXPECT_NE(md.find("(in 50% of 10 bootstrap resamples)"), std::string::npos) << md;
  EXPECT_NE(md.find("Verdict: **not shown**"), std::string::npos) << md;

  md = PaperComparisonMarkdown(TwoFits(40, 10, 0), nullptr);  // no bootstrap: no verdict
  EXPECT_NE(md.find("Verdict: **not shown**"), std::string::npos) << md;
  EXPECT_NE(md.find("no intervals to set the paper's values against"), std::string::npos) << md;
}

TEST(PaperComparison, SaysWhenTheStudyIsFarFromThePaperOrNotComparable) {
  FitReport fit = TwoFits(20, 10, 10);
  std::string md = PaperComparisonMarkdown(fit, nullptr);
  EXPECT_EQ(md.find("times fewer than the paper's smallest"), std::string::npos) << md;
  EnvelopePoint point;
  point.n_params = 2.5e5;
  fit.archs[0].paper.envelope.push_back(point);
  md = PaperComparisonMarkdown(fit, nullptr);
  EXPECT_NE(md.find("has 2.5e+05 parameters, 280 times fewer than the paper's smallest"),
            std::string::npos)
      << md;

  fit.archs[0].arch = "mamba";
  fit.archs[1].arch = "gpt";
  md = PaperComparisonMarkdown(fit, nullptr);
  EXPECT_NE(md.find("None of these architectures is in the paper's Table 3."), std::string::npos)
      << md;
  EXPECT_NE(md.find("Verdict: **not applicable**"), std::string::npos) << md;
}

TEST(PaperComparison, RetrievalAtChanceCannotBeShown) {
  const StudyEvaluation at_chance = HandMadeEvaluation(0.5, 0.55);
  std::string md = PaperComparisonMarkdown(TwoFits(20, 10, 10), &at_chance);
  EXPECT_NE(md.find("| llama | large | 0.55 | 0.55 |"), std::string::npos) << md;
  EXPECT_NE(md.find("Verdict: **cannot be shown by a study this size**"), std::string::npos) << md;

  const StudyEvaluation llama_retrieves = HandMadeEvaluation(0.5, 0.9);
  md = PaperComparisonMarkdown(TwoFits(20, 10, 10), &llama_retrieves);
  EXPECT_NE(md.find("Verdict: **agrees** with the paper: llama retrieves best"), std::string::npos)
      << md;

  const StudyEvaluation linear_retrieves = HandMadeEvaluation(0.9, 0.5);
  md = PaperComparisonMarkdown(TwoFits(20, 10, 10), &linear_retrieves);
  EXPECT_NE(md.find("Verdict: **does not agree**: hgrn2, a linear model, retrieves best"),
            std::string::npos)
      << md;

  md = PaperComparisonMarkdown(TwoFits(20, 10, 10), nullptr);
  EXPECT_NE(md.find("no needle evaluations, so nothing to compare"), std::string::npos) << md;
}

}  // namespace
}  // namespace flopwise::fitting
