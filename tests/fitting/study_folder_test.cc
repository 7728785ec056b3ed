// WriteStudyReport: the folder `flopwise report` writes, called directly.
#include "fitting/study_folder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "fitting/report.h"
#include "tests/fitting/evaluation_rows.h"
#include "tests/fitting/two_archs.h"

namespace flopwise::fitting {
namespace {

namespace fs = std::filesystem;

class StudyFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("flopwise-study-folder-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    options_.out_dir = (dir_ / "report").string();
    options_.title = "Synthetic study";
    options_.fit.bootstrap_resamples = 10;
    options_.fit.approach3.solves = 8;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string Read(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
  StudyFolderOptions options_;
};

TEST_F(StudyFolderTest, WritesFiguresReportAndJson) {
  const std::vector<CheckpointRecord> records = TwoArchs();
  auto folder = WriteStudyReport(records, options_);
  ASSERT_TRUE(folder.ok()) << folder.status();
  EXPECT_EQ(folder->report_path, (dir_ / "report" / "report.md").string());
  ASSERT_EQ(folder->fit.archs.size(), 2u);
  ASSERT_EQ(folder->budgets.size(), 3u);  // the default budgets
  for (const std::string stem : {"overlay", "good_figure1", "bad_figure1"}) {
    for (const std::string ext : {".svg", ".png"}) {
      const fs::path figure = dir_ / "report" / (stem + ext);
      EXPECT_TRUE(fs::is_regular_file(figure)) << figure;
      EXPECT_GT(fs::file_size(figure), 0u) << figure;
    }
  }
  for (const std::string& path : folder->files) EXPECT_TRUE(fs::exists(path)) << path;

  const std::string md = Read(folder->report_path);
  EXPECT_EQ(md.rfind("# Synthetic study\n", 0), 0u);
  // The overlay is the first figure, before the per-architecture ones.
  const size_t overlay = md.find("(overlay.png)");
  ASSERT_NE(overlay, std::string::npos) << md;
  EXPECT_LT(overlay, md.find("(good_figure1.png)"));
  EXPECT_LT(overlay, md.find("(bad_figure1.png)"));
  EXPECT_NE(md.find("## Which architecture wins where"), std::string::npos);
  // The paper method's table says how many of each architecture's runs its
  // envelope (and so N_opt(C)) rests on.
  EXPECT_NE(md.find("| R² (log L) | runs on the envelope |"), std::string::npos) << md;
  for (const ArchFit& f : folder->fit.archs) {
    std::set<std::string> runs;
    for (const EnvelopePoint& point : f.paper.envelope) runs.insert(point.run);
    EXPECT_GE(runs.size(), 2u) << f.arch;
    EXPECT_NE(md.find(std::to_string(runs.size()) + " of " + std::to_string(f.runs) + " |\n"),
              std::string::npos)
        << f.arch << "\n"
        << md;
  }

  const nlohmann::json json = nlohmann::json::parse(Read(dir_ / "report" / "fit.json"));
  EXPECT_EQ(json["archs"].size(), 2u);
  EXPECT_EQ(json["bootstrap_resamples"], 10);
}

TEST_F(StudyFolderTest, EvaluationsAddTheirSectionAndTheDownstreamFigure) {
  const std::vector<CheckpointRecord> records = TwoArchs();
  auto plain = WriteStudyReport(records, options_);
  ASSERT_TRUE(plain.ok()) << plain.status();
  std::string md = Read(plain->report_path);
  EXPECT_EQ(md.find("## Evaluation"), std::string::npos);
  EXPECT_NE(md.find("## This study beside the paper"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "report" / "downstream.svg"));

  options_.evaluation = HandMadeEvaluation(0.5, 0.5);
  auto folder = WriteStudyReport(records, options_);
  ASSERT_TRUE(folder.ok()) << folder.status();
  md = Read(folder->report_path);
  EXPECT_NE(md.find("## Evaluation"), std::string::npos) << md;
  EXPECT_NE(md.find("(downstream.png)"), std::string::npos) << md;
  EXPECT_NE(md.find("Verdict: **cannot be shown by a study this size**"), std::string::npos);
  for (const std::string ext : {".svg", ".png"}) {
    const std::string path = (dir_ / "report" / ("downstream" + ext)).string();
    EXPECT_TRUE(fs::is_regular_file(path)) << path;
    EXPECT_NE(std::find(folder->files.begin(), folder->files.end(), path), folder->files.end());
  }
}

TEST_F(StudyFolderTest, GivenBudgetsAreRecommendedInOrder) {
  options_.budgets = {3e20, 1e19};
  options_.fit.bootstrap_resamples = 0;
  auto folder = WriteStudyReport(TwoArchs(), options_);
  ASSERT_TRUE(folder.ok()) << folder.status();
  ASSERT_EQ(folder->budgets.size(), 2u);
  EXPECT_EQ(folder->budgets[0].budget, 3e20);
  EXPECT_EQ(folder->budgets[1].budget, 1e19);
  const std::string table = PaperOptimumTable(folder->fit, folder->budgets);
  EXPECT_EQ(table.rfind("C (FLOPs)", 0), 0u) << table;
  EXPECT_NE(table.find("lowest predicted loss: good"), std::string::npos) << table;
}

TEST_F(StudyFolderTest, ErrorsAreStatusesAndWriteNothing) {
  auto empty = WriteStudyReport({}, options_);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);

  options_.budgets = {-1};
  auto negative = WriteStudyReport(TwoArchs(), options_);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(negative.status().message().find("budget"), std::string::npos);

  options_.budgets = {};
  options_.fit.bootstrap_resamples = kMaxBootstrapResamples + 1;
  auto too_many = WriteStudyReport(TwoArchs(), options_);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.status().message().find("bootstrap_resamples"), std::string::npos);
  EXPECT_FALSE(fs::exists(options_.out_dir));

  // The output folder's parent is a file.
  fs::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  options_.out_dir = (dir_ / "file" / "report").string();
  options_.fit.bootstrap_resamples = 0;
  auto unwritable = WriteStudyReport(TwoArchs(), options_);
  EXPECT_EQ(unwritable.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(unwritable.status().message().find(options_.out_dir), std::string::npos);
}

}  // namespace
}  // namespace flopwise::fitting
