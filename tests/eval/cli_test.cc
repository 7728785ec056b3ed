// `flopwise-train eval` end to end: a byte-level dataset, a short training
// run, every task, and the validation loss against `flopwise-train check`.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "tests/eval/eval_test_util.h"
#include "tests/run_command.h"
#include "worker/data/prepare.h"
#include "worker/eval/multiple_choice.h"
#include "worker/eval/validation.h"
#include "worker/train/checkpoint.h"

namespace flopwise::eval {
namespace {

using Result = ::flopwise::testing::CommandResult;

Result RunTrain(const std::string& args) {
  return ::flopwise::testing::RunCommand(std::string(FLOPWISE_TRAIN_BIN) + " " + args);
}

class EvalCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("cli"));
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
    const Result train = RunTrain("--arch tnl --preset cpu-1 --vocab 264 --context 64 --data " +
                                  *dir_ + "/data --batch-tokens 256 --total-tokens 1024 --out " +
                                  *dir_ + "/run --threads 1 > /dev/null 2>&1");
    ASSERT_EQ(train.exit_code, 0);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  static std::string* dir_;
};
std::string* EvalCliTest::dir_ = nullptr;

TEST_F(EvalCliTest, EveryTaskPrintsOneJsonLineAndValidationMatchesCheck) {
  const std::string& dir = *dir_;
  const std::string task_file = dir + "/tiny-task.jsonl";
  ASSERT_TRUE(WriteMcTaskFile({{"The river 3 runs past the", {"mill", "moon"}, 0},
                               {"and the bridge", {"number", "sky"}, 0}},
                              task_file)
                  .ok());
  const Result r =
      RunTrain("eval --checkpoint " + dir + "/run --context 64 --data " + dir +
               "/data --tasks validation,needle,brown-continuation," + task_file +
               " --validation-tokens 256 --batch 4 --needle-lengths 160,192 --needle-depths 0,0.5,1"
               " --continuation-documents 10 --figures " +
               dir + "/figures --threads 1 2>" + dir + "/eval.stderr");
  std::stringstream stderr_text;
  stderr_text << std::ifstream(dir + "/eval.stderr").rdbuf();
  ASSERT_EQ(r.exit_code, 0) << r.out << stderr_text.str();
  // The summary names every task.
  EXPECT_NE(stderr_text.str().find("brown-continuation"), std::string::npos) << stderr_text.str();
  std::map<std::string, nlohmann::json> by_task;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_EQ(j["event"], "eval");
    EXPECT_EQ(j["arch"], "tnl");
    EXPECT_EQ(j["training_tokens"], 1024);
    by_task[j["task"]] = j;
  }
  ASSERT_EQ(by_task.size(), 5u) << r.out;
  for (const char* mode : {"needle-easy", "needle-standard"}) {
    const nlohmann::json& m = by_task[mode]["metrics"];
    EXPECT_EQ(m["scores"].size(), 2u);
    EXPECT_EQ(m["cases"], 6);
    EXPECT_GE(m["niah_score"].get<double>(), 0.0);
    EXPECT_LE(m["weighted_average_accuracy"].get<double>(), 1.0);
    for (const auto& figure : by_task[mode]["figures"]) {
      EXPECT_TRUE(std::filesystem::exists(figure.get<std::string>())) << figure;
    }
  }
  EXPECT_EQ(by_task["brown-continuation"]["metrics"]["documents"], 10);
  EXPECT_EQ(by_task["tiny-task"]["metrics"]["documents"], 2);

  // The same four windows through `check`.
  const nlohmann::json& v = by_task["validation"]["metrics"];
  EXPECT_EQ(v["windows"], 4);
  EXPECT_GT(v["bytes"].get<int64_t>(), 0);
  auto windows = ReadValidationWindows(dir + "/data/validation", 64, /*seed=*/1, 4);
  ASSERT_TRUE(windows.ok()) << windows.status();
  WriteU32(windows->ids, dir + "/windows.u32");
  const std::string weights = *train::FindLatestCheckpoint(dir + "/run") + "/model.safetensors";
  const Result check = RunTrain("check --weights " + weights + " --tokens " + dir +
                                "/windows.u32 --batch 4 --context 64 --threads 1");
  ASSERT_EQ(check.exit_code, 0) << check.out;
  const double check_loss = std::stod(check.out.substr(check.out.rfind("loss ") + 5));
  EXPECT_NEAR(v["loss"].get<double>(), check_loss, 1e-9 * check_loss);
}

// The trainer's validation at each checkpoint is the evaluator's on the same
// windows: `flopwise-train eval --tasks validation` on the checkpoint (same
// token count and windows per forward) prints the same loss and bits per
// byte, and `check` the same loss.
TEST_F(EvalCliTest, TheTrainersCheckpointValidationEqualsEvalAndCheck) {
  const std::string& dir = *dir_;
  const Result train = RunTrain("--arch llama --preset cpu-1 --vocab 264 --context 64 --data " +
                                dir + "/data --batch-tokens 256 --total-tokens 1024 " +
                                "--checkpoint-every-tokens 512 --validation-tokens 256 --out " +
                                dir + "/validated --threads 1 2>/dev/null");
  ASSERT_EQ(train.exit_code, 0) << train.out;
  std::vector<nlohmann::json> checkpoints;
  std::istringstream lines(train.out);
  std::string line;
  while (std::getline(lines, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j["event"] == "checkpoint") checkpoints.push_back(j);
  }
  ASSERT_EQ(checkpoints.size(), 2u) << train.out;
  auto windows = ReadValidationWindows(dir + "/data/validation", 64, /*seed=*/1, 4);
  ASSERT_TRUE(windows.ok()) << windows.status();
  WriteU32(windows->ids, dir + "/validated-windows.u32");
  for (const nlohmann::json& c : checkpoints) {
    const std::string path = c["path"];
    ASSERT_EQ(c["validation_tokens"], 256) << c;
    // A micro-batch of 4 windows: the trainer scores them in one forward.
    const Result r = RunTrain("eval --checkpoint " + path + " --context 64 --data " + dir +
                              "/data --tasks validation --validation-tokens 256 --batch 4 "
                              "--threads 1 2>/dev/null");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const nlohmann::json eval = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(eval.is_discarded()) << r.out;
    EXPECT_EQ(eval["metrics"]["tokens"], 256);
    EXPECT_EQ(eval["metrics"]["loss"].get<double>(), c["validation_loss"].get<double>()) << path;
    EXPECT_EQ(eval["metrics"]["bits_per_byte"].get<double>(),
              c["validation_bits_per_byte"].get<double>())
        << path;
    const Result check = RunTrain("check --weights " + path + "/model.safetensors --tokens " + dir +
                                  "/validated-windows.u32 --batch 4 --context 64 --threads 1");
    ASSERT_EQ(check.exit_code, 0) << check.out;
    const double check_loss = std::stod(check.out.substr(check.out.rfind("loss ") + 5));
    EXPECT_NEAR(c["validation_loss"].get<double>(), check_loss, 1e-9 * check_loss) << path;
  }
  EXPECT_NE(checkpoints[0]["validation_loss"], checkpoints[1]["validation_loss"]);
}

TEST_F(EvalCliTest, AnUnreadableTaskFileFailsWithItsPath) {
  const std::string missing = *dir_ + "/no-such-task.jsonl";
  const Result r = RunTrain("eval --checkpoint " + *dir_ + "/run --context 64 --data " + *dir_ +
                            "/data --tasks " + missing + " --threads 1 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find(missing), std::string::npos) << r.out;
}

TEST_F(EvalCliTest, UnknownTaskAndMissingCheckpointAreErrors) {
  Result r = RunTrain("eval --checkpoint " + *dir_ + "/run --context 64 --tasks bogus 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("unknown task \"bogus\""), std::string::npos) << r.out;
  r = RunTrain("eval --checkpoint " + *dir_ + "/nowhere --context 64 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find(*dir_ + "/nowhere"), std::string::npos) << r.out;
  EXPECT_EQ(RunTrain("eval --context 64 2>/dev/null").exit_code, 2);  // --checkpoint is required
}

}  // namespace
}  // namespace flopwise::eval
