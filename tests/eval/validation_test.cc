#include "worker/eval/validation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/eval/eval_test_util.h"
#include "worker/eval/checkpoint_model.h"
#include "worker/train/check.h"

namespace flopwise::eval {
namespace {

constexpr int kVocab = 64;
constexpr int kContext = 24;

class ValidationTest : public ::testing::TestWithParam<models::Arch> {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("validation");
    weights_ = dir_ + "/model.safetensors";
    WriteRandomWeights(GetParam(), kVocab, weights_, 11);
    tokens_ = dir_ + "/heldout.u32";
    WriteU32(PatternTokens(2000, kVocab, 4), tokens_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_, weights_, tokens_;
};

TEST_P(ValidationTest, LossEqualsCheckOnTheSameTokens) {
  auto windows = ReadValidationWindows(tokens_, kContext, /*seed=*/5, /*windows=*/6);
  ASSERT_TRUE(windows.ok()) << windows.status();
  ASSERT_EQ(windows->windows, 6);
  const std::string check_tokens = dir_ + "/windows.u32";
  WriteU32(windows->ids, check_tokens);
  train::CheckOptions check;
  check.weights = weights_;
  check.tokens = check_tokens;
  check.batch = 6;
  check.context = kContext;
  check.threads = 1;
  auto check_loss = train::RunCheck(check);
  ASSERT_TRUE(check_loss.ok()) << check_loss.status();

  // One forward of all windows: the same sum in the same order as check.
  auto model = CheckpointModel::Load(weights_, kContext, /*batch=*/6, /*threads=*/1);
  ASSERT_TRUE(model.ok()) << model.status();
  auto result = EvaluateValidation(model->get(), *windows, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->loss_nats, *check_loss);
  EXPECT_EQ(result->tokens, 6 * kContext);
  EXPECT_DOUBLE_EQ(result->perplexity, std::exp(*check_loss));
  EXPECT_FALSE(result->bits_per_byte.has_value());

  // Smaller forwards: the same windows, the same mean up to float rounding.
  auto small = CheckpointModel::Load(weights_, kContext, /*batch=*/4, /*threads=*/1);
  ASSERT_TRUE(small.ok());
  auto chunked = EvaluateValidation(small->get(), *windows, nullptr);
  ASSERT_TRUE(chunked.ok());
  EXPECT_NEAR(chunked->loss_nats, *check_loss, 1e-6 * *check_loss);
  EXPECT_EQ((*small)->forward_tokens(), 2 * 4 * kContext);  // two forwards, the last padded
}

INSTANTIATE_TEST_SUITE_P(Archs, ValidationTest,
                         ::testing::Values(models::Arch::kLlama, models::Arch::kTnl,
                                           models::Arch::kHgrn2, models::Arch::kCos2),
                         [](const auto& info) {
                           return std::string(models::ArchName(info.param));
                         });

TEST(ValidationWindowsTest, SeededAndCappedAtOneEpoch) {
  const std::string dir = MakeTempDir("windows");
  const std::string tokens = dir + "/t.u32";
  WriteU32(PatternTokens(24 * 10 + 1, kVocab, 2), tokens);
  auto a = ReadValidationWindows(tokens, 24, 1, 100);
  auto b = ReadValidationWindows(tokens, 24, 1, 100);
  auto c = ReadValidationWindows(tokens, 24, 2, 100);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->windows, 10);  // the file holds ten windows
  EXPECT_EQ(a->ids, b->ids);
  EXPECT_NE(a->ids, c->ids);
  std::filesystem::remove_all(dir);
}

TEST(ValidationWindowsTest, DefaultTokensKeepEvaluationAtFivePercentOfTraining) {
  // 0.12 × training tokens (forward ≈ 1/3 of a training step), whole windows.
  EXPECT_EQ(DefaultValidationTokens(1'000'000, 256), 468 * 256);
  EXPECT_EQ(DefaultValidationTokens(int64_t{1} << 40, 256), kValidationTokenCap);
  EXPECT_EQ(DefaultValidationTokens(0, 256), 256);  // at least one window
}

TEST(ValidationWindowsTest, ADatasetFolderGivesItsValidationSplit) {
  const std::string dir = MakeTempDir("dataset");
  std::ofstream(dir + "/manifest.json")
      << R"({"format":"flopwise-dataset","splits":{"train":"train","validation":"validation"}})";
  auto path = ValidationSplitPath(dir);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, dir + "/validation");
  std::ofstream(dir + "/manifest.json")
      << R"({"format":"flopwise-dataset","splits":{"train":"train"}})";
  auto missing = ValidationSplitPath(dir);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*ValidationSplitPath(dir + "/x.u32"), dir + "/x.u32");
  std::filesystem::remove_all(dir);
}

// The trainer's share at each checkpoint: 0.12 × the run's tokens over the
// checkpoints it writes, whole windows, at least one, capped.
TEST(ValidationWindowsTest, CheckpointDefaultSharesTheFivePercentAmongCheckpoints) {
  // 10 checkpoints of a 1M-token run: 12,000 tokens each, 46 windows of 256.
  EXPECT_EQ(CheckpointValidationTokens(1'000'000, 100'000, 256), 46 * 256);
  // A partial last interval is a checkpoint too (11 in all).
  EXPECT_EQ(CheckpointValidationTokens(1'050'000, 100'000, 256),
            DefaultValidationTokens(1'050'000 / 11, 256));
  // Only the final checkpoint: the evaluator's default.
  EXPECT_EQ(CheckpointValidationTokens(1'000'000, 0, 256), DefaultValidationTokens(1'000'000, 256));
  EXPECT_EQ(CheckpointValidationTokens(1'000, 10, 256), 256);  // at least one window
  EXPECT_EQ(CheckpointValidationTokens(int64_t{1} << 44, int64_t{1} << 40, 256),
            kValidationTokenCap);
  EXPECT_EQ(ValidationWindowCount(257, 256), 2);
  EXPECT_EQ(ValidationWindowCount(0, 256), 1);
}

TEST(ValidationWindowsTest, TheSplitBesideTrainingDataIsTheDatasetsValidationSplit) {
  const std::string dir = MakeTempDir("beside");
  std::filesystem::create_directories(dir + "/train");
  std::ofstream(dir + "/manifest.json")
      << R"({"format":"flopwise-dataset","splits":{"train":"train","validation":"validation"}})";
  EXPECT_EQ(**ValidationSplitBeside(dir), dir + "/validation");
  EXPECT_EQ(**ValidationSplitBeside(dir + "/"), dir + "/validation");
  EXPECT_EQ(**ValidationSplitBeside(dir + "/train"), dir + "/validation");
  EXPECT_EQ(**ValidationSplitBeside(dir + "/train/"), dir + "/validation");
  // Training on the validation split itself leaves nothing held out.
  std::filesystem::create_directories(dir + "/validation");
  EXPECT_FALSE(ValidationSplitBeside(dir + "/validation")->has_value());
  // Raw files and datasets without the split have none.
  EXPECT_FALSE(ValidationSplitBeside(dir + "/train/x.u32")->has_value());
  std::ofstream(dir + "/manifest.json")
      << R"({"format":"flopwise-dataset","splits":{"train":"train"}})";
  EXPECT_FALSE(ValidationSplitBeside(dir)->has_value());
  std::ofstream(dir + "/manifest.json") << "{not json";
  EXPECT_EQ(ValidationSplitBeside(dir).status().code(), absl::StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace flopwise::eval
