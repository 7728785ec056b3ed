// Runs of different settings are fitted apart: a context-length run must not
// join the main ladder's envelope unless the user asks for it.
#include "fitting/grouping.h"

#include <gtest/gtest.h>

#include "fitting/fit.h"
#include "fitting/report.h"
#include "fitting/synthetic.h"

namespace flopwise::fitting {
namespace {

RunSettings Settings(int context, std::vector<std::string> grids) {
  RunSettings s;
  s.context = context;
  s.vocab = 100280;
  s.grids = std::move(grids);
  return s;
}

// A main ladder of 7 sizes at context 8192 (grid "main") for `arch`, and one
// run of the 1e8 size at context 2048 (grid "context").
std::vector<CheckpointRecord> LadderAndContextRun(const std::string& arch, double e) {
  ChinchillaLaw law;
  law.e = e;
  ChinchillaCurveOptions ladder;
  ladder.arch = arch;
  std::vector<CheckpointRecord> records = ChinchillaRecords(law, ladder);
  for (CheckpointRecord& r : records) r.settings = Settings(8192, {"main"});
  ChinchillaCurveOptions context = ladder;
  context.model_sizes = {1e8};
  context.seed = 7;
  law.e += 0.2;  // a shorter context: a higher loss
  for (CheckpointRecord r : ChinchillaRecords(law, context)) {
    r.run += "-ctx2048";
    r.settings = Settings(2048, {"context"});
    records.push_back(r);
  }
  return records;
}

FitOptions PaperOnly() {
  FitOptions options;
  options.methods = kPaper;
  return options;
}

TEST(Grouping, AutoSplitsRunsByEverySettingThatDiffers) {
  auto grouped = GroupRecords(LadderAndContextRun("llama", 1.69), Grouping{});
  ASSERT_TRUE(grouped.ok()) << grouped.status();
  EXPECT_EQ(grouped->front().group, "grid=main, context=8192");
  EXPECT_EQ(grouped->back().group, "grid=context, context=2048");
  auto fit = FitScalingLaws(*grouped, PaperOnly());
  ASSERT_TRUE(fit.ok()) << fit.status();
  ASSERT_EQ(fit->archs.size(), 2u);
  // Sorted by group: "grid=context..." first, with its one run and no law.
  EXPECT_EQ(fit->archs[0].group, "grid=context, context=2048");
  EXPECT_EQ(fit->archs[0].runs, 1);
  EXPECT_FALSE(fit->archs[0].has_paper);
  ASSERT_EQ(fit->archs[0].errors.size(), 1u);
  EXPECT_NE(fit->archs[0].errors[0].find("a single run"), std::string::npos);
  EXPECT_EQ(fit->archs[1].group, "grid=main, context=8192");
  EXPECT_EQ(fit->archs[1].runs, 7);
  EXPECT_TRUE(fit->archs[1].has_paper);
  const std::string text = FitReportText(*fit, nullptr);
  EXPECT_NE(text.find("== llama [grid=main, context=8192]: 7 runs"), std::string::npos) << text;
}

TEST(Grouping, GroupByArchMixesTheRunsAsBefore) {
  Grouping grouping;
  grouping.by = *ParseGroupBy("arch");
  auto grouped = GroupRecords(LadderAndContextRun("llama", 1.69), grouping);
  ASSERT_TRUE(grouped.ok()) << grouped.status();
  auto fit = FitScalingLaws(*grouped, PaperOnly());
  ASSERT_TRUE(fit.ok()) << fit.status();
  ASSERT_EQ(fit->archs.size(), 1u);
  EXPECT_EQ(fit->archs[0].group, "");
  EXPECT_EQ(fit->archs[0].runs, 8);
}

TEST(Grouping, NamedKeysAndGridSelection) {
  std::vector<CheckpointRecord> records = LadderAndContextRun("llama", 1.69);
  // The 1e8 ladder run also belongs to the aspect grid (a cell the expansion merged).
  for (CheckpointRecord& r : records) {
    if (r.n_params == 1e8 && r.settings.context == 8192) r.settings.grids = {"main", "aspect"};
  }
  Grouping by_context;
  by_context.by = *ParseGroupBy("arch,context");
  auto grouped = GroupRecords(records, by_context);
  ASSERT_TRUE(grouped.ok()) << grouped.status();
  EXPECT_EQ(grouped->front().group, "context=8192");

  Grouping aspect;
  aspect.grid = "aspect";
  auto selected = GroupRecords(records, aspect);
  ASSERT_TRUE(selected.ok()) << selected.status();
  ASSERT_FALSE(selected->empty());
  for (const CheckpointRecord& r : *selected) {
    EXPECT_EQ(r.n_params, 1e8);
    EXPECT_EQ(r.settings.grids, std::vector<std::string>{"aspect"});
    EXPECT_EQ(r.group, "");  // nothing differs within the grid
  }

  aspect.grid = "nope";
  auto none = GroupRecords(records, aspect);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(),
            "grid: no run of grid 'nope' (the runs' grids: aspect, context, main)");
}

TEST(Grouping, ArchitecturesAreComparedWithinTheirGroupOnly) {
  std::vector<CheckpointRecord> records = LadderAndContextRun("good", 1.5);
  for (const CheckpointRecord& r : LadderAndContextRun("bad", 1.9)) records.push_back(r);
  // Context runs of two sizes, so that the context group has laws too.
  const std::vector<CheckpointRecord> original = records;
  for (const CheckpointRecord& r : original) {
    if (r.settings.context != 8192 || r.n_params != 1e9) continue;
    CheckpointRecord copy = r;
    copy.run += "-ctx2048";
    copy.settings = Settings(2048, {"context"});
    copy.loss += 0.2;
    records.push_back(copy);
  }
  auto grouped = GroupRecords(records, Grouping{});
  ASSERT_TRUE(grouped.ok()) << grouped.status();
  auto fit = FitScalingLaws(*grouped, PaperOnly());
  ASSERT_TRUE(fit.ok()) << fit.status();
  auto budget = RecommendForBudget(*fit, 1e20, {});
  ASSERT_TRUE(budget.ok()) << budget.status();
  ASSERT_EQ(budget->best.size(), 2u);
  EXPECT_EQ(budget->best[0].group, "grid=context, context=2048");
  EXPECT_EQ(budget->best[1].group, "grid=main, context=8192");
  EXPECT_EQ(budget->best[1].arch, "good");
  const std::string answer = OptimalAnswerText(*fit, *budget);
  EXPECT_NE(answer.find("lowest loss (paper, grid=main, context=8192): good"), std::string::npos)
      << answer;
}

TEST(Grouping, ParseGroupByNamesTheProblem) {
  EXPECT_TRUE(ParseGroupBy("auto")->automatic);
  auto keys = ParseGroupBy("arch,grid,context,vocab,flags");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->keys, unsigned{kGroupGrid | kGroupContext | kGroupVocab | kGroupFlags});
  EXPECT_EQ(GroupByText(*keys), "arch,grid,context,vocab,flags");
  auto no_arch = ParseGroupBy("context");
  ASSERT_FALSE(no_arch.ok());
  EXPECT_NE(no_arch.status().message().find("lacks arch"), std::string::npos);
  auto unknown = ParseGroupBy("arch,shape");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown key 'shape'"), std::string::npos);
}

}  // namespace
}  // namespace flopwise::fitting
