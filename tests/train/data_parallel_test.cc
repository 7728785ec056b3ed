// flopwise-train as ranks of a data-parallel run: real processes meeting
// through a file rendezvous on loopback, compared with one process training
// the same global batch (docs/distributed.md, "Tolerance").
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/train/train_test_util.h"
#include "worker/train/safetensors.h"

extern char** environ;

namespace flopwise::train {
namespace {

// The tolerance against one process (summation order only, see
// docs/distributed.md): per-step loss, relative; final weights, absolute.
constexpr double kLossRelativeTolerance = 1e-5;
constexpr double kWeightTolerance = 2e-5;

// One flopwise-train process, its stdout and stderr in files.
class TrainProcess {
 public:
  TrainProcess(const std::vector<std::string>& args, const std::string& log_prefix)
      : stdout_path_(log_prefix + ".out"), stderr_path_(log_prefix + ".err") {
    std::vector<std::string> all = {FLOPWISE_TRAIN_BIN};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, stdout_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) pid_ = -1;
  }

  pid_t pid() const { return pid_; }

  // The exit code (-1 when killed by a signal or not started).
  int Wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::vector<nlohmann::json> Events(const std::string& kind = "") const {
    std::vector<nlohmann::json> events;
    std::ifstream in(stdout_path_);
    std::string line;
    while (std::getline(in, line)) {
      nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
      if (event.is_discarded()) continue;
      if (kind.empty() || event["event"] == kind) events.push_back(event);
    }
    return events;
  }

  std::string Stderr() const {
    std::ifstream in(stderr_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  pid_t pid_ = -1;
  std::string stdout_path_, stderr_path_;
};

// A tiny run: 4 sequences of 32 tokens per step, 8 steps (unless told).
std::vector<std::string> TinyArgs(const std::string& arch, const std::string& data,
                                  const std::string& out,
                                  const std::string& total_tokens = "1024") {
  return {"--arch",
          arch,
          "--preset",
          "cpu-1",
          "--vocab",
          "64",
          "--context",
          "32",
          "--data",
          data,
          "--batch-tokens",
          "128",
          "--total-tokens",
          total_tokens,
          "--lr",
          "3e-3",
          "--log-every-steps",
          "1",
          "--threads",
          "1",
          "--no-validation",
          "--out",
          out};
}

std::vector<std::string> AsRank(std::vector<std::string> args, int rank, int world_size,
                                const std::string& rendezvous_dir) {
  for (const std::string& a :
       {std::string("--world-size"), std::to_string(world_size), std::string("--rank"),
        std::to_string(rank), std::string("--rendezvous"), "file:" + rendezvous_dir}) {
    args.push_back(a);
  }
  return args;
}

// Starts ranks 0 … n-1 of `args` and waits for all of them.
std::vector<std::unique_ptr<TrainProcess>> RunRanks(const std::vector<std::string>& args, int n,
                                                    const std::string& dir,
                                                    const std::string& tag) {
  const std::string rendezvous = MakeTempDir("rendezvous");
  std::vector<std::unique_ptr<TrainProcess>> ranks;
  for (int rank = 0; rank < n; ++rank) {
    ranks.push_back(std::make_unique<TrainProcess>(
        AsRank(args, rank, n, rendezvous), dir + "/" + tag + ".rank" + std::to_string(rank)));
  }
  return ranks;
}

std::vector<double> Losses(const TrainProcess& process) {
  std::vector<double> losses;
  for (const auto& e : process.Events("progress")) losses.push_back(e["loss"].get<double>());
  return losses;
}

// The largest |a - b| over every tensor of two weight files of one config.
double MaxWeightDifference(const std::string& a_path, const std::string& b_path) {
  auto a = SafetensorsFile::Read(a_path);
  auto b = SafetensorsFile::Read(b_path);
  EXPECT_TRUE(a.ok() && b.ok()) << a_path << " " << b_path;
  if (!a.ok() || !b.ok()) return INFINITY;
  double most = 0.0;
  for (const auto& [name, entry] : a->entries()) {
    std::vector<float> x, y;
    EXPECT_TRUE(a->ReadFloats(name, &x).ok());
    EXPECT_TRUE(b->ReadFloats(name, &y).ok()) << name;
    if (x.size() != y.size()) return INFINITY;
    for (size_t i = 0; i < x.size(); ++i) most = std::max(most, std::fabs(double(x[i]) - y[i]));
  }
  return most;
}

// The all-reduce figures of a two-rank run's events: per progress event
// and in `done`, with the overlap a fraction.
void ExpectAllReduceFigures(const TrainProcess& rank0) {
  for (const auto& e : rank0.Events("progress")) {
    EXPECT_GE(e["allreduce_s_per_step"].get<double>(), 0.0) << e;
    EXPECT_GE(e["allreduce_wait_s_per_step"].get<double>(), 0.0) << e;
    const double overlap = e["allreduce_overlap"].get<double>();
    EXPECT_TRUE(overlap >= 0.0 && overlap <= 1.0) << e;
  }
  const nlohmann::json done = rank0.Events("done").at(0);
  EXPECT_GT(done["allreduce_s"].get<double>(), 0.0) << done;
  EXPECT_GE(done["allreduce_wait_s"].get<double>(), 0.0) << done;
  const double overlap = done["allreduce_overlap"].get<double>();
  EXPECT_TRUE(overlap >= 0.0 && overlap <= 1.0) << done;
}

// Overlapped with the backward pass (the default) or after it
// (--no-overlap-grad-reduce), two ranks make the same collectives on the
// same buckets: the same losses and weights, to the bit.
TEST(DataParallel, TwoRanksMatchOneProcessForEveryArchitecture) {
  for (const char* arch : {"llama", "tnl", "hgrn2", "cos2"}) {
    SCOPED_TRACE(arch);
    const std::string dir = MakeTempDir("dp-match");
    const std::string data = WriteTokenFile(dir, 20000, 64, 4);
    TrainProcess one(TinyArgs(arch, data, dir + "/one"), dir + "/one");
    ASSERT_EQ(one.Wait(), 0) << one.Stderr();
    auto ranks = RunRanks(TinyArgs(arch, data, dir + "/two"), 2, dir, "two");
    ASSERT_EQ(ranks[0]->Wait(), 0) << ranks[0]->Stderr();
    ASSERT_EQ(ranks[1]->Wait(), 0) << ranks[1]->Stderr();
    std::vector<std::string> after_args = TinyArgs(arch, data, dir + "/after");
    after_args.push_back("--no-overlap-grad-reduce");
    auto after = RunRanks(after_args, 2, dir, "after");
    ASSERT_EQ(after[0]->Wait(), 0) << after[0]->Stderr();
    ASSERT_EQ(after[1]->Wait(), 0) << after[1]->Stderr();
    EXPECT_EQ(Losses(*after[0]), Losses(*ranks[0]));
    EXPECT_EQ(after[0]->Events("checkpoint").back()["sha256"],
              ranks[0]->Events("checkpoint").back()["sha256"]);
    ExpectAllReduceFigures(*ranks[0]);
    ExpectAllReduceFigures(*after[0]);
    EXPECT_FALSE(one.Events("progress").at(0).contains("allreduce_overlap"));

    const std::vector<double> single = Losses(one), dp = Losses(*ranks[0]);
    ASSERT_EQ(single.size(), 8u);
    ASSERT_EQ(dp.size(), 8u);
    for (size_t i = 0; i < single.size(); ++i) {
      EXPECT_NEAR(dp[i], single[i], kLossRelativeTolerance * single[i]) << "step " << i + 1;
    }
    EXPECT_LE(MaxWeightDifference(dir + "/one/step-00000008/model.safetensors",
                                  dir + "/two/step-00000008/model.safetensors"),
              kWeightTolerance);

    // Rank 1 reports the start and the end only; rank 0 the metrics.
    std::vector<std::string> kinds;
    for (const auto& e : ranks[1]->Events()) kinds.push_back(e["event"]);
    EXPECT_EQ(kinds, (std::vector<std::string>{"start", "done"}));
    EXPECT_EQ(ranks[1]->Events("start")[0]["rank"], 1);
    EXPECT_EQ(ranks[0]->Events("checkpoint").size(), 1u);
  }
}

// With micro-steps each rank takes its block of every micro-batch, and only
// the last micro-step's backward pass starts the all-reduce: the same bits as
// with the all-reduce after it.
TEST(DataParallel, TwoRanksWithGradAccumMatchOneProcess) {
  const std::string dir = MakeTempDir("dp-accum");
  const std::string data = WriteTokenFile(dir, 20000, 64, 11);
  std::vector<std::string> args = TinyArgs("tnl", data, dir + "/one");
  args.insert(args.end(), {"--grad-accum", "2"});
  TrainProcess one(args, dir + "/one");
  ASSERT_EQ(one.Wait(), 0) << one.Stderr();
  args = TinyArgs("tnl", data, dir + "/two");
  args.insert(args.end(), {"--grad-accum", "2"});
  auto ranks = RunRanks(args, 2, dir, "two");
  ASSERT_EQ(ranks[0]->Wait(), 0) << ranks[0]->Stderr();
  ASSERT_EQ(ranks[1]->Wait(), 0) << ranks[1]->Stderr();
  const std::vector<double> single = Losses(one), dp = Losses(*ranks[0]);
  ASSERT_EQ(single.size(), 8u);
  ASSERT_EQ(dp.size(), 8u);
  for (size_t i = 0; i < single.size(); ++i) {
    EXPECT_NEAR(dp[i], single[i], kLossRelativeTolerance * single[i]) << "step " << i + 1;
  }
  EXPECT_LE(MaxWeightDifference(dir + "/one/step-00000008/model.safetensors",
                                dir + "/two/step-00000008/model.safetensors"),
            kWeightTolerance);
  args = TinyArgs("tnl", data, dir + "/after");
  args.insert(args.end(), {"--grad-accum", "2", "--no-overlap-grad-reduce"});
  auto after = RunRanks(args, 2, dir, "after");
  ASSERT_EQ(after[0]->Wait(), 0) << after[0]->Stderr();
  ASSERT_EQ(after[1]->Wait(), 0) << after[1]->Stderr();
  EXPECT_EQ(Losses(*after[0]), dp);
  EXPECT_EQ(after[0]->Events("checkpoint").back()["sha256"],
            ranks[0]->Events("checkpoint").back()["sha256"]);
}

// Both ranks resume from rank 0's newest checkpoint and continue exactly as
// the uninterrupted two-rank run: same losses, same final weights (bits).
TEST(DataParallel, ResumedTwoRankRunMatchesTheUninterruptedOne) {
  const std::string dir = MakeTempDir("dp-resume");
  const std::string data = WriteTokenFile(dir, 20000, 64, 6);
  std::vector<std::string> args = TinyArgs("tnl", data, dir + "/straight");
  args.insert(args.end(), {"--checkpoint-every-tokens", "256"});
  auto straight = RunRanks(args, 2, dir, "straight");
  ASSERT_EQ(straight[0]->Wait(), 0) << straight[0]->Stderr();
  ASSERT_EQ(straight[1]->Wait(), 0) << straight[1]->Stderr();

  // The run as if stopped after step 4: only that checkpoint on disk.
  std::filesystem::create_directories(dir + "/resumed");
  std::filesystem::copy(dir + "/straight/step-00000004", dir + "/resumed/step-00000004",
                        std::filesystem::copy_options::recursive);
  args = TinyArgs("tnl", data, dir + "/resumed");
  args.insert(args.end(), {"--checkpoint-every-tokens", "256"});
  auto resumed = RunRanks(args, 2, dir, "resumed");
  ASSERT_EQ(resumed[0]->Wait(), 0) << resumed[0]->Stderr();
  ASSERT_EQ(resumed[1]->Wait(), 0) << resumed[1]->Stderr();

  for (const auto& rank : resumed) EXPECT_EQ(rank->Events("start")[0]["resumed_from_step"], 4);
  const std::vector<double> all = Losses(*straight[0]), tail = Losses(*resumed[0]);
  ASSERT_EQ(all.size(), 8u);
  ASSERT_EQ(tail.size(), 4u);
  EXPECT_EQ(tail, std::vector<double>(all.begin() + 4, all.end()));
  const auto final_straight = straight[0]->Events("checkpoint").back();
  const auto final_resumed = resumed[0]->Events("checkpoint").back();
  EXPECT_EQ(final_resumed["step"], 8);
  EXPECT_EQ(final_resumed["sha256"], final_straight["sha256"]);
}

// Waits (at most 2 minutes) until `process` has reported a finished step.
void WaitForProgress(const TrainProcess& process) {
  for (int i = 0; i < 1200 && process.Events("progress").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// SIGTERM to one rank stops both after the same step with one checkpoint;
// restarted, both ranks continue exactly as a run that never stopped.
TEST(DataParallel, AStopToOneRankStopsBothAndTheRunResumesExactly) {
  const std::string dir = MakeTempDir("dp-stop");
  const std::string data = WriteTokenFile(dir, 20000, 64, 10);
  auto stopped = RunRanks(TinyArgs("tnl", data, dir + "/run", "100000000"), 2, dir, "stopped");
  WaitForProgress(*stopped[0]);
  ASSERT_FALSE(stopped[0]->Events("progress").empty()) << stopped[0]->Stderr();
  ASSERT_EQ(kill(stopped[1]->pid(), SIGTERM), 0);
  ASSERT_EQ(stopped[0]->Wait(), 4) << stopped[0]->Stderr();
  ASSERT_EQ(stopped[1]->Wait(), 4) << stopped[1]->Stderr();
  const int64_t step = stopped[0]->Events("stopped").at(0)["step"];
  EXPECT_EQ(stopped[1]->Events("stopped").at(0)["step"], step);
  EXPECT_EQ(stopped[0]->Events("checkpoint").back()["step"], step);

  const std::string total = std::to_string((step + 2) * 128);
  auto resumed = RunRanks(TinyArgs("tnl", data, dir + "/run", total), 2, dir, "resumed");
  ASSERT_EQ(resumed[0]->Wait(), 0) << resumed[0]->Stderr();
  ASSERT_EQ(resumed[1]->Wait(), 0) << resumed[1]->Stderr();
  for (const auto& rank : resumed) EXPECT_EQ(rank->Events("start")[0]["resumed_from_step"], step);

  auto straight = RunRanks(TinyArgs("tnl", data, dir + "/straight", total), 2, dir, "straight");
  ASSERT_EQ(straight[0]->Wait(), 0) << straight[0]->Stderr();
  ASSERT_EQ(straight[1]->Wait(), 0) << straight[1]->Stderr();
  std::vector<double> both = Losses(*stopped[0]);
  const std::vector<double> tail = Losses(*resumed[0]);
  both.insert(both.end(), tail.begin(), tail.end());
  EXPECT_EQ(both, Losses(*straight[0]));
  EXPECT_EQ(resumed[0]->Events("checkpoint").back()["sha256"],
            straight[0]->Events("checkpoint").back()["sha256"]);
}

TEST(DataParallel, DifferentSettingsStopEveryRankAtRendezvous) {
  const std::string dir = MakeTempDir("dp-config");
  const std::string data = WriteTokenFile(dir, 20000, 64, 7);
  const std::string rendezvous = MakeTempDir("rendezvous");
  std::vector<std::string> other = TinyArgs("tnl", data, dir + "/run");
  other.insert(other.end(), {"--seed", "2"});
  TrainProcess rank0(AsRank(TinyArgs("tnl", data, dir + "/run"), 0, 2, rendezvous), dir + "/rank0");
  TrainProcess rank1(AsRank(other, 1, 2, rendezvous), dir + "/rank1");
  EXPECT_EQ(rank0.Wait(), 1);
  EXPECT_EQ(rank1.Wait(), 1);
  EXPECT_NE(rank0.Stderr().find("run config differs"), std::string::npos) << rank0.Stderr();
  EXPECT_NE(rank0.Stderr().find("--seed 2 vs 1"), std::string::npos) << rank0.Stderr();
  EXPECT_NE(rank1.Stderr().find("--seed 1 vs 2"), std::string::npos) << rank1.Stderr();
}

TEST(DataParallel, ARankThatNeverComesIsAnErrorAfterTheTimeout) {
  const std::string dir = MakeTempDir("dp-alone");
  std::vector<std::string> args =
      AsRank(TinyArgs("tnl", WriteTokenFile(dir, 20000, 64, 8), dir + "/run"), 0, 2,
             MakeTempDir("rendezvous"));
  args.insert(args.end(), {"--rendezvous-timeout-s", "1"});
  TrainProcess alone(args, dir + "/alone");
  EXPECT_EQ(alone.Wait(), 1);
  EXPECT_NE(alone.Stderr().find("rank 1 of 2 did not join"), std::string::npos) << alone.Stderr();
}

// kill -9 of one rank mid-run ends the other with an error naming the cause:
// usually at once ("a peer rank is gone", the closed connection), but Gloo
// has once reported it only at the collective timeout (a send that waited
// for the dead peer's answer), so the timeout here is short and both
// messages are the error a user gets.
TEST(DataParallel, ARankThatDiesEndsTheOthersWithAnError) {
  const std::string dir = MakeTempDir("dp-kill");
  std::vector<std::string> args =
      TinyArgs("tnl", WriteTokenFile(dir, 20000, 64, 9), dir + "/run", "100000000");
  args.insert(args.end(), {"--rendezvous-timeout-s", "20"});
  auto ranks = RunRanks(args, 2, dir, "kill");
  WaitForProgress(*ranks[0]);
  ASSERT_FALSE(ranks[0]->Events("progress").empty()) << ranks[0]->Stderr();
  ASSERT_EQ(kill(ranks[1]->pid(), SIGKILL), 0);
  EXPECT_EQ(ranks[1]->Wait(), -1);
  EXPECT_EQ(ranks[0]->Wait(), 1);
  const auto errors = ranks[0]->Events("error");
  ASSERT_EQ(errors.size(), 1u) << ranks[0]->Stderr();
  const std::string message = errors[0]["message"].get<std::string>();
  EXPECT_TRUE(message.find("a peer rank is gone") != std::string::npos ||
              message.find("no answer from a peer rank within 20s") != std::string::npos)
      << errors[0];
}

}  // namespace
}  // namespace flopwise::train
