#include "fitting/report_evaluation.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/fitting/evaluation_rows.h"

namespace flopwise::fitting {
namespace {

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(ReportEvaluation, LastEvaluationsKeepEachTasksLastCheckpoint) {
  const std::vector<RunEvaluation> runs = LastEvaluations(HandMadeEvaluation(0.5, 0.5).rows);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].arch, "hgrn2");  // by arch, then size
  EXPECT_EQ(runs[0].run, "small");
  EXPECT_EQ(runs[1].run, "large");
  const RunEvaluation::Value& loss = runs[3].last.at({"validation", "loss"});
  EXPECT_EQ(loss.step, 200);
  EXPECT_DOUBLE_EQ(loss.value, 1.6);
}

TEST(ReportEvaluation, ChanceLevelsOfTheBundledTasks) {
  EXPECT_DOUBLE_EQ(*ChanceLevel("needle-easy", "weighted_average_accuracy"), 0.5);
  EXPECT_DOUBLE_EQ(*ChanceLevel("needle-standard", "niah_score"), 1.0 / 11);
  EXPECT_DOUBLE_EQ(*ChanceLevel("brown-continuation", "acc_norm"), 0.25);
  EXPECT_FALSE(ChanceLevel("piqa.jsonl", "acc").has_value());
  EXPECT_FALSE(ChanceLevel("validation", "loss").has_value());
  EXPECT_TRUE(AtChance("brown-continuation", "acc", 0.29));
  EXPECT_FALSE(AtChance("brown-continuation", "acc", 0.41));
  EXPECT_TRUE(AtChance("needle-easy", "weighted_average_accuracy", 0.58));
  EXPECT_FALSE(AtChance("needle-easy", "weighted_average_accuracy", 0.8));
  EXPECT_FALSE(AtChance("piqa.jsonl", "acc", 0.5));
}

TEST(ReportEvaluation, OneTablePerArchWithTheShownMetrics) {
  const std::string md = EvaluationMarkdown(HandMadeEvaluation(0.52, 0.9), "downstream");
  EXPECT_EQ(md.rfind("## Evaluation\n", 0), 0u) << md;
  EXPECT_NE(md.find("### hgrn2\n"), std::string::npos) << md;
  EXPECT_NE(md.find("### llama\n"), std::string::npos) << md;
  EXPECT_LT(md.find("### hgrn2\n"), md.find("### llama\n"));
  // validation first, then the needle modes, then the multiple-choice task.
  const std::string header =
      "| run | N | step | tokens | validation loss | validation bpb | needle-easy weighted acc | "
      "needle-easy NIAH score | needle-standard weighted acc | needle-standard NIAH score | "
      "brown-continuation acc | brown-continuation acc_norm |";
  EXPECT_EQ(Count(md, header), 2u) << md;
  EXPECT_EQ(md.find("perplexity"), std::string::npos) << md;
  // llama's large run at its last checkpoint: loss 1.6, needle 0.9 (above
  // chance), acc_norm 0.27 at chance.
  EXPECT_NE(md.find("| large | 2.4e+05 | 200 | 4.1e+05 | 1.6 | 2.308 | 0.9 | 0.05 ≈ chance | 0.9 "
                    "| 0.05 ≈ chance | 0.41 | 0.27 ≈ chance |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| small | 3e+04 | 200 | 4.1e+05 | 1.9 |"), std::string::npos) << md;
}

TEST(ReportEvaluation, HeatmapsOfTheLargestRunAndTheDownstreamFigure) {
  const std::string md = EvaluationMarkdown(HandMadeEvaluation(0.5, 0.5), "downstream");
  EXPECT_NE(md.find("](eval/llama-large-needle-easy.png)"), std::string::npos) << md;
  EXPECT_NE(md.find("[SVG](eval/hgrn2-large-needle-standard.svg)"), std::string::npos) << md;
  EXPECT_EQ(md.find("eval/llama-small-"), std::string::npos) << md;
  EXPECT_EQ(Count(md, "![llama large needle"), 2u) << md;
  EXPECT_NE(md.find("![downstream accuracy against training compute](downstream.png)"),
            std::string::npos)
      << md;
  EXPECT_EQ(EvaluationMarkdown(HandMadeEvaluation(0.5, 0.5), "").find("downstream"),
            std::string::npos);
}

TEST(ReportEvaluation, AValueFromAnEarlierCheckpointNamesItsStep) {
  StudyEvaluation eval = HandMadeEvaluation(0.5, 0.5);
  for (EvaluationRow& r : eval.rows) {
    if (r.task == "brown-continuation" && r.arch == "llama" && r.run == "large") r.step = 150;
  }
  const std::string md = EvaluationMarkdown(eval, "");
  EXPECT_NE(md.find("| 0.41 (step 150) | 0.27 (step 150) ≈ chance |"), std::string::npos) << md;
}

TEST(ReportEvaluation, NoRowsNoSection) { EXPECT_EQ(EvaluationMarkdown({}, "downstream"), ""); }

}  // namespace
}  // namespace flopwise::fitting
