// The worker daemon's engine against an in-memory coordinator and the
// stand-in trainer: reports, retries, cancel, divergence, crashes,
// re-registration, graceful stop and resume.
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/integration/fake_link.h"
#include "tests/integration/test_paths.h"
#include "worker/daemon/work_dir_lock.h"
#include "worker/daemon/worker.h"

namespace flopwise::workerd {
namespace {

using flopwise::testing::BinPath;
using flopwise::testing::TempDir;
using flopwise::testing::WaitFor;

constexpr double kTimeoutS = 30;

v1::Lease MakeLease(const std::string& lease_id, int attempt, int64_t steps) {
  v1::Lease lease;
  lease.set_lease_id(lease_id);
  lease.set_run_id(1);
  lease.set_attempt(attempt);
  lease.set_run_name("tnl-test");
  lease.set_run_dir_name("run-1");
  lease.set_resume_step(-1);
  lease.mutable_resources()->set_cpu_cores(1);
  lease.mutable_resources()->set_memory_bytes(int64_t{1} << 30);
  v1::RunConfig* config = lease.mutable_config();
  config->mutable_model()->set_arch(v1::ARCHITECTURE_TNL);
  config->mutable_model()->set_preset("cpu-1");
  config->set_batch_tokens(100);
  config->set_total_tokens(100 * steps);
  config->set_checkpoint_every_tokens(500);
  config->set_log_every_steps(1);
  config->set_lr(3e-4);
  return lease;
}

// Runs a Worker on its own thread for the test's lifetime.
class WorkerHarness {
 public:
  WorkerHarness(testing::FakeLink* link, const std::string& work_dir, int64_t step_ms,
                std::vector<std::pair<std::string, std::string>> env = {}) {
    WorkerOptions options;
    options.trainer_path = BinPath("flopwise-fake-train");
    options.work_dir = work_dir;
    options.max_runs = 2;
    options.threads_per_run = 1;
    options.host.cpu_cores = 2;
    options.host.memory_bytes = int64_t{8} << 30;
    options.backoff = {.initial_ms = 20, .max_ms = 200, .multiplier = 2, .jitter = 0.1};
    options.poll_ms = 10;
    options.trainer_env = std::move(env);
    options.trainer_env.emplace_back("FLOPWISE_FAKE_STEP_MS", std::to_string(step_ms));
    worker_ = std::make_unique<Worker>(options, link);
    thread_ = std::thread([this] { status_ = worker_->Run(); });
  }
  ~WorkerHarness() { Stop().IgnoreError(); }
  absl::Status Stop() {
    if (thread_.joinable()) {
      worker_->RequestStop();
      thread_.join();
    }
    return status_;
  }
  Worker& worker() { return *worker_; }

 private:
  std::unique_ptr<Worker> worker_;
  std::thread thread_;
  absl::Status status_;
};

TEST(WorkDirLock, ASecondHolderIsRefusedUntilTheFirstLetsGo) {
  TempDir dir;
  absl::StatusOr<WorkDirLock> first = WorkDirLock::Acquire(dir.path());
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<WorkDirLock> second = WorkDirLock::Acquire(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(
                absl::StrCat("in use by another flopwise-worker (held by pid ", getpid(), ")")),
            std::string::npos)
      << second.status();
  { WorkDirLock released = std::move(*first); }
  EXPECT_TRUE(WorkDirLock::Acquire(dir.path()).ok());
}

TEST(WorkDirLock, AMissingFolderIsNamed) {
  absl::StatusOr<WorkDirLock> lock = WorkDirLock::Acquire("/nonexistent/flopwise-work");
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.status().message().find("--work-dir /nonexistent/flopwise-work: cannot open"),
            std::string::npos)
      << lock.status();
}

// Two workers on one folder would share one worker id and its leases.
TEST(WorkerEngine, ASecondWorkerOnTheSameWorkDirStopsWithAClearError) {
  TempDir dir;
  testing::FakeLink link;
  WorkerHarness first(&link, dir.path(), 2);
  ASSERT_TRUE(WaitFor([&] { return link.recorded().registrations > 0; }, kTimeoutS));
  WorkerHarness second(&link, dir.path(), 2);
  const absl::Status refused = second.Stop();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("in use by another flopwise-worker"), std::string::npos)
      << refused;
  ASSERT_TRUE(first.Stop().ok());
  WorkerHarness third(&link, dir.path(), 2);  // the folder is free once the first returns
  ASSERT_TRUE(third.Stop().ok());
}

TEST(WorkerEngine, CompletesARunAndReportsEveryRowOnce) {
  TempDir dir;
  testing::FakeLink link;
  link.AddLease(MakeLease("L1", 1, 20));
  WorkerHarness harness(&link, dir.path(), 2);
  ASSERT_TRUE(WaitFor([&] { return link.recorded().completes.size() == 1; }, kTimeoutS));
  ASSERT_TRUE(harness.Stop().ok());
  const auto recorded = link.recorded();
  EXPECT_EQ(recorded.completes[0].step(), 20);
  EXPECT_EQ(recorded.completes[0].tokens(), 2000);
  ASSERT_FALSE(recorded.metrics.empty());
  EXPECT_EQ(recorded.metrics[0].resumed_from_step(), -1);
  const auto rows = link.StoredRows("L1");
  ASSERT_EQ(rows.size(), 20u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].seq(), static_cast<int64_t>(i));
    EXPECT_EQ(rows[i].step(), static_cast<int64_t>(i) + 1);
  }
  ASSERT_EQ(recorded.checkpoints.size(), 4u);  // at 500, 1000, 1500 tokens and the final one
  for (size_t i = 0; i < recorded.checkpoints.size(); ++i) {
    EXPECT_EQ(recorded.checkpoints[i].checkpoint().seq(), static_cast<int64_t>(i));
    EXPECT_TRUE(std::filesystem::exists(recorded.checkpoints[i].checkpoint().path()));
  }
  EXPECT_EQ(harness.worker().worker_id(), "fake-1");
}

TEST(WorkerEngine, OffersWhatIsLeftOfTheGrantedResources) {
  TempDir dir;
  testing::FakeLink link;
  v1::Lease lease = MakeLease("L1", 1, 100000);
  lease.mutable_resources()->set_cpu_cores(2);
  lease.mutable_resources()->set_memory_bytes(int64_t{6} << 30);
  link.AddLease(lease);
  WorkerHarness harness(&link, dir.path(), 10);  // 2 cores, 8 GiB, 1 thread per run
  ASSERT_TRUE(WaitFor([&] { return !link.StoredRows("L1").empty(); }, kTimeoutS));
  const size_t seen = link.recorded().acquires.size();
  ASSERT_TRUE(WaitFor([&] { return link.recorded().acquires.size() > seen; }, kTimeoutS));
  const v1::AcquireRunRequest request = link.recorded().acquires.back();
  EXPECT_EQ(request.free_cpu_cores(), 0);
  EXPECT_EQ(request.free_memory_bytes(), int64_t{2} << 30);
}

TEST(WorkerEngine, LosesNothingWhileTheCoordinatorIsUnreachable) {
  TempDir dir;
  testing::FakeLink link;
  link.AddLease(MakeLease("L1", 1, 40));
  WorkerHarness harness(&link, dir.path(), 15);
  ASSERT_TRUE(WaitFor([&] { return !link.StoredRows("L1").empty(); }, kTimeoutS));
  link.SetUnavailable(true);
  ASSERT_TRUE(WaitFor([&] { return link.recorded().failed_calls >= 3; }, kTimeoutS));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  link.SetUnavailable(false);
  ASSERT_TRUE(WaitFor([&] { return link.recorded().completes.size() == 1; }, kTimeoutS));
  const auto rows = link.StoredRows("L1");
  ASSERT_EQ(rows.size(), 40u);
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].step(), static_cast<int64_t>(i) + 1);
}

TEST(WorkerEngine, CancelInstructionStopsTheTrainer) {
  TempDir dir;
  const std::string pid_dir = dir.Sub("pids");
  std::filesystem::create_directories(pid_dir);
  testing::FakeLink link;
  link.AddLease(MakeLease("L1", 1, 100000));
  WorkerHarness harness(&link, dir.Sub("work"), 10, {{"FLOPWISE_FAKE_PID_DIR", pid_dir}});
  ASSERT_TRUE(WaitFor([&] { return !link.StoredRows("L1").empty(); }, kTimeoutS));
  ASSERT_FALSE(std::filesystem::is_empty(pid_dir));
  link.CancelLease("L1");
  EXPECT_TRUE(WaitFor([&] { return std::filesystem::is_empty(pid_dir); }, kTimeoutS));
  ASSERT_TRUE(harness.Stop().ok());
  const auto recorded = link.recorded();
  EXPECT_TRUE(recorded.completes.empty());
  EXPECT_TRUE(recorded.fails.empty());
  EXPECT_TRUE(recorded.releases.empty());
}

TEST(WorkerEngine, NaNLossIsReportedAsDiverged) {
  TempDir dir;
  testing::FakeLink link;
  link.AddLease(MakeLease("L1", 1, 50));
  WorkerHarness harness(&link, dir.path(), 2, {{"FLOPWISE_FAKE_NAN_AT_STEP", "3"}});
  ASSERT_TRUE(WaitFor([&] { return link.recorded().fails.size() == 1; }, kTimeoutS));
  const auto fail = link.recorded().fails[0];
  EXPECT_TRUE(fail.diverged());
  EXPECT_NE(fail.reason().find("step 3"), std::string::npos) << fail.reason();
  EXPECT_EQ(link.StoredRows("L1").size(), 2u);
}

TEST(WorkerEngine, CrashIsAFailureNamingTheSignal) {
  TempDir dir;
  testing::FakeLink link;
  link.AddLease(MakeLease("L1", 1, 50));
  WorkerHarness harness(&link, dir.path(), 2, {{"FLOPWISE_FAKE_CRASH_AT_STEP", "4"}});
  ASSERT_TRUE(WaitFor([&] { return link.recorded().fails.size() == 1; }, kTimeoutS));
  const auto fail = link.recorded().fails[0];
  EXPECT_FALSE(fail.diverged());
  EXPECT_NE(fail.reason().find("signal 6"), std::string::npos) << fail.reason();
}

TEST(WorkerEngine, EachAttemptReportsWhereItsTrainerLogIs) {
  TempDir dir;
  testing::FakeLink link;
  link.AddLease(MakeLease("L1", 2, 50));
  WorkerHarness harness(&link, dir.path(), 2, {{"FLOPWISE_FAKE_CRASH_AT_STEP", "2"}});
  ASSERT_TRUE(WaitFor([&] { return link.recorded().fails.size() == 1; }, kTimeoutS));
  const auto recorded = link.recorded();
  ASSERT_EQ(recorded.log_paths.size(), 1u);
  EXPECT_EQ(recorded.log_paths[0].lease_id(), "L1");
  EXPECT_EQ(recorded.log_paths[0].attempt(), 2);
  const std::filesystem::path log = recorded.log_paths[0].log_path();
  EXPECT_TRUE(log.is_absolute()) << log;
  EXPECT_EQ(log, std::filesystem::absolute(dir.path()).lexically_normal() / "logs" /
                     "run-1.attempt-2.log");
  EXPECT_TRUE(std::filesystem::exists(log)) << log;
}

TEST(WorkerEngine, RegistersAgainWhenTheCoordinatorForgetsIt) {
  TempDir dir;
  testing::FakeLink link;
  WorkerHarness harness(&link, dir.path(), 2);
  ASSERT_TRUE(WaitFor([&] { return link.recorded().heartbeats >= 1; }, kTimeoutS));
  EXPECT_EQ(link.recorded().registrations, 1);
  link.ForgetWorker();
  ASSERT_TRUE(WaitFor([&] { return link.recorded().registrations == 2; }, kTimeoutS));
  EXPECT_EQ(harness.worker().worker_id(), "fake-1");
  link.AddLease(MakeLease("L1", 1, 5));
  EXPECT_TRUE(WaitFor([&] { return link.recorded().completes.size() == 1; }, kTimeoutS));
}

TEST(WorkerEngine, StopCheckpointsReleasesAndTheNextAttemptResumes) {
  TempDir dir;
  testing::FakeLink link;
  link.AddLease(MakeLease("L1", 1, 100000));
  {
    WorkerHarness harness(&link, dir.path(), 10);
    ASSERT_TRUE(WaitFor([&] { return link.StoredRows("L1").size() >= 3; }, kTimeoutS));
    ASSERT_TRUE(harness.Stop().ok());
  }
  auto recorded = link.recorded();
  ASSERT_EQ(recorded.releases.size(), 1u);
  ASSERT_FALSE(recorded.checkpoints.empty());
  const int64_t stopped_at = recorded.checkpoints.back().checkpoint().step();
  EXPECT_EQ(stopped_at, link.StoredRows("L1").back().step());

  v1::Lease second = MakeLease("L2", 2, stopped_at + 5);
  second.set_resume_step(stopped_at);
  link.AddLease(second);
  WorkerHarness harness(&link, dir.path(), 2);
  ASSERT_TRUE(WaitFor([&] { return link.recorded().completes.size() == 1; }, kTimeoutS));
  recorded = link.recorded();
  const v1::ReportMetricsRequest* first_of_l2 = nullptr;
  for (const auto& batch : recorded.metrics) {
    if (batch.lease_id() == "L2") {
      first_of_l2 = &batch;
      break;
    }
  }
  ASSERT_NE(first_of_l2, nullptr);
  EXPECT_EQ(first_of_l2->resumed_from_step(), stopped_at);
  const auto rows = link.StoredRows("L2");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows.front().step(), stopped_at + 1);
  EXPECT_EQ(rows.front().seq(), 0);
}

TEST(WorkerEngine, CheckpointsTheCoordinatorNeverHeardOfAreSetAside) {
  TempDir dir;
  testing::FakeLink link;
  link.AddLease(MakeLease("L1", 1, 100000));
  {
    WorkerHarness harness(&link, dir.path(), 10);
    ASSERT_TRUE(WaitFor([&] { return link.StoredRows("L1").size() >= 3; }, kTimeoutS));
    ASSERT_TRUE(harness.Stop().ok());
  }
  // The coordinator knows no checkpoint (resume_step -1): start from scratch.
  link.AddLease(MakeLease("L2", 2, 6));
  WorkerHarness harness(&link, dir.path(), 2);
  ASSERT_TRUE(WaitFor([&] { return link.recorded().completes.size() == 1; }, kTimeoutS));
  const auto rows = link.StoredRows("L2");
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows.front().step(), 1);
  const std::string run_dir = dir.path() + "/checkpoints/run-1";
  EXPECT_FALSE(std::filesystem::is_empty(run_dir + "/.unreported"));
}

}  // namespace
// `flopwise-worker --log-format json` writes one JSON object per line (for log
// shippers), here the lines of a worker that cannot reach its coordinator.
TEST(WorkerLogs, JsonFormatIsOneObjectPerLine) {
  TempDir dir;
  const std::string token = dir.path() + "/token";
  std::ofstream(token) << "worker-token-0123456789\n";
  ::chmod(token.c_str(), 0600);
  const std::string command = "timeout -s TERM 3 " + BinPath("flopwise-worker") +
                              " --coordinator 127.0.0.1:1 --token-file " + token + " --work-dir " +
                              dir.path() + "/work --log-format json 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
  pclose(pipe);
  std::istringstream lines(out);
  int parsed = 0;
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(entry.is_discarded()) << line;
    EXPECT_EQ(entry.value("logger", ""), "flopwise-worker") << line;
    EXPECT_TRUE(entry.contains("time") && entry.contains("level") && entry.contains("message"))
        << line;
    ++parsed;
  }
  EXPECT_GT(parsed, 0) << out;
}

}  // namespace flopwise::workerd
