// The loss a fit is made on: validation loss when every checkpoint has one,
// training loss otherwise or when asked, and the choice recorded everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "fitting/fit.h"
#include "fitting/report.h"
#include "fitting/report_state.h"
#include "tests/fitting/two_archs.h"

namespace flopwise::fitting {
namespace {

// TwoArchs with a validation loss 10% above each training loss.
std::vector<CheckpointRecord> WithValidation() {
  std::vector<CheckpointRecord> records = TwoArchs();
  for (CheckpointRecord& r : records) r.validation_loss = 1.1 * r.loss;
  return records;
}

FitOptions PaperOnly(LossMetric metric) {
  FitOptions options;
  options.methods = kPaper;
  options.metric = metric;
  return options;
}

TEST(LossMetric, AutoFitsValidationLossWhenEveryCheckpointHasOne) {
  const std::vector<CheckpointRecord> records = WithValidation();
  auto validation = FitScalingLaws(records, PaperOnly(LossMetric::kAuto));
  ASSERT_TRUE(validation.ok()) << validation.status();
  EXPECT_EQ(validation->metric, LossMetric::kValidation);
  auto train = FitScalingLaws(records, PaperOnly(LossMetric::kTrain));
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ(train->metric, LossMetric::kTrain);
  // Validation loss is 1.1 x training loss: L(C)'s coefficient scales by 1.1.
  EXPECT_NEAR(validation->archs[0].coefs[kLCoef] / train->archs[0].coefs[kLCoef], 1.1, 1e-6);
  EXPECT_EQ(FitReportText(*validation, nullptr).rfind("fitted on validation loss, ", 0), 0u);
  EXPECT_EQ(FitReportText(*train, nullptr).rfind("fitted on training loss, ", 0), 0u);
  EXPECT_EQ(nlohmann::json::parse(FitReportJson(*validation, nullptr))["metric"], "validation");
}

TEST(LossMetric, AutoFallsBackToTrainingLossWhenOneCheckpointLacksIt) {
  std::vector<CheckpointRecord> records = WithValidation();
  records[3].validation_loss = std::nan("");
  auto fit = FitScalingLaws(records, PaperOnly(LossMetric::kAuto));
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->metric, LossMetric::kTrain);
}

TEST(LossMetric, ValidationAskedForSaysHowManyCheckpointsLackIt) {
  std::vector<CheckpointRecord> records = WithValidation();
  records[3].validation_loss = std::nan("");
  records[5].validation_loss = std::nan("");
  auto fit = FitScalingLaws(records, PaperOnly(LossMetric::kValidation));
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(fit.status().message().find(
                absl::StrCat("2 of ", records.size(), " checkpoints have no validation loss")),
            std::string::npos)
      << fit.status();
  records[3].validation_loss = records[5].validation_loss = -1;
  auto negative = FitScalingLaws(records, PaperOnly(LossMetric::kValidation));
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("records[3].validation_loss: must be positive"),
            std::string::npos)
      << negative.status();
}

TEST(LossMetric, TheStateKeepsTheMetricAndTheGroups) {
  std::vector<CheckpointRecord> records = WithValidation();
  for (CheckpointRecord& r : records) r.group = "context=2048";
  auto fit = FitScalingLaws(records, PaperOnly(LossMetric::kAuto));
  ASSERT_TRUE(fit.ok()) << fit.status();
  auto back = FitReportFromState(FitReportToState(*fit));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->metric, LossMetric::kValidation);
  EXPECT_EQ(back->archs[0].group, "context=2048");
  EXPECT_EQ(ArchFitName(back->archs[0]), "bad [context=2048]");
}

TEST(LossMetric, ParsesItsNames) {
  EXPECT_EQ(*ParseLossMetric("train"), LossMetric::kTrain);
  EXPECT_EQ(*ParseLossMetric("validation"), LossMetric::kValidation);
  EXPECT_EQ(*ParseLossMetric("auto"), LossMetric::kAuto);
  EXPECT_FALSE(ParseLossMetric("val").ok());
}

}  // namespace
}  // namespace flopwise::fitting
