// Reading records and rejecting bad input with errors that name the place.
#include "fitting/records.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fitting/fit.h"
#include "fitting/report.h"
#include "fitting/sweep_records.h"
#include "fitting/synthetic.h"

namespace flopwise::fitting {
namespace {

TEST(Records, ParsesCsvWithAnyColumnOrderQuotesAndComments) {
  const std::string csv =
      "# comment\n"
      "loss,flops,tokens,n_params,run,arch,extra\n"
      "3.5,1e18,1e9,1.5e8,\"run,1\",llama,x\n"
      "\n"
      "3.25,2e18,2e9,1.5e8,\"run,1\",llama,y\r\n";
  auto records = ParseRecords(csv, "t.csv");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].run, "run,1");
  EXPECT_EQ((*records)[1].arch, "llama");
  EXPECT_DOUBLE_EQ((*records)[1].loss, 3.25);
  EXPECT_DOUBLE_EQ((*records)[0].n_params, 1.5e8);
  EXPECT_DOUBLE_EQ((*records)[0].n_params_total, 0);
}

TEST(Records, ReadsTheCoordinatorsExportColumns) {
  const std::string csv =
      "sweep,run,run_id,arch,params_non_embedding,attempt,step,tokens,flops,loss\n"
      "1,tnl-cpu-1,3,tnl,106496,1,2,8192,6.4e9,10.77\n";
  auto records = ParseRecords(csv, "export.csv");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_DOUBLE_EQ((*records)[0].n_params, 106496);
  EXPECT_EQ((*records)[0].run, "tnl-cpu-1");
  const std::string jsonl =
      "{\"arch\":\"tnl\",\"run\":\"r\",\"params_non_embedding\":5e5,\"tokens\":1e6,"
      "\"flops\":3e12,\"loss\":4.5}\n";
  auto from_json = ParseRecords(jsonl, "export.jsonl");
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_DOUBLE_EQ((*from_json)[0].n_params, 5e5);
}

TEST(Records, CsvErrorsNameLineAndColumn) {
  const std::string header = "arch,run,n_params,tokens,flops,loss\n";
  auto bad_number =
      ParseRecords(header + "llama,r,1e8,1e9,1e18,3.1\nllama,r,1e8,2e9,2e18,abc\n", "t.csv");
  ASSERT_FALSE(bad_number.ok());
  EXPECT_EQ(bad_number.status().message(), "t.csv:3: column 'loss' (6): not a number: 'abc'");
  auto negative = ParseRecords(header + "llama,r,1e8,-5,1e18,3.1\n", "t.csv");
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().message(), "t.csv:2: tokens: must be positive and finite (got -5)");
  auto short_row = ParseRecords(header + "llama,r,1e8\n", "t.csv");
  ASSERT_FALSE(short_row.ok());
  EXPECT_NE(short_row.status().message().find("t.csv:2: column 'tokens' (4): missing"),
            std::string::npos)
      << short_row.status();
  auto missing = ParseRecords("arch,run,n_params,tokens,loss\n", "t.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "t.csv:1: header lacks the column 'flops'");
}

TEST(Records, ParsesJsonLinesAndNamesTheLineOfAnError) {
  const std::string jsonl =
      "{\"arch\":\"tnl\",\"run\":\"a\",\"n_params\":1e8,\"tokens\":1e9,\"flops\":6e17,\"loss\":3.2}"
      "\n"
      "{\"arch\":\"tnl\",\"run\":\"a\",\"n_params\":1e8,\"tokens\":2e9,\"flops\":1.2e18,\"loss\":3."
      "0,"
      "\"n_params_total\":1.5e8}\n";
  auto records = ParseRecords(jsonl, "t.jsonl");
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_DOUBLE_EQ((*records)[1].n_params_total, 1.5e8);
  auto bad =
      ParseRecords(jsonl + "{\"arch\":\"tnl\",\"run\":\"a\",\"n_params\":\"x\"}\n", "t.jsonl");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "t.jsonl:3: key 'n_params': not a number");
}

TEST(FitInput, RecordValuesAreValidated) {
  std::vector<CheckpointRecord> records = {{"llama", "a", 1e8, 0, 1e9, 1e18, 3}};
  records[0].loss = 0;
  auto fit = FitScalingLaws(records, FitOptions{});
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().message(), "records[0].loss: must be positive and finite (got 0)");
}

TEST(FitInput, SingleRunIsAClearError) {
  ChinchillaCurveOptions data;
  data.model_sizes = {1e8};
  auto fit = FitScalingLaws(ChinchillaRecords(ChinchillaLaw{}, data), FitOptions{});
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("a single run"), std::string::npos) << fit.status();
}

TEST(FitInput, AllLossesEqualIsAClearError) {
  ChinchillaCurveOptions data;
  auto records = ChinchillaRecords(ChinchillaLaw{}, data);
  for (CheckpointRecord& r : records) r.loss = 3.0;
  auto fit = FitScalingLaws(records, FitOptions{});
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("values are equal (3)"), std::string::npos) << fit.status();
}

TEST(FitInput, FewerPointsThanParametersFailsOnlyThatMethodAndNothingPrintsNaN) {
  // 2 runs x 2 checkpoints: the paper method (2 parameters per law) fits,
  // approach 3 (5 parameters) and approach 2 (3 sizes per slice) cannot.
  ChinchillaCurveOptions data;
  data.model_sizes = {1e8, 1e9};
  data.checkpoints_per_run = 2;
  auto fit = FitScalingLaws(ChinchillaRecords(ChinchillaLaw{}, data), FitOptions{});
  ASSERT_TRUE(fit.ok()) << fit.status();
  const ArchFit& f = fit->archs[0];
  EXPECT_TRUE(f.has_paper);
  EXPECT_FALSE(f.has_approach3);
  bool named = false;
  for (const std::string& e : f.errors)
    named |= e.find("more points than its 5 parameters") != std::string::npos;
  EXPECT_TRUE(named);
  const std::string json = FitReportJson(*fit, nullptr);
  const std::string text = FitReportText(*fit, nullptr);
  EXPECT_EQ(json.find("nan"), std::string::npos);
  EXPECT_EQ(text.find("nan"), std::string::npos);
  EXPECT_NE(json.find("\"alpha\": null"), std::string::npos);
}

TEST(FitInput, TokenFiltersDropEarlyCheckpoints) {
  ChinchillaCurveOptions data;
  const auto records = ChinchillaRecords(ChinchillaLaw{}, data);
  FitOptions options;
  options.methods = kPaper;
  options.skip_fraction = 0.09;  // of 1e11 final tokens: keeps checkpoints >= 9e9
  auto fit = FitScalingLaws(records, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->archs[0].points, 7 * 6);  // 6 of 16 log-spaced checkpoints in [1e10, 1e11]
  options.skip_fraction = 0;
  options.min_tokens = 9e9;
  auto by_tokens = FitScalingLaws(records, options);
  ASSERT_TRUE(by_tokens.ok());
  EXPECT_EQ(by_tokens->archs[0].points, 7 * 6);
}

// A sweep's checkpoint becomes a record with its validation loss, NaN when
// the trainer ran none; a checkpoint without one is still kept.
TEST(SweepRecords, ACheckpointsValidationLossTravelsWithItsRecord) {
  auto validated = RecordFromCheckpoint({.arch = "tnl",
                                         .run = "tnl-a",
                                         .params_non_embedding = 1000,
                                         .tokens = 4096,
                                         .flops = 2.5e10,
                                         .loss = 3.0,
                                         .validation_loss = 3.25});
  ASSERT_TRUE(validated.has_value());
  EXPECT_EQ(validated->loss, 3.0);
  EXPECT_EQ(validated->validation_loss, 3.25);
  auto plain = RecordFromCheckpoint({.arch = "tnl",
                                     .run = "tnl-a",
                                     .params_non_embedding = 1000,
                                     .tokens = 4096,
                                     .flops = 2.5e10,
                                     .loss = 3.0});
  ASSERT_TRUE(plain.has_value());
  EXPECT_TRUE(std::isnan(plain->validation_loss));
}

}  // namespace
}  // namespace flopwise::fitting
