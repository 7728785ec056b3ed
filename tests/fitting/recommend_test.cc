#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "fitting/fit.h"
#include "fitting/records.h"
#include "fitting/report.h"
#include "tests/fitting/two_archs.h"

namespace flopwise::fitting {
namespace {

FitOptions Options() {
  FitOptions options;
  options.bootstrap_resamples = 20;
  options.approach3.solves = 8;
  return options;
}

TEST(Recommend, EvaluatesTheLawsAtTheBudgetAndRoundsToTheNearestShape) {
  auto fit = FitScalingLaws(TwoArchs(), Options());
  ASSERT_TRUE(fit.ok()) << fit.status();
  const std::vector<ShapeOption> shapes = {{"good", "small", 12, 768, 6, 8.5e7, 0},
                                           {"good", "large", 24, 2048, 16, 1.2e9, 0}};
  const double budget = 1e20;  // FLOPs
  auto rec = RecommendForBudget(*fit, budget, shapes);
  ASSERT_TRUE(rec.ok()) << rec.status();
  const ArchFit& good = fit->archs[1];
  ASSERT_EQ(good.arch, "good");
  const ArchRecommendation& r = rec->archs[1];
  ASSERT_EQ(r.arch, "good");
  for (const MethodRecommendation& m : r.methods) {
    if (m.method == "paper") {
      EXPECT_NEAR(m.n_opt.value / (good.coefs[kNoptCoef] * std::pow(budget, good.coefs[kNoptExp])),
                  1, 1e-12);
      EXPECT_NEAR(m.loss.value / (good.coefs[kLCoef] * std::pow(budget, good.coefs[kLExp])), 1,
                  1e-12);
    }
    if (m.method == "approach3") {
      EXPECT_NEAR(6 * m.n_opt.value * m.d_opt.value / budget, 1, 1e-9);
    }
    ASSERT_TRUE(m.n_opt.has_interval) << m.method;
    EXPECT_LE(m.n_opt.lo, m.n_opt.hi);
    ASSERT_TRUE(m.has_shape) << m.method;
    const double to_small = std::abs(std::log(8.5e7 / m.n_opt.value));
    const double to_large = std::abs(std::log(1.2e9 / m.n_opt.value));
    EXPECT_EQ(m.shape.name, to_small < to_large ? "small" : "large") << m.method;
    EXPECT_NEAR(m.shape_tokens, budget / (6 * m.shape.n_params), 1e-6 * m.shape_tokens);
  }
  // No shape of arch "bad" was given.
  for (const MethodRecommendation& m : rec->archs[0].methods) EXPECT_FALSE(m.has_shape);
}

TEST(Recommend, NamesTheBestArchitectureAndHowSureItIs) {
  auto fit = FitScalingLaws(TwoArchs(), Options());
  ASSERT_TRUE(fit.ok()) << fit.status();
  auto rec = RecommendForBudget(*fit, 1e21, {});
  ASSERT_TRUE(rec.ok());
  ASSERT_EQ(rec->best.size(), 3u);
  for (const BestArch& b : rec->best) {
    EXPECT_EQ(b.arch, "good") << b.method;
    EXPECT_EQ(b.resamples, 20) << b.method;
    // Approach 2 on a resample with few distinct sizes has few slices and
    // extrapolates loosely, so it may lose an occasional resample.
    if (b.method == "approach2") {
      EXPECT_GE(b.win_fraction, 0.75);
    } else {
      EXPECT_DOUBLE_EQ(b.win_fraction, 1.0) << b.method;
    }
  }
}

TEST(Recommend, WarnsHowFarOutsideTheDataABudgetIs) {
  auto fit = FitScalingLaws(TwoArchs(), FitOptions{});
  ASSERT_TRUE(fit.ok());
  const double budget = fit->archs[0].compute_max * 1000;
  auto rec = RecommendForBudget(*fit, budget, {});
  ASSERT_TRUE(rec.ok());
  EXPECT_NEAR(rec->archs[0].extrapolation_decades, 3, 1e-9);
  ASSERT_FALSE(rec->archs[0].warnings.empty());
  EXPECT_NE(rec->archs[0].warnings[0].find("3.00 decades above"), std::string::npos)
      << rec->archs[0].warnings[0];
  auto below = RecommendForBudget(*fit, fit->archs[0].compute_min / 100, {});
  ASSERT_TRUE(below.ok());
  EXPECT_NE(below->archs[0].warnings[0].find("2.00 decades below"), std::string::npos);
  EXPECT_FALSE(RecommendForBudget(*fit, -1, {}).ok());
  EXPECT_FALSE(RecommendForBudget(*fit, NAN, {}).ok());
}

TEST(Recommend, RefusesABudgetFarOutsideTheData) {
  auto fit = FitScalingLaws(TwoArchs(), FitOptions{});
  ASSERT_TRUE(fit.ok());
  double hi = 0;
  for (const ArchFit& f : fit->archs) hi = std::max(hi, f.compute_max);
  EXPECT_TRUE(CheckBudgetInRange(*fit, hi).ok());
  EXPECT_NEAR(ExtrapolationDecades(*fit, hi * 10), 1, 1e-9);
  EXPECT_TRUE(CheckBudgetInRange(*fit, hi * std::pow(10, kMaxExtrapolationDecades)).ok());
  const absl::Status far = CheckBudgetInRange(*fit, hi * 1e9);
  EXPECT_TRUE(absl::IsOutOfRange(far)) << far;
  EXPECT_NE(far.message().find("9.0 decades outside"), std::string::npos) << far;
  for (double bad : {0.0, -1.0, double(NAN), double(INFINITY)}) {
    EXPECT_TRUE(absl::IsInvalidArgument(CheckBudgetInRange(*fit, bad))) << bad;
    EXPECT_FALSE(RecommendForBudget(*fit, bad, {}).ok()) << bad;
  }
}

TEST(Recommend, DecadesStayFiniteForTinyBudgets) {
  auto fit = FitScalingLaws(TwoArchs(), FitOptions{});
  ASSERT_TRUE(fit.ok());
  // compute_min / 1e-310 overflows a double; the decades must not.
  const double tiny = 1e-310;
  EXPECT_TRUE(std::isfinite(ExtrapolationDecades(*fit, tiny)));
  auto rec = RecommendForBudget(*fit, tiny, {});
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_TRUE(std::isfinite(rec->archs[0].extrapolation_decades));
  for (const std::string& w : rec->archs[0].warnings) {
    EXPECT_EQ(w.find("inf"), std::string::npos) << w;
  }
}

TEST(Recommend, SaysWhenMethodsDisagree) {
  auto fit = FitScalingLaws(TwoArchs(), FitOptions{});
  ASSERT_TRUE(fit.ok());
  ArchFit& f = fit->archs[0];
  ASSERT_TRUE(f.has_paper && f.has_approach2 && f.has_approach3);
  // Every method's N_opt(C) made the paper's: they agree exactly.
  f.coefs[kA2NoptCoef] = f.coefs[kA3NoptCoef] = f.coefs[kNoptCoef];
  f.coefs[kA2NoptExp] = f.coefs[kA3NoptExp] = f.coefs[kNoptExp];
  auto agree = RecommendForBudget(*fit, f.compute_max, {});
  ASSERT_TRUE(agree.ok());
  EXPECT_NEAR(agree->archs[0].n_opt_spread, 1, 1e-12);
  for (const std::string& w : agree->archs[0].warnings) {
    EXPECT_EQ(w.find("disagree"), std::string::npos) << w;
  }
  // Approach 3's N_opt 5x the others'.
  f.coefs[kA3NoptCoef] *= 5;
  auto rec = RecommendForBudget(*fit, f.compute_max, {});
  ASSERT_TRUE(rec.ok());
  const ArchRecommendation& r = rec->archs[0];
  EXPECT_NEAR(r.n_opt_spread, 5, 1e-9);
  bool warned = false;
  for (const std::string& w : r.warnings) warned |= w.find("methods disagree") != std::string::npos;
  EXPECT_TRUE(warned);
  const std::string answer = OptimalAnswerText(*fit, *rec);
  EXPECT_NE(answer.find("!! METHODS DISAGREE (" + r.arch + ")"), std::string::npos) << answer;
}

TEST(Recommend, AnswerComesFirstAndExtrapolationIsLoud) {
  auto fit = FitScalingLaws(TwoArchs(), FitOptions{});
  ASSERT_TRUE(fit.ok());
  auto inside = RecommendForBudget(*fit, fit->archs[0].compute_max, {});
  auto outside = RecommendForBudget(*fit, fit->archs[0].compute_max * 100, {});
  ASSERT_TRUE(inside.ok() && outside.ok());
  const std::string in_text = OptimalAnswerText(*fit, *inside);
  EXPECT_EQ(in_text.rfind("compute-optimal at C = ", 0), 0u) << in_text;
  EXPECT_NE(in_text.find("N_opt"), std::string::npos);
  EXPECT_EQ(in_text.find("EXTRAPOLATION"), std::string::npos) << in_text;
  const std::string out_text = OptimalAnswerText(*fit, *outside);
  EXPECT_NE(out_text.find("!! EXTRAPOLATION (bad): the budget is 2.0 decades outside"),
            std::string::npos)
      << out_text;
}

TEST(Recommend, AWinnerOfFewerThanSixtyPercentIsNoClearWinner) {
  BestArch b{.method = "paper", .arch = "good", .win_fraction = 0.55, .resamples = 100};
  EXPECT_FALSE(IsClearWinner(b));
  b.win_fraction = 0.6;
  EXPECT_TRUE(IsClearWinner(b));
  b.resamples = 0;
  EXPECT_FALSE(IsClearWinner(b));
  const FitReport fit;
  BudgetReport budget;
  budget.budget = 1;
  budget.best = {{.method = "paper", .arch = "good", .win_fraction = 0.55, .resamples = 100}};
  const std::string text = OptimalAnswerText(fit, budget);
  EXPECT_NE(text.find("no clear winner (good lowest in only 55% of 100"), std::string::npos)
      << text;
}

TEST(Report, JsonHasThePerArchitectureKeysWithIntervals) {
  auto records = ReadRecordsFile("tests/fitting/data/paper_llama_tnl.csv");
  ASSERT_TRUE(records.ok()) << records.status();
  FitOptions options;
  options.unit = ComputeUnit::kPfDays;
  options.bootstrap_resamples = 10;
  options.approach3.solves = 4;
  auto fit = FitScalingLaws(*records, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  auto rec = RecommendForBudget(*fit, 100, {});
  ASSERT_TRUE(rec.ok());
  const nlohmann::json j = nlohmann::json::parse(FitReportJson(*fit, &*rec));
  EXPECT_EQ(j["unit"], "pfdays");
  EXPECT_EQ(j["flops_convention"], "formula");
  EXPECT_EQ(j["envelope"], "pareto");
  ASSERT_EQ(j["archs"].size(), 2u);
  for (const auto& a : j["archs"]) {
    EXPECT_EQ(a["unit"], "pfdays");
    for (const char* key : {"arch", "L_coef", "L_exp", "nopt_coef", "nopt_exp", "dopt_coef",
                            "dopt_exp", "E", "A", "B", "alpha", "beta"}) {
      ASSERT_TRUE(a.contains(key)) << key;
    }
    for (const char* key : {"L_exp", "nopt_exp", "dopt_exp", "alpha", "beta"}) {
      ASSERT_TRUE(a.contains(std::string(key) + "_lo")) << key;
      ASSERT_TRUE(a[std::string(key) + "_lo"].is_number()) << key;
      EXPECT_LE(a[std::string(key) + "_lo"].get<double>(),
                a[std::string(key) + "_hi"].get<double>());
    }
    EXPECT_LT(a["L_exp"].get<double>(), 0);
    for (const auto& law : a["laws"]) {
      if (law.get<std::string>().find("(C)") != std::string::npos) {
        EXPECT_NE(law.get<std::string>().find("C in PF-days"), std::string::npos) << law;
      }
    }
    ASSERT_TRUE(a.contains("recommendation"));
    EXPECT_EQ(a["recommendation"]["methods"][0]["method"], "paper");
  }
  EXPECT_EQ(j["budget"]["best"].size(), 3u);
}

}  // namespace
}  // namespace flopwise::fitting
