// Reading exported evals joined to their checkpoints for the report, and
// rejecting bad input with errors that name the place.
#include "fitting/evaluation_records.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace flopwise::fitting {
namespace {

namespace fs = std::filesystem;

// Two checkpoints of one run (steps 2 and 4, validated, and a superseded
// step 4 of an earlier attempt listed after it) and one of another run without
// validation, in the columns of `flopwise export --what checkpoints`.
constexpr char kCheckpoints[] =
    "sweep,run,run_id,arch,params_non_embedding,attempt,step,tokens,flops,loss,superseded,path,"
    "sha256,validation_loss,validation_bits_per_byte,validation_tokens\n"
    "1,llama-a,1,llama,1000,1,2,100,6e5,3.0,0,p,s,2.9,4.1,64\n"
    "1,llama-a,1,llama,1000,2,4,200,1.2e6,2.5,0,p,s,2.4,3.4,64\n"
    "1,llama-a,1,llama,1000,1,4,200,1.2e6,2.5,1,p,s,9.9,9.9,64\n"
    "1,tnl-a,2,tnl,2000,1,4,200,2.4e6,2.6,0,p,s,,,\n";

constexpr char kEvals[] =
    "sweep,run,run_id,arch,attempt,step,job,task,metric,value,text\n"
    "1,llama-a,1,llama,2,4,7,needle-easy,niah_score,0.25,\n"
    "1,llama-a,1,llama,2,4,7,needle-easy,figure[0],,/w/needle-easy-step-4.svg\n"
    "1,llama-a,1,llama,2,4,7,needle-easy,figure[1],,/w/needle-easy-step-4.png\n"
    "1,llama-a,1,llama,2,4,7,needle-easy,accuracy_by_length,,\"[0.5,0.25]\"\n"
    "# a comment\n"
    "1,tnl-a,2,tnl,1,4,8,brown-continuation,acc,0.3,\n";

const EvaluationRow* Find(const StudyEvaluation& e, const std::string& run, const std::string& task,
                          const std::string& metric) {
  for (const EvaluationRow& r : e.rows) {
    if (r.run == run && r.task == task && r.metric == metric) return &r;
  }
  return nullptr;
}

TEST(EvaluationRecords, JoinsEachEvalToItsCheckpoint) {
  auto e = ParseEvaluation(kEvals, "evals.csv", kCheckpoints, "checkpoints.csv");
  ASSERT_TRUE(e.ok()) << e.status();
  const EvaluationRow* niah = Find(*e, "llama-a", "needle-easy", "niah_score");
  ASSERT_NE(niah, nullptr);
  EXPECT_EQ(niah->arch, "llama");
  EXPECT_DOUBLE_EQ(niah->n_params, 1000);
  EXPECT_EQ(niah->step, 4);
  EXPECT_DOUBLE_EQ(niah->tokens, 200);
  EXPECT_DOUBLE_EQ(niah->flops, 1.2e6);
  EXPECT_DOUBLE_EQ(niah->value, 0.25);
  const EvaluationRow* acc = Find(*e, "tnl-a", "brown-continuation", "acc");
  ASSERT_NE(acc, nullptr);
  EXPECT_DOUBLE_EQ(acc->flops, 2.4e6);
  // Text rows other than figures are left out.
  EXPECT_EQ(Find(*e, "llama-a", "needle-easy", "accuracy_by_length"), nullptr);
}

TEST(EvaluationRecords, ValidationComesFromEachRunsLastValidatedCheckpoint) {
  auto e = ParseEvaluation(kEvals, "evals.csv", kCheckpoints, "checkpoints.csv");
  ASSERT_TRUE(e.ok()) << e.status();
  const EvaluationRow* loss = Find(*e, "llama-a", "validation", "loss");
  ASSERT_NE(loss, nullptr);
  EXPECT_EQ(loss->step, 4);
  EXPECT_DOUBLE_EQ(loss->value, 2.4);  // not the superseded attempt's 9.9
  const EvaluationRow* bpb = Find(*e, "llama-a", "validation", "bits_per_byte");
  ASSERT_NE(bpb, nullptr);
  EXPECT_DOUBLE_EQ(bpb->value, 3.4);
  EXPECT_EQ(Find(*e, "tnl-a", "validation", "loss"), nullptr);
  int validation_rows = 0;
  for (const EvaluationRow& r : e->rows) validation_rows += r.task == "validation";
  EXPECT_EQ(validation_rows, 2);
}

TEST(EvaluationRecords, FigureRowsBecomeOneHeatmapWithoutExtension) {
  auto e = ParseEvaluation(kEvals, "evals.csv", kCheckpoints, "checkpoints.csv");
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->heatmaps.size(), 1u);
  EXPECT_EQ(e->heatmaps[0].arch, "llama");
  EXPECT_EQ(e->heatmaps[0].run, "llama-a");
  EXPECT_EQ(e->heatmaps[0].step, 4);
  EXPECT_EQ(e->heatmaps[0].task, "needle-easy");
  EXPECT_EQ(e->heatmaps[0].path, "/w/needle-easy-step-4");
}

TEST(EvaluationRecords, ErrorsNameTheFileLineAndColumn) {
  const std::string bad_step =
      "run,step,task,metric,value,text\n"
      "llama-a,x,validation,loss,2.0,\n";
  auto e = ParseEvaluation(bad_step, "evals.csv", kCheckpoints, "checkpoints.csv");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "evals.csv:2: column 'step' (2): not a number: 'x'");

  const std::string no_checkpoint =
      "run,step,task,metric,value,text\n"
      "llama-a,3,needle-easy,niah_score,0.5,\n";
  e = ParseEvaluation(no_checkpoint, "evals.csv", kCheckpoints, "checkpoints.csv");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(),
            "evals.csv:2: run 'llama-a' has no checkpoint at step 3 in checkpoints.csv");

  e = ParseEvaluation("run,step,task,metric,value\n", "evals.csv", kCheckpoints, "checkpoints.csv");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "evals.csv:1: header lacks the column 'text'");

  e = ParseEvaluation(kEvals, "evals.csv", "run,arch,step,tokens,flops\n", "checkpoints.csv");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "checkpoints.csv:1: header lacks the column 'n_params'");
}

TEST(EvaluationRecords, PlacesHeatmapsInTheReportFolder) {
  const fs::path dir = fs::path(testing::TempDir()) / "evaluation_records_heatmaps";
  fs::remove_all(dir);
  fs::create_directories(dir / "worker");
  std::ofstream(dir / "worker" / "needle-easy-step-4.svg") << "<svg/>";
  std::ofstream(dir / "worker" / "needle-easy-step-4.png") << "png";
  StudyEvaluation e;
  e.heatmaps = {{.arch = "llama",
                 .run = "llama-a",
                 .step = 4,
                 .task = "needle-easy",
                 .path = (dir / "worker" / "needle-easy-step-4").string()},
                {.arch = "tnl",
                 .run = "tnl-a",
                 .step = 4,
                 .task = "needle-easy",
                 .path = (dir / "gone" / "needle").string()}};
  auto missing = PlaceHeatmaps(e, (dir / "report").string());
  ASSERT_TRUE(missing.ok()) << missing.status();
  ASSERT_EQ(missing->size(), 1u);
  EXPECT_EQ((*missing)[0], (dir / "gone" / "needle").string());
  ASSERT_EQ(e.heatmaps.size(), 1u);
  EXPECT_EQ(e.heatmaps[0].path, "heatmaps/llama-llama-a-needle-easy-step-4");
  EXPECT_TRUE(fs::exists(dir / "report" / "heatmaps" / "llama-llama-a-needle-easy-step-4.svg"));
  EXPECT_TRUE(fs::exists(dir / "report" / "heatmaps" / "llama-llama-a-needle-easy-step-4.png"));
}

}  // namespace
}  // namespace flopwise::fitting
