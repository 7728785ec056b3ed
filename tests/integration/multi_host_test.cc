// Several hosts: the coordinator on a bridge of this namespace and two worker
// "hosts" in network namespaces of their own (test_network.h), each worker
// with --rank-address on its link, the real trainer. A two-rank run spans
// both hosts and completes; a host whose link is cut mid-run ends the
// attempt on every rank after the lease time, and once the link is back the
// run resumes from its checkpoint and completes, every step reported once.
// Skips unless root with `ip netns`.
#include <dirent.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/cluster.h"
#include "tests/integration/real_trainer_sweep.h"
#include "tests/integration/test_network.h"

namespace flopwise::testing {
namespace {

constexpr double kSweepTimeoutS = 150;
// The ranks' longest wait for a peer (--rendezvous-timeout-s): how long a
// rank whose peer is cut off stays in its collective.
constexpr int kRankTimeoutS = 15;

// Running flopwise-train processes with an argument under `dir`.
int TrainersUnder(const std::string& dir) {
  int count = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  while (const dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::ifstream in(std::string("/proc/") + entry->d_name + "/cmdline");
    std::vector<std::string> argv;
    for (std::string arg; std::getline(in, arg, '\0');) argv.push_back(arg);
    if (argv.empty() || std::filesystem::path(argv[0]).filename() != "flopwise-train") continue;
    for (const std::string& arg : argv) {
      if (arg.rfind(dir, 0) == 0) {
        ++count;
        break;
      }
    }
  }
  closedir(proc);
  return count;
}

class MultiHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* program : {"flopwise-coordinator", "flopwise-worker", "flopwise-train"}) {
      if (!HaveProgram(program)) GTEST_SKIP() << program << " is not built";
    }
    if (const std::string why = TestNetwork::Unavailable(); !why.empty()) GTEST_SKIP() << why;
    network_ = std::make_unique<TestNetwork>(2);
    ASSERT_TRUE(network_->ok()) << network_->error();
    cluster_ = std::make_unique<Cluster>(2.0, 0.25, network_->bridge_address());
    ASSERT_TRUE(cluster_->StartCoordinator()) << cluster_->CoordinatorLog();
    data_ = PrepareTinyData(cluster_->dir());
    ASSERT_FALSE(data_.empty());
    // The rank timeout is not a run config field: a wrapper adds the flag.
    const std::string trainer = cluster_->dir().Sub("train.sh");
    std::ofstream(trainer) << "#!/bin/sh\nexec " << BinPath("flopwise-train")
                           << " \"$@\" --rendezvous-timeout-s " << kRankTimeoutS << "\n";
    std::filesystem::permissions(trainer, std::filesystem::perms::owner_all);
    for (int host = 0; host < 2; ++host) {
      WorkerLaunch launch;
      launch.trainer = trainer;
      launch.netns = network_->netns(host);
      launch.args = {"--rank-address", network_->host_address(host)};
      cluster_->LaunchWorker(HostName(host), launch);
    }
  }

  // The daemons end before their links and namespaces go, also on failure.
  void TearDown() override {
    cluster_.reset();
    network_.reset();
  }

  static std::string HostName(int host) { return "host" + std::to_string(host); }

  // Both workers started a rank of the sweep's run (their logs say so).
  void ExpectRankOnEveryHost() {
    for (int host = 0; host < 2; ++host) {
      EXPECT_NE(cluster_->WorkerLog(HostName(host)).find(" of 2: started pid"), std::string::npos)
          << HostName(host) << " started no rank:\n"
          << cluster_->WorkerLog(HostName(host));
    }
  }

  std::unique_ptr<TestNetwork> network_;
  std::unique_ptr<Cluster> cluster_;
  std::string data_;
};

TEST_F(MultiHostTest, TwoRankRunSpansTwoHostsAndCompletes) {
  RealTrainerRun run;
  run.steps = 6;
  run.checkpoint_steps = 3;
  run.replicas = 2;
  const int64_t sweep = cluster_->Submit(RealTrainerSpec("two-hosts", data_, run));
  ASSERT_NE(sweep, 0);
  ASSERT_TRUE(cluster_->WaitSweepFinished(sweep, kSweepTimeoutS)) << cluster_->CoordinatorLog();
  const auto runs = cluster_->Runs(sweep);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_SUCCEEDED)
      << (runs[0].failure_reasons().empty() ? "" : runs[0].failure_reasons(0));
  ExpectRankOnEveryHost();
  ExpectCompleteMetrics(*cluster_, sweep, 6);
}

TEST_F(MultiHostTest, CutLinkEndsTheAttemptOnEveryRankAndTheRunResumesWhenItIsBack) {
  // Long enough a run (tens of ms a step) to be cut well before its end.
  RealTrainerRun run;
  run.steps = 150;
  run.checkpoint_steps = 20;
  run.batch_tokens = 2048;
  run.replicas = 2;
  const int64_t sweep = cluster_->Submit(RealTrainerSpec("cut-link", data_, run));
  ASSERT_NE(sweep, 0);
  const int64_t run_id = cluster_->Runs(sweep).at(0).run_id();
  // Mid-run, past the first checkpoint.
  ASSERT_TRUE(
      WaitFor([&] { return cluster_->GetRun(run_id).step() >= run.checkpoint_steps + 2; }, 90))
      << cluster_->CoordinatorLog();
  ASSERT_EQ(TrainersUnder(cluster_->dir().path()), 2);
  ExpectRankOnEveryHost();

  ASSERT_TRUE(network_->SetLinkUp(1, false)) << network_->error();
  // Host 1's lease expires; the coordinator cancels host 0's rank, which
  // fails its collective at the rank timeout, as does host 1's (cut off from
  // everyone, it keeps its own copy of the lease).
  ASSERT_TRUE(WaitFor([&] { return cluster_->GetRun(run_id).attempt_history_size() >= 1; }, 30))
      << cluster_->CoordinatorLog();
  EXPECT_TRUE(
      WaitFor([&] { return TrainersUnder(cluster_->dir().path()) == 0; }, kRankTimeoutS + 30))
      << TrainersUnder(cluster_->dir().path()) << " trainers still run";
  const v1::Run cut = cluster_->GetRun(run_id);
  EXPECT_EQ(cut.attempt_history(0).outcome(), v1::ATTEMPT_OUTCOME_EXPIRED)
      << cut.attempt_history(0).DebugString();
  EXPECT_NE(cut.attempt_history(0).reason().find("lease expired"), std::string::npos)
      << cut.attempt_history(0).reason();
  EXPECT_LT(cut.step(), run.steps);

  ASSERT_TRUE(network_->SetLinkUp(1, true)) << network_->error();
  ASSERT_TRUE(cluster_->WaitSweepFinished(sweep, kSweepTimeoutS)) << cluster_->CoordinatorLog();
  const v1::Run resumed = cluster_->GetRun(run_id);
  EXPECT_EQ(resumed.state(), v1::RUN_STATE_SUCCEEDED)
      << (resumed.failure_reasons().empty() ? "" : resumed.failure_reasons(0));
  ASSERT_GE(resumed.attempt_history_size(), 2);
  EXPECT_GE(resumed.attempt_history(resumed.attempt_history_size() - 1).resumed_from_step(),
            run.checkpoint_steps);
  ExpectCompleteMetrics(*cluster_, sweep, run.steps);
}

}  // namespace
}  // namespace flopwise::testing
