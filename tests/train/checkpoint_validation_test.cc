// Validation at every checkpoint (docs/training.md "Validation"): the same
// held-out windows each time, sized by the 5% rule, no effect on training,
// and a run without a validation split that trains on without one.
#include "worker/train/checkpoint_validation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "tests/train/train_test_util.h"
#include "worker/data/prepare.h"

namespace flopwise::train {
namespace {

constexpr int kByteVocab = 264;  // the byte tokenizer's padded vocabulary

// Requests a stop once step `stop_step` has been reported.
class StopAtStepSink final : public EventSink {
 public:
  StopAtStepSink(std::atomic<bool>* stop, int64_t stop_step) : stop_(stop), stop_step_(stop_step) {}
  void Emit(const nlohmann::json& event) override {
    recorded.Emit(event);
    if (event["event"] == "progress" && event["step"] == stop_step_) stop_->store(true);
  }
  RecordingSink recorded;

 private:
  std::atomic<bool>* stop_;
  int64_t stop_step_;
};

// Validation loss by checkpoint step.
std::map<int64_t, double> ValidationByStep(const RecordingSink& sink) {
  std::map<int64_t, double> out;
  for (const auto& e : sink.Of("checkpoint")) out[e["step"]] = e["validation_loss"];
  return out;
}

class CheckpointValidationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("checkpoint-validation"));
    const std::string text = *dir_ + "/text";
    std::filesystem::create_directories(text);
    for (int d = 0; d < 30; ++d) {
      std::ofstream doc(text + "/doc" + std::to_string(d) + ".txt");
      for (int s = 0; s < 14; ++s) {
        doc << "The river " << d << " runs past the mill and the bridge number " << s << ".\n";
      }
    }
    data::PrepareOptions prepare;
    prepare.tokenizer = "byte";
    prepare.inputs = {text};
    prepare.out_dir = *dir_ + "/data";
    prepare.validation_fraction = 0.3;
    prepare.threads = 1;
    ASSERT_TRUE(data::PrepareDataset(prepare).ok());
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  // 8 steps of 128 tokens, a checkpoint every 2 steps (4 in all).
  static TrainOptions Run(const std::string& name) {
    TrainOptions o = TinyRun(*dir_ + "/data", *dir_ + "/" + name);
    o.model.vocab = kByteVocab;
    o.checkpoint_every_tokens = 256;
    return o;
  }

  static std::string* dir_;
};
std::string* CheckpointValidationTest::dir_ = nullptr;

TEST_F(CheckpointValidationTest, EveryCheckpointCarriesTheDefaultValidation) {
  RecordingSink sink;
  ASSERT_EQ(RunTraining(Run("default"), &sink, nullptr), kExitDone);
  const auto checkpoints = sink.Of("checkpoint");
  ASSERT_EQ(checkpoints.size(), 4u);
  // 0.12 × 1024 tokens over 4 checkpoints: 30 tokens, one window of 32.
  const int64_t expected = eval::CheckpointValidationTokens(1024, 256, 32);
  EXPECT_EQ(expected, 32);
  for (const auto& c : checkpoints) {
    EXPECT_EQ(c["validation_tokens"], expected) << c;
    const double loss = c["validation_loss"];
    EXPECT_TRUE(std::isfinite(loss) && loss > 0) << c;
    // Byte-level: at most one byte per target (end-of-text has none).
    const double bpb = c["validation_bits_per_byte"];
    EXPECT_GE(bpb, loss / std::log(2.0)) << c;
  }
  EXPECT_LT(checkpoints.back()["validation_loss"].get<double>(),
            checkpoints.front()["validation_loss"].get<double>());

  TrainOptions sized = Run("sized");
  sized.validation_tokens = 100;  // whole windows: 4 × 32
  RecordingSink sized_sink;
  ASSERT_EQ(RunTraining(sized, &sized_sink, nullptr), kExitDone);
  for (const auto& c : sized_sink.Of("checkpoint")) EXPECT_EQ(c["validation_tokens"], 128) << c;
}

// The validation forward shares the training model: weights, losses and
// every checkpoint stay bit-identical to a run without validation, for every
// architecture (with gradient accumulation, so that the validation batches
// and the training micro-batches differ).
TEST_F(CheckpointValidationTest, ValidationLeavesTrainingBitIdentical) {
  for (const char* arch : {"llama", "tnl", "hgrn2", "cos2"}) {
    TrainOptions with = Run(std::string("with-") + arch);
    with.model.arch = arch;
    with.grad_accum = 2;
    with.checkpoint_every_tokens = 128;  // every step
    with.validation_tokens = 160;        // 5 windows: three forwards of 2, the last padded
    TrainOptions without = with;
    without.out = *dir_ + "/without-" + arch;
    without.validate = false;
    RecordingSink a, b;
    ASSERT_EQ(RunTraining(with, &a, nullptr), kExitDone) << arch;
    ASSERT_EQ(RunTraining(without, &b, nullptr), kExitDone) << arch;
    const auto validated = a.Of("checkpoint"), plain = b.Of("checkpoint");
    ASSERT_EQ(validated.size(), 8u) << arch;
    ASSERT_EQ(plain.size(), 8u) << arch;
    for (size_t i = 0; i < plain.size(); ++i) {
      EXPECT_EQ(validated[i]["validation_tokens"], 160) << arch;
      EXPECT_EQ(plain[i]["validation_tokens"], 0) << arch;
      EXPECT_FALSE(plain[i].contains("validation_loss")) << arch;
      EXPECT_EQ(validated[i]["sha256"], plain[i]["sha256"]) << arch << " step " << i + 1;
      EXPECT_EQ(validated[i]["loss"], plain[i]["loss"]) << arch << " step " << i + 1;
    }
  }
}

// A run stopped and resumed scores the same windows: its validation losses
// equal those of an uninterrupted run checkpoint by checkpoint.
TEST_F(CheckpointValidationTest, AResumedRunValidatesOnTheSameWindows) {
  RecordingSink straight;
  ASSERT_EQ(RunTraining(Run("straight"), &straight, nullptr), kExitDone);
  std::atomic<bool> stop{false};
  StopAtStepSink first(&stop, 4);
  ASSERT_EQ(RunTraining(Run("resumed"), &first, &stop), kExitStopped);
  RecordingSink second;
  ASSERT_EQ(RunTraining(Run("resumed"), &second, nullptr), kExitDone);
  std::map<int64_t, double> joined = ValidationByStep(first.recorded);
  joined.merge(ValidationByStep(second));
  EXPECT_EQ(joined, ValidationByStep(straight));
  EXPECT_EQ(joined.size(), 4u);
}

TEST_F(CheckpointValidationTest, WithoutAValidationSplitTheRunTrainsOn) {
  const std::string dir = MakeTempDir("no-split");
  TrainOptions o = TinyRun(WriteTokenFile(dir, 20000, 64, 1), dir + "/run");
  o.checkpoint_every_tokens = 512;
  RecordingSink sink;
  ASSERT_EQ(RunTraining(o, &sink, nullptr), kExitDone);
  const auto checkpoints = sink.Of("checkpoint");
  ASSERT_EQ(checkpoints.size(), 2u);
  for (const auto& c : checkpoints) {
    EXPECT_EQ(c["validation_tokens"], 0) << c;
    EXPECT_FALSE(c.contains("validation_loss")) << c;
  }
  std::filesystem::remove_all(dir);
}

TEST_F(CheckpointValidationTest, ValidationDataThatCannotBeUsedIsAnErrorNamingTheFlag) {
  TrainOptions missing = Run("missing");
  missing.validation_data = *dir_ + "/no-such-split";
  RecordingSink a;
  EXPECT_EQ(RunTraining(missing, &a, nullptr), kExitError);
  const std::string message = a.events.back().value("message", "");
  EXPECT_NE(message.find("--validation-data"), std::string::npos) << message;
  EXPECT_NE(message.find("no-such-split"), std::string::npos) << message;

  // Byte ids (end-of-text 256) beyond a 64-token model's vocabulary.
  const std::string dir = MakeTempDir("wrong-vocab");
  TrainOptions wrong = TinyRun(WriteTokenFile(dir, 20000, 64, 1), dir + "/run");
  wrong.validation_data = *dir_ + "/data/validation";
  RecordingSink b;
  EXPECT_EQ(RunTraining(wrong, &b, nullptr), kExitError);
  const std::string vocab_message = b.events.back().value("message", "");
  EXPECT_NE(vocab_message.find("--validation-data"), std::string::npos) << vocab_message;
  EXPECT_NE(vocab_message.find("vocabulary"), std::string::npos) << vocab_message;
  std::filesystem::remove_all(dir);
}

// The worker's run config file carries the validation settings.
TEST(CheckpointValidationOptions, ARunConfigSetsThem) {
  ::flopwise::v1::RunConfig config;
  TrainOptions o;
  ApplyRunConfig(config, &o);
  EXPECT_EQ(o.validation_tokens, 0);
  EXPECT_EQ(o.validation_data, "");
  config.set_validation_tokens(4096);
  config.set_validation_data("/data/heldout");
  ApplyRunConfig(config, &o);
  EXPECT_EQ(o.validation_tokens, 4096);
  EXPECT_EQ(o.validation_data, "/data/heldout");
}

}  // namespace
}  // namespace flopwise::train
