// Why a pending run waits, and the submit warnings, from a run's resources and
// the registered workers (pure functions).
#include "server/pending_reason.h"

#include <gtest/gtest.h>

#include <vector>

namespace flopwise::server {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

RunPlan CpuRun(const std::string& name, int cores, int64_t memory_bytes) {
  RunPlan plan;
  plan.set_name(name);
  plan.mutable_resources()->set_cpu_cores(cores);
  plan.mutable_resources()->set_memory_bytes(memory_bytes);
  return plan;
}

WorkerCapacity Worker(const std::string& id, int cores, int64_t memory_bytes) {
  return WorkerCapacity{id, FreeResources{cores, memory_bytes, 0, 0}, /*alive=*/true,
                        /*draining=*/false};
}

TEST(PendingReason, NoWorkerRegistered) {
  EXPECT_EQ(PendingReason(CpuRun("r", 1, kGiB), 0, {}), "no worker registered");
}

TEST(PendingReason, ARunNoWorkerCouldHoldNamesTheLargestWorker) {
  const std::vector<WorkerCapacity> workers = {Worker("a", 8, 16 * kGiB),
                                               Worker("b", 16, 24 * kGiB)};
  EXPECT_EQ(PendingReason(CpuRun("llama-7B", 4, 40 * kGiB), 0, workers),
            "needs 4 cores / 40.0 GiB; the largest registered worker has 16 cores / 24.0 GiB");
  RunPlan gpu_run = CpuRun("gpu", 1, 80 * kGiB);
  gpu_run.mutable_resources()->set_gpus(1);
  EXPECT_EQ(PendingReason(gpu_run, 0, workers),
            "needs 1 GPU / 80.0 GiB each; the largest registered worker has no GPU");
  std::vector<WorkerCapacity> gpu_workers = workers;
  gpu_workers[0].inventory.gpus = 2;
  gpu_workers[0].inventory.gpu_memory_bytes = 24 * kGiB;
  EXPECT_EQ(PendingReason(gpu_run, 0, gpu_workers),
            "needs 1 GPU / 80.0 GiB each; the largest registered worker has 2 GPUs of 24.0 GiB");
}

TEST(PendingReason, WorkersThatCouldTakeItButDoNot) {
  std::vector<WorkerCapacity> workers = {Worker("small", 1, 2 * kGiB), Worker("big", 8, 16 * kGiB)};
  const RunPlan run = CpuRun("r", 2, 4 * kGiB);
  workers[1].draining = true;
  EXPECT_EQ(PendingReason(run, 0, workers), "every worker that could take it is draining");
  workers[1].alive = false;
  EXPECT_EQ(PendingReason(run, 0, workers),
            "every worker that could take it is lost (no heartbeat)");
}

TEST(PendingReason, QueuePosition) {
  const std::vector<WorkerCapacity> workers = {Worker("w", 4, 16 * kGiB)};
  const RunPlan run = CpuRun("r", 1, 3 * kGiB);
  EXPECT_EQ(PendingReason(run, 3, workers), "3 runs ahead in the queue");
  EXPECT_EQ(PendingReason(run, 1, workers), "1 run ahead in the queue");
  EXPECT_EQ(PendingReason(run, 0, workers),
            "next in the queue: waiting for a worker with 1 core / 3.0 GiB free");
}

TEST(SubmitWarnings, OneLinePerRunNoRegisteredWorkerCouldHold) {
  const std::vector<RunPlan> runs = {CpuRun("small", 1, kGiB), CpuRun("huge", 4, 64 * kGiB)};
  EXPECT_TRUE(SubmitWarnings(runs, {}).empty());  // workers may register later
  const std::vector<WorkerCapacity> workers = {Worker("w", 4, 16 * kGiB)};
  const std::vector<std::string> warnings = SubmitWarnings(runs, workers);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "huge: needs 4 cores / 64.0 GiB; the largest registered worker has 4 cores / 16.0 GiB");
}

}  // namespace
}  // namespace flopwise::server
