// The paper's Tables 5 and 6 from hand-made records: runs that differ only in
// context length, and runs of one size in several shapes.
#include "fitting/side_studies.h"

#include <gtest/gtest.h>

#include <cmath>

namespace flopwise::fitting {
namespace {

struct RunSpec {
  std::string arch, name;
  double n_params;
  int context, layers, d_model;
  std::vector<std::pair<double, double>> tokens_loss;
};

std::vector<CheckpointRecord> Records(const std::vector<RunSpec>& runs) {
  std::vector<CheckpointRecord> records;
  for (const RunSpec& run : runs) {
    for (auto [tokens, loss] : run.tokens_loss) {
      CheckpointRecord r;
      r.arch = run.arch;
      r.run = run.name;
      r.n_params = run.n_params;
      r.tokens = tokens;
      r.flops = 6 * run.n_params * tokens;
      r.loss = loss;
      r.validation_loss = loss + 0.5;
      r.settings.context = run.context;
      r.settings.layers = run.layers;
      r.settings.d_model = run.d_model;
      r.settings.vocab = 100280;
      records.push_back(r);
    }
  }
  return records;
}

// The main ladder (three sizes at context 8192), the 1e9 size at two more
// contexts, and three more shapes of about 1e9 parameters.
std::vector<RunSpec> PaperLikeRuns(const std::string& arch) {
  return {
      {arch, "70M", 7e7, 8192, 6, 512, {{1e9, 4.0}, {2e9, 3.8}}},
      {arch, "160M", 1.6e8, 8192, 12, 768, {{1e9, 3.7}, {2e9, 3.5}}},
      {arch, "1B", 9.06e8, 8192, 32, 1536, {{1e9, 3.2}, {2e9, 3.0}, {4e9, 2.9}}},
      {arch, "1B-ctx2048", 9.06e8, 2048, 32, 1536, {{1e9, 3.4}, {4e9, 3.0}}},
      {arch, "1B-ctx16384", 9.06e8, 16384, 32, 1536, {{1e9, 3.1}, {2e9, 2.95}}},
      {arch, "1B-d1792", 9.36e8, 8192, 24, 1792, {{1e9, 3.3}, {2e9, 3.05}}},
      {arch, "1B-d2048", 9.25e8, 8192, 18, 2048, {{1e9, 3.35}, {2e9, 3.1}}},
      {arch, "1B-d3072", 9.06e8, 8192, 8, 3072, {{1e9, 3.5}, {2e9, 3.2}}},
  };
}

TEST(SideStudies, LossAgainstContextLengthAtTheTokensEveryRunReached) {
  std::vector<RunSpec> runs = PaperLikeRuns("llama");
  auto studies = FindSideStudies(Records(runs), LossMetric::kTrain);
  ASSERT_TRUE(studies.ok()) << studies.status();
  ASSERT_TRUE(studies->context.has_value());
  const SideStudy& context = *studies->context;
  EXPECT_EQ(context.columns, (std::vector<std::string>{"2048", "8192", "16384"}));
  ASSERT_EQ(context.rows.size(), 1u);
  const SideStudyRow& row = context.rows[0];
  EXPECT_EQ(row.arch, "llama");
  EXPECT_EQ(row.n_params, 9.06e8);
  EXPECT_EQ(row.tokens, 2e9);  // the 16384 run stops there
  // 2048 has checkpoints at 1e9 (3.4) and 4e9 (3.0): 2e9 is halfway in log tokens.
  EXPECT_NEAR(row.loss[0], 3.2, 1e-12);
  EXPECT_EQ(row.loss[1], 3.0);
  EXPECT_EQ(row.loss[2], 2.95);
  EXPECT_EQ(row.runs[0], "1B-ctx2048");
}

TEST(SideStudies, LossAgainstAspectRatioAtFixedSize) {
  auto studies = FindSideStudies(Records(PaperLikeRuns("hgrn2")), LossMetric::kValidation);
  ASSERT_TRUE(studies.ok()) << studies.status();
  EXPECT_EQ(studies->metric, LossMetric::kValidation);
  ASSERT_TRUE(studies->aspect_ratio.has_value());
  const SideStudy& aspect = *studies->aspect_ratio;
  // The 70M and 160M runs are other sizes: no column of theirs.
  EXPECT_EQ(aspect.columns, (std::vector<std::string>{"1536/32", "1792/24", "2048/18", "3072/8"}));
  ASSERT_EQ(aspect.rows.size(), 1u);
  EXPECT_EQ(aspect.rows[0].tokens, 2e9);
  const std::vector<double> validation = {3.5, 3.55, 3.6, 3.7};
  ASSERT_EQ(aspect.rows[0].loss.size(), validation.size());
  for (size_t i = 0; i < validation.size(); ++i) {
    EXPECT_NEAR(aspect.rows[0].loss[i], validation[i], 1e-12) << i;
  }
  const std::string markdown = SideStudiesMarkdown(*studies);
  EXPECT_NE(markdown.find("## Loss against context length"), std::string::npos);
  EXPECT_NE(markdown.find("## Loss against aspect ratio at fixed size"), std::string::npos);
  EXPECT_NE(markdown.find("| hgrn2 | 9.06e+08 | 2e+09 | **3.5** | 3.55 | 3.6 | 3.7 |"),
            std::string::npos)
      << markdown;
  EXPECT_NE(markdown.find("the validation loss of each run"), std::string::npos);
}

TEST(SideStudies, OneRowPerArchitectureAndNoneForAPlainLadder) {
  std::vector<RunSpec> runs = PaperLikeRuns("llama");
  for (const RunSpec& r : PaperLikeRuns("tnl")) runs.push_back(r);
  auto both = FindSideStudies(Records(runs), LossMetric::kAuto);
  ASSERT_TRUE(both.ok()) << both.status();
  ASSERT_TRUE(both->context.has_value());
  ASSERT_EQ(both->context->rows.size(), 2u);
  EXPECT_EQ(both->context->rows[0].arch, "llama");
  EXPECT_EQ(both->context->rows[1].arch, "tnl");

  const std::vector<RunSpec> ladder(runs.begin(), runs.begin() + 3);
  auto none = FindSideStudies(Records(ladder), LossMetric::kTrain);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->context.has_value());
  EXPECT_FALSE(none->aspect_ratio.has_value());
  EXPECT_EQ(SideStudiesMarkdown(*none), "");
}

}  // namespace
}  // namespace flopwise::fitting
