// End to end with the real trainer: a coordinator and two workers on
// loopback, a sweep whose run has two ranks, one on each worker, meeting
// through the coordinator's rendezvous (grpc://). The run completes, every
// step is reported once, and its losses are one rank's on the same global
// batch, to the tolerance of tests/train/data_parallel_test.cc.
#include <cmath>
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "tests/integration/cluster.h"
#include "tests/integration/real_trainer_sweep.h"

namespace flopwise::testing {
namespace {

// Summation order only (docs/distributed.md, "Tolerance").
constexpr double kLossRelativeTolerance = 1e-5;
constexpr int kSteps = 8;
constexpr double kSweepTimeoutS = 120;

// Runs one sweep to its end and returns its run's losses by step, with the
// run's checks (succeeded, every step once).
std::map<int64_t, double> RunSweep(Cluster& cluster, const std::string& spec) {
  const int64_t sweep = cluster.Submit(spec);
  if (sweep == 0) return {};
  EXPECT_TRUE(cluster.WaitSweepFinished(sweep, kSweepTimeoutS)) << cluster.CoordinatorLog();
  const auto runs = cluster.Runs(sweep);
  EXPECT_EQ(runs.size(), 1u);
  for (const v1::Run& run : runs) {
    EXPECT_EQ(run.state(), v1::RUN_STATE_SUCCEEDED)
        << run.name() << ": " << (run.failure_reasons().empty() ? "" : run.failure_reasons(0));
  }
  ExpectCompleteMetrics(cluster, sweep, kSteps);
  return LossesByStep(cluster, sweep);
}

TEST(DataParallelDaemons, TwoRanksOnTwoWorkersReportOnceAndMatchOneRank) {
  for (const char* program : {"flopwise-coordinator", "flopwise-worker", "flopwise-train"}) {
    if (!HaveProgram(program)) GTEST_SKIP() << program << " is not built";
  }
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  const std::string data = PrepareTinyData(cluster.dir());
  ASSERT_FALSE(data.empty());
  WorkerLaunch launch;
  launch.trainer = BinPath("flopwise-train");
  cluster.LaunchWorker("w1", launch);
  cluster.LaunchWorker("w2", launch);

  // A worker offers 2 cores and a rank asks for 2: one rank on each worker.
  RealTrainerRun run;
  run.steps = kSteps;
  run.replicas = 2;
  const std::map<int64_t, double> two_ranks =
      RunSweep(cluster, RealTrainerSpec("two-ranks", data, run));
  for (const char* worker : {"w1", "w2"}) {
    EXPECT_NE(cluster.WorkerLog(worker).find(" of 2: started pid"), std::string::npos)
        << worker << " started no rank:\n"
        << cluster.WorkerLog(worker);
  }
  run.replicas = 1;
  const std::map<int64_t, double> one_rank =
      RunSweep(cluster, RealTrainerSpec("one-rank", data, run));

  ASSERT_EQ(two_ranks.size(), static_cast<size_t>(kSteps));
  ASSERT_EQ(one_rank.size(), static_cast<size_t>(kSteps));
  for (const auto& [step, loss] : one_rank) {
    EXPECT_NEAR(two_ranks.at(step), loss, kLossRelativeTolerance * loss) << "step " << step;
  }
  // The loss moved: the comparison was of training, not of a constant.
  EXPECT_LT(one_rank.at(kSteps), one_rank.at(1));
}

}  // namespace
}  // namespace flopwise::testing
