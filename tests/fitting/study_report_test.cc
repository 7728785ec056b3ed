#include "fitting/study_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "tests/fitting/two_archs.h"

namespace flopwise::fitting {
namespace {

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(StudyReport, DefaultBudgetsAreOneInsideAndTwoBeyondTheData) {
  FitReport fit;
  ArchFit a;
  a.compute_min = 1e10;
  a.compute_max = 1e14;
  fit.archs.push_back(a);
  const std::vector<double> budgets = DefaultReportBudgets(fit);
  ASSERT_EQ(budgets.size(), 3u);
  EXPECT_DOUBLE_EQ(budgets[0], 1e12);
  EXPECT_DOUBLE_EQ(budgets[1], 1e15);
  EXPECT_DOUBLE_EQ(budgets[2], 1e16);
  EXPECT_TRUE(DefaultReportBudgets(FitReport{}).empty());
}

TEST(StudyReport, NamesLawsBudgetsWinnerAndFigures) {
  const std::vector<CheckpointRecord> records = TwoArchs();
  FitOptions options;
  options.bootstrap_resamples = 20;
  options.approach3.solves = 8;
  auto fit = FitScalingLaws(records, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  std::vector<BudgetReport> budgets;
  for (double c : DefaultReportBudgets(*fit)) {
    auto rec = RecommendForBudget(*fit, c, {});
    ASSERT_TRUE(rec.ok()) << rec.status();
    budgets.push_back(*rec);
  }
  ASSERT_EQ(budgets.size(), 3u);
  StudyReportInput input;
  input.title = "Synthetic study";
  input.records = records;
  input.fit = &*fit;
  input.budgets = budgets;
  input.figures = {{"overlay", "All architectures"}, {"good_figure1", "good"}};
  const std::string md = StudyReportMarkdown(input);
  if (std::getenv("FLOPWISE_PRINT_REPORT") != nullptr) std::printf("%s", md.c_str());

  EXPECT_EQ(md.rfind("# Synthetic study\n", 0), 0u);
  EXPECT_FALSE(std::regex_search(md, std::regex(R"(\b(nan|inf)\b)", std::regex::icase))) << md;
  // One row per run in the runs table: 2 archs x 6 sizes.
  EXPECT_NE(md.find("12 runs"), std::string::npos);
  EXPECT_NE(md.find("C is training compute in FLOPs"), std::string::npos);
  EXPECT_NE(md.find("Chinchilla approach 3"), std::string::npos);
  // Three budget sections, the first inside the data and the others beyond it.
  EXPECT_EQ(Count(md, "### C = "), 3u);
  EXPECT_EQ(Count(md, "inside the sweep's compute range"), 1u);
  EXPECT_EQ(Count(md, "decades beyond the data"), 2u);
  // The architecture with the lower irreducible loss wins under approach 3.
  EXPECT_NE(md.find("Chinchilla approach 3: **good** (lowest in"), std::string::npos) << md;
  EXPECT_NE(md.find("## Which architecture wins where"), std::string::npos);
  EXPECT_NE(md.find("![All architectures](overlay.png)"), std::string::npos);
  EXPECT_NE(md.find("[SVG](good_figure1.svg)"), std::string::npos);
  // Intervals are printed as [lo, hi] beside the coefficients.
  EXPECT_GT(Count(md, " ["), 10u);
  EXPECT_NE(md.find("Envelope: **pareto**"), std::string::npos) << md;

  // A winner of fewer than 60% of the resamples is not bolded anywhere.
  for (BudgetReport& b : budgets) {
    for (BestArch& best : b.best) best.win_fraction = 0.55;
  }
  input.budgets = budgets;
  const std::string unsure = StudyReportMarkdown(input);
  EXPECT_EQ(Count(unsure, "**good**"), 0u) << unsure;
  EXPECT_EQ(Count(unsure, "**bad**"), 0u) << unsure;
  EXPECT_NE(unsure.find("| no clear winner (good lowest in only 55% of 20 resamples) |"),
            std::string::npos)
      << unsure;
}

}  // namespace
}  // namespace flopwise::fitting
