// The training loop: progress protocol, exact resume, stop requests,
// divergence and bad-input errors.
#include "worker/train/trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "tests/train/train_test_util.h"
#include "worker/train/checkpoint.h"

namespace flopwise::train {
namespace {

// Records events and requests a stop once step `stop_step` has been reported.
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

std::vector<double> Losses(const RecordingSink& sink) {
  std::vector<double> losses;
  for (const auto& e : sink.Of("progress")) losses.push_back(e["loss"].get<double>());
  return losses;
}

TEST(Trainer, RunsToDoneWithProgressAndFinalCheckpoint) {
  const std::string dir = MakeTempDir("train");
  TrainOptions o = TinyRun(WriteTokenFile(dir, 20000, 64, 1), dir + "/run");
  o.checkpoint_every_tokens = 512;
  RecordingSink sink;
  ASSERT_EQ(RunTraining(o, &sink, nullptr), kExitDone);
  ASSERT_EQ(sink.events.front()["event"], "start");
  EXPECT_EQ(sink.events.front()["resumed_from_step"], 0);
  EXPECT_EQ(sink.events.back()["event"], "done");
  EXPECT_EQ(sink.events.back()["step"], 8);
  EXPECT_EQ(sink.events.back()["tokens"], 1024);
  const auto progress = sink.Of("progress");
  ASSERT_EQ(progress.size(), 8u);
  const double per_token = sink.events.front()["flops_per_token"].get<double>();
  EXPECT_DOUBLE_EQ(progress[3]["flops"].get<double>(), 512 * per_token);
  EXPECT_LT(progress.back()["loss"].get<double>(), progress.front()["loss"].get<double>());
  const auto checkpoints = sink.Of("checkpoint");
  ASSERT_EQ(checkpoints.size(), 2u);  // at 512 tokens and the final one
  EXPECT_EQ(checkpoints[1]["path"], dir + "/run/step-00000008");
  EXPECT_EQ(checkpoints[1]["sha256"].get<std::string>().size(), 64u);
  auto sha = Sha256File(dir + "/run/step-00000008/model.safetensors");
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(*sha, checkpoints[1]["sha256"]);
  EXPECT_EQ(FindLatestCheckpoint(dir + "/run"), dir + "/run/step-00000008");
}

// Only the newest checkpoints stay on disk, and a run resumes from them.
TEST(Trainer, KeepCheckpointsPrunesTheOldestAndResumeStillWorks) {
  const std::string dir = MakeTempDir("keep");
  TrainOptions o = TinyRun(WriteTokenFile(dir, 20000, 64, 5), dir + "/run");
  o.checkpoint_every_tokens = 128;  // every step: 8 checkpoints
  o.keep_checkpoints = 2;
  RecordingSink sink;
  ASSERT_EQ(RunTraining(o, &sink, nullptr), kExitDone);
  EXPECT_EQ(sink.Of("checkpoint").size(), 8u);  // every checkpoint is still reported
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/run"))
    left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  // The folder's lock file (LockRunDir) stays; only checkpoints are pruned.
  EXPECT_EQ(left, (std::vector<std::string>{"step-00000007", "step-00000008", "trainer.lock"}));

  // A longer budget resumes from the newest one left.
  o.total_tokens = 1280;
  RecordingSink resumed;
  ASSERT_EQ(RunTraining(o, &resumed, nullptr), kExitDone);
  EXPECT_EQ(resumed.events.front()["resumed_from_step"], 8);
  EXPECT_EQ(FindLatestCheckpoint(dir + "/run"), dir + "/run/step-00000010");
  EXPECT_FALSE(std::filesystem::exists(dir + "/run/step-00000008"));
}

// --resume-step (what a worker passes: the coordinator's newest checkpoint)
// never resumes past that step, even when a newer folder is on disk: a
// trainer that outlived its lease may have written it, and its rows were
// never accepted.
TEST(Trainer, ResumeStepNeverResumesFromANewerFolder) {
  const std::string dir = MakeTempDir("resume-step");
  TrainOptions o = TinyRun(WriteTokenFile(dir, 20000, 64, 3), dir + "/run");
  o.checkpoint_every_tokens = 256;  // steps 2, 4, 6, 8
  RecordingSink first;
  ASSERT_EQ(RunTraining(o, &first, nullptr), kExitDone);
  EXPECT_EQ(FindLatestCheckpoint(dir + "/run", 5), dir + "/run/step-00000004");
  EXPECT_EQ(FindLatestCheckpoint(dir + "/run", 1), std::nullopt);

  o.resume_step = 5;
  RecordingSink from_five;
  ASSERT_EQ(RunTraining(o, &from_five, nullptr), kExitDone);
  EXPECT_EQ(from_five.events.front()["resumed_from_step"], 4);
  EXPECT_EQ(from_five.Of("progress").size(), 4u);  // steps 5 to 8 again

  o.resume_step = 0;
  RecordingSink from_scratch;
  ASSERT_EQ(RunTraining(o, &from_scratch, nullptr), kExitDone);
  EXPECT_EQ(from_scratch.events.front()["resumed_from_step"], 0);
  EXPECT_EQ(from_scratch.Of("progress").size(), 8u);
}

// Stopping after 4 steps and resuming gives bit-identical losses to an
// uninterrupted run (same threads).
TEST(Trainer, ResumeIsBitExact) {
  for (const char* arch : {"llama", "tnl", "hgrn2", "cos2"}) {
    const std::string dir = MakeTempDir("resume");
    const std::string data = WriteTokenFile(dir, 20000, 64, 2);
    TrainOptions straight = TinyRun(data, dir + "/straight");
    straight.model.arch = arch;
    straight.grad_accum = 2;
    straight.schedule = "cosine";
    straight.warmup_tokens = 256;
    RecordingSink full;
    ASSERT_EQ(RunTraining(straight, &full, nullptr), kExitDone) << arch;

    // Interrupt the second run after step 4, as SIGTERM would.
    TrainOptions first = straight;
    first.out = dir + "/resumed";
    std::atomic<bool> stop{false};
    StopAtStepSink part1(&stop, 4);
    ASSERT_EQ(RunTraining(first, &part1, &stop), kExitStopped) << arch;
    TrainOptions second = straight;
    second.out = dir + "/resumed";
    RecordingSink part2;
    ASSERT_EQ(RunTraining(second, &part2, nullptr), kExitDone) << arch;
    EXPECT_EQ(part2.events.front()["resumed_from_step"], 4);
    std::vector<double> joined = Losses(part1.recorded);
    for (double l : Losses(part2)) joined.push_back(l);
    EXPECT_EQ(joined, Losses(full)) << arch;  // exact equality
  }
}

TEST(Trainer, StopRequestCheckpointsAndExits4) {
  const std::string dir = MakeTempDir("stop");
  TrainOptions o = TinyRun(WriteTokenFile(dir, 20000, 64, 3), dir + "/run");
  std::atomic<bool> stop{true};
  RecordingSink sink;
  ASSERT_EQ(RunTraining(o, &sink, &stop), kExitStopped);
  EXPECT_EQ(sink.events.back()["event"], "stopped");
  EXPECT_EQ(sink.events.back()["step"], 1);
  ASSERT_EQ(sink.Of("checkpoint").size(), 1u);
  EXPECT_EQ(FindLatestCheckpoint(dir + "/run"), dir + "/run/step-00000001");
}

TEST(Trainer, HugeLearningRateDiverges) {
  const std::string dir = MakeTempDir("diverge");
  TrainOptions o = TinyRun(WriteTokenFile(dir, 20000, 64, 4), dir + "/run");
  o.lr = 1e30;
  o.grad_clip = 0;
  o.total_tokens = 128 * 20;
  RecordingSink sink;
  ASSERT_EQ(RunTraining(o, &sink, nullptr), kExitDiverged);
  EXPECT_EQ(sink.events.back()["event"], "diverged");
}

TEST(Trainer, BadInputsGiveErrorEvents) {
  const std::string dir = MakeTempDir("bad");
  const std::string data = WriteTokenFile(dir, 20000, 64, 5);
  struct Case {
    std::function<void(TrainOptions*)> mutate;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {[](TrainOptions* o) { o->model.arch = "gpt"; }, "unknown architecture 'gpt'"},
      {[&](TrainOptions* o) { o->data = dir + "/missing.u32"; }, "no such file"},
      {[](TrainOptions* o) { o->model.vocab = 8; }, "outside the vocabulary [0, 8)"},
      {[](TrainOptions* o) { o->batch_tokens = 100; }, "--batch-tokens"},
      {[](TrainOptions* o) { o->model.preset = "cpu-99"; }, "cpu-99"},
      {[](TrainOptions* o) { o->model.flags["v_act"] = "relu"; },
       "--v-act: unknown activation 'relu' (expected none or silu)"},
      {[](TrainOptions* o) { o->model.flags["lrpe_variant"] = "rope"; },
       "--lrpe-variant: unknown variant 'rope' (expected transnormer or xmixers)"},
      {[](TrainOptions* o) { o->model.flags["tpe_variant"] = "fft"; },
       "--tpe-variant: unknown variant 'fft'"},
  };
  for (const Case& c : cases) {
    TrainOptions o = TinyRun(data, dir + "/run");
    c.mutate(&o);
    RecordingSink sink;
    EXPECT_EQ(RunTraining(o, &sink, nullptr), kExitError) << c.message_part;
    ASSERT_FALSE(sink.events.empty());
    EXPECT_EQ(sink.events.back()["event"], "error");
    EXPECT_NE(sink.events.back()["message"].get<std::string>().find(c.message_part),
              std::string::npos)
        << sink.events.back()["message"];
  }
}

TEST(Trainer, ResumeRejectsAnotherConfig) {
  const std::string dir = MakeTempDir("mismatch");
  const std::string data = WriteTokenFile(dir, 20000, 64, 6);
  TrainOptions o = TinyRun(data, dir + "/run");
  o.total_tokens = 128;
  RecordingSink first;
  ASSERT_EQ(RunTraining(o, &first, nullptr), kExitDone);
  o.model.preset = "cpu-2";
  o.total_tokens = 256;
  RecordingSink second;
  EXPECT_EQ(RunTraining(o, &second, nullptr), kExitError);
  EXPECT_NE(second.events.back()["message"].get<std::string>().find("checkpoint holds"),
            std::string::npos);
}

}  // namespace
}  // namespace flopwise::train
