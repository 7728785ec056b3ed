// Scheduler on its own: a temporary SQLite store, an injected clock, no gRPC.
#include "server/scheduler.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "db/store.h"

namespace flopwise::server {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::flopwise::v1;

constexpr int64_t kLeaseMs = 10'000;
constexpr int64_t kGraceMs = 5'000;
constexpr int64_t kGiB = int64_t{1} << 30;

// A run of 4 steps of 1024 tokens needing one core and `memory_bytes`.
RunPlan Plan(const std::string& name, int priority, int max_attempts, int64_t memory_bytes = kGiB) {
  RunPlan plan;
  plan.set_name(name);
  plan.mutable_config()->mutable_model()->set_arch(v1::ARCHITECTURE_LLAMA);
  plan.mutable_config()->mutable_model()->set_preset("cpu-1");
  plan.mutable_config()->set_total_tokens(4096);
  plan.mutable_config()->set_batch_tokens(1024);
  plan.set_priority(priority);
  plan.set_max_attempts(max_attempts);
  plan.mutable_resources()->set_cpu_cores(1);
  plan.mutable_resources()->set_memory_bytes(memory_bytes);
  return plan;
}

FreeResources Free(int cpu_cores = 4, int64_t memory_bytes = 16 * kGiB) {
  FreeResources free;
  free.cpu_cores = cpu_cores;
  free.memory_bytes = memory_bytes;
  return free;
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    std::string pattern = (fs::temp_directory_path() / "flopwise-scheduler-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto store = db::Store::Open((dir_ / "scheduler.db").string());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    CreateScheduler();
  }
  void TearDown() override {
    scheduler_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  // A scheduler over the store as it stands (what a restarted coordinator builds).
  void CreateScheduler() {
    SchedulerOptions options;
    options.lease_duration_ms = kLeaseMs;
    options.heartbeat_interval_ms = 1'000;
    options.restart_grace_ms = kGraceMs;
    scheduler_.reset();
    auto scheduler = Scheduler::Create(store_.get(), options, [this] { return now_ms_.load(); });
    ASSERT_TRUE(scheduler.ok()) << scheduler.status();
    scheduler_ = std::move(*scheduler);
  }

  // Submits a sweep of `runs`; their run ids, in order.
  std::vector<int64_t> Submit(const std::string& name, const std::vector<RunPlan>& runs) {
    db::NewSweep sweep;
    sweep.name = name;
    sweep.created_ms = now_ms_;
    std::vector<RunPlan> indexed = runs;
    for (size_t i = 0; i < indexed.size(); ++i) indexed[i].set_index_in_sweep(static_cast<int>(i));
    auto created = scheduler_->SubmitSweep(sweep, indexed);
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return {};
    sweep_ids_.push_back(created->sweep_id);
    return created->run_ids;
  }

  std::string Register(const std::string& hostname) {
    auto id = scheduler_->RegisterWorker("", hostname, "{}");
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or("");
  }

  // The grant, or nullopt when nothing was leased (failing on an error).
  std::optional<LeaseGrant> Acquire(const std::string& worker_id,
                                    const FreeResources& free = Free()) {
    auto grant = scheduler_->AcquireRun(worker_id, free);
    EXPECT_TRUE(grant.ok()) << grant.status();
    return grant.ok() ? *grant : std::nullopt;
  }

  db::RunState StateOf(int64_t run_id) {
    auto run = store_->GetRun(run_id);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? run->state : db::RunState::kPending;
  }

  // Reports the run's last step (4 of 1024 tokens), which CompleteRun needs.
  void ReportLastStep(const LeaseGrant& grant) {
    const db::MetricRow last{.seq = 0, .step = 4, .tokens = 4096};
    auto reported =
        scheduler_->ReportMetrics(grant.lease_id, grant.attempt, std::span(&last, 1), std::nullopt);
    EXPECT_TRUE(reported.ok()) << reported.status();
  }

  // Moves the clock past the deadline of a lease granted now.
  void PassLeaseDeadline() { now_ms_ += kLeaseMs + 1; }

  fs::path dir_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::unique_ptr<db::Store> store_;
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<int64_t> sweep_ids_;
};

TEST_F(SchedulerTest, LeasesHighestPriorityFirstThenOldestRun) {
  const std::vector<int64_t> low = Submit("low", {Plan("low-a", 0, 1), Plan("low-b", 0, 1)});
  const std::vector<int64_t> high = Submit("high", {Plan("high", 5, 1)});
  const std::string worker = Register("host");
  std::vector<int64_t> order;
  while (std::optional<LeaseGrant> grant = Acquire(worker)) order.push_back(grant->run_id);
  EXPECT_EQ(order, (std::vector<int64_t>{high[0], low[0], low[1]}));
  EXPECT_EQ(StateOf(high[0]), db::RunState::kRunning);
}

TEST_F(SchedulerTest, LeasesOnlyRunsThatFitTheFreeResources) {
  const std::vector<int64_t> runs =
      Submit("mixed", {Plan("big", 9, 1, 8 * kGiB), Plan("small", 0, 1, kGiB)});
  const std::string worker = Register("host");
  EXPECT_FALSE(Acquire(worker, Free(/*cpu_cores=*/0)).has_value());
  std::optional<LeaseGrant> grant = Acquire(worker, Free(4, 2 * kGiB));
  ASSERT_TRUE(grant.has_value());
  EXPECT_EQ(grant->run_id, runs[1]);
  EXPECT_EQ(grant->attempt, 1);
  EXPECT_EQ(grant->lease_deadline_ms, now_ms_ + kLeaseMs);
  EXPECT_FALSE(Acquire(worker, Free(4, 2 * kGiB)).has_value());
  grant = Acquire(worker, Free(4, 8 * kGiB));
  ASSERT_TRUE(grant.has_value());
  EXPECT_EQ(grant->run_id, runs[0]);
}

TEST_F(SchedulerTest, UnknownWorkerMustRegister) {
  Submit("one", {Plan("run", 0, 1)});
  EXPECT_TRUE(absl::IsNotFound(scheduler_->AcquireRun("nobody", Free()).status()));
  EXPECT_TRUE(absl::IsNotFound(scheduler_->Heartbeat("nobody", {}).status()));
}

TEST_F(SchedulerTest, HeartbeatMovesTheDeadline) {
  Submit("one", {Plan("run", 0, 1)});
  const std::string worker = Register("host");
  std::optional<LeaseGrant> grant = Acquire(worker);
  ASSERT_TRUE(grant.has_value());
  now_ms_ += kLeaseMs / 2;
  const LeaseHeartbeat beat{grant->lease_id, grant->attempt, 10, 640, 3.5, 100};
  auto result = scheduler_->Heartbeat(worker, std::span(&beat, 1));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->verdicts.size(), 1u);
  EXPECT_FALSE(result->verdicts[0].cancel);
  EXPECT_EQ(result->verdicts[0].lease_deadline_ms, now_ms_ + kLeaseMs);
  now_ms_ += kLeaseMs / 2 + 1;  // past the first deadline, before the new one
  EXPECT_EQ(scheduler_->ReapExpiredLeases().value_or(-1), 0);
  std::optional<RunProgress> progress = scheduler_->Progress(grant->run_id);
  ASSERT_TRUE(progress.has_value());
  EXPECT_EQ(progress->step, 10);
  EXPECT_EQ(progress->worker_id, worker);
}

TEST_F(SchedulerTest, ExpiredLeaseRequeuesTheRunForItsNextAttempt) {
  const std::vector<int64_t> runs = Submit("one", {Plan("run", 0, 3)});
  const std::string worker = Register("host");
  std::optional<LeaseGrant> first = Acquire(worker);
  ASSERT_TRUE(first.has_value());
  PassLeaseDeadline();
  EXPECT_EQ(scheduler_->ReapExpiredLeases().value_or(-1), 1);
  EXPECT_EQ(StateOf(runs[0]), db::RunState::kPending);
  auto attempt = store_->FindLease(first->lease_id);
  ASSERT_TRUE(attempt.ok()) << attempt.status();
  EXPECT_EQ(attempt->state, db::AttemptState::kExpired);
  // The expired lease's heartbeat is told to stop.
  const LeaseHeartbeat beat{first->lease_id, first->attempt, 1, 64, 5, 10};
  auto result = scheduler_->Heartbeat(worker, std::span(&beat, 1));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->verdicts[0].cancel);
  std::optional<LeaseGrant> second = Acquire(worker);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->run_id, runs[0]);
  EXPECT_EQ(second->attempt, 2);
  EXPECT_NE(second->lease_id, first->lease_id);
}

// A worker restarted with its old id has lost its trainers: its leases end
// at once instead of a lease length later. One re-registering after a
// coordinator restart names the leases it still runs, and keeps them.
TEST_F(SchedulerTest, RegisteringAgainEndsOnlyTheLeasesTheWorkerNoLongerHolds) {
  const std::vector<int64_t> runs = Submit("two", {Plan("kept", 0, 3), Plan("lost", 0, 3)});
  const std::string worker = Register("host");
  std::optional<LeaseGrant> kept = Acquire(worker);
  std::optional<LeaseGrant> lost = Acquire(worker);
  ASSERT_TRUE(kept.has_value() && lost.has_value());
  auto again = scheduler_->RegisterWorker(worker, "host", "{}", {kept->lease_id});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, worker);
  EXPECT_EQ(StateOf(kept->run_id), db::RunState::kRunning);
  EXPECT_EQ(StateOf(lost->run_id), db::RunState::kPending);
  auto attempt = store_->FindLease(lost->lease_id);
  ASSERT_TRUE(attempt.ok()) << attempt.status();
  EXPECT_EQ(attempt->state, db::AttemptState::kExpired);
  EXPECT_NE(attempt->reason.find("restarted"), std::string::npos) << attempt->reason;
  std::optional<LeaseGrant> retried = Acquire(worker);
  ASSERT_TRUE(retried.has_value());
  EXPECT_EQ(retried->run_id, lost->run_id);
  EXPECT_EQ(retried->attempt, 2);
  EXPECT_EQ(runs.size(), 2u);
}

TEST_F(SchedulerTest, RunFailsOnceMaxAttemptsAreUsed) {
  const std::vector<int64_t> runs = Submit("one", {Plan("run", 0, 2)});
  const std::string worker = Register("host");
  std::optional<LeaseGrant> first = Acquire(worker);
  ASSERT_TRUE(first.has_value());
  auto state = scheduler_->FailRun(first->lease_id, first->attempt, "trainer crashed", false);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, db::RunState::kPending);
  std::optional<LeaseGrant> second = Acquire(worker);
  ASSERT_TRUE(second.has_value());
  PassLeaseDeadline();
  EXPECT_EQ(scheduler_->ReapExpiredLeases().value_or(-1), 1);
  EXPECT_EQ(StateOf(runs[0]), db::RunState::kFailed);
  EXPECT_FALSE(Acquire(worker).has_value());
  auto sweep = store_->GetSweep(sweep_ids_[0]);
  ASSERT_TRUE(sweep.ok()) << sweep.status();
  EXPECT_EQ(sweep->state, db::SweepState::kCompleted);
}

TEST_F(SchedulerTest, DivergedRunIsNotRetried) {
  const std::vector<int64_t> runs = Submit("one", {Plan("run", 0, 3)});
  const std::string worker = Register("host");
  std::optional<LeaseGrant> grant = Acquire(worker);
  ASSERT_TRUE(grant.has_value());
  auto state = scheduler_->FailRun(grant->lease_id, grant->attempt, "loss is NaN", true);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, db::RunState::kDiverged);
  EXPECT_EQ(StateOf(runs[0]), db::RunState::kDiverged);
  EXPECT_FALSE(Acquire(worker).has_value());
}

TEST_F(SchedulerTest, ReleaseDoesNotCountAsAnAttempt) {
  const std::vector<int64_t> runs = Submit("one", {Plan("run", 0, 1)});
  const std::string worker = Register("host");
  std::optional<LeaseGrant> first = Acquire(worker);
  ASSERT_TRUE(first.has_value());
  auto state = scheduler_->ReleaseRun(first->lease_id, first->attempt, "worker stopping");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, db::RunState::kPending);
  // With max_attempts 1, a counted first attempt would leave nothing to lease.
  std::optional<LeaseGrant> second = Acquire(worker);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->attempt, 2);
  PassLeaseDeadline();
  EXPECT_EQ(scheduler_->ReapExpiredLeases().value_or(-1), 1);
  EXPECT_EQ(StateOf(runs[0]), db::RunState::kFailed);
}

TEST_F(SchedulerTest, ReportsForAnEndedLeaseAreRefused) {
  Submit("one", {Plan("run", 0, 1)});
  const std::string worker = Register("host");
  std::optional<LeaseGrant> grant = Acquire(worker);
  ASSERT_TRUE(grant.has_value());
  EXPECT_TRUE(
      absl::IsFailedPrecondition(scheduler_->CompleteRun(grant->lease_id, grant->attempt + 1)));
  ReportLastStep(*grant);
  ASSERT_TRUE(scheduler_->CompleteRun(grant->lease_id, grant->attempt).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(scheduler_->CompleteRun(grant->lease_id, grant->attempt)));
  EXPECT_TRUE(absl::IsNotFound(scheduler_->CompleteRun("no-such-lease", 1)));
}

TEST_F(SchedulerTest, CancelSweepStopsPendingAndRunningRuns) {
  const std::vector<int64_t> runs = Submit("two", {Plan("a", 0, 1), Plan("b", 0, 1)});
  const std::vector<int64_t> other = Submit("other", {Plan("c", 0, 1)});
  const std::string worker = Register("host");
  std::optional<LeaseGrant> running = Acquire(worker);
  ASSERT_TRUE(running.has_value());
  ASSERT_EQ(running->run_id, runs[0]);
  auto cancelled = scheduler_->CancelSweep(sweep_ids_[0]);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(*cancelled, 2);
  EXPECT_EQ(StateOf(runs[0]), db::RunState::kCancelled);
  EXPECT_EQ(StateOf(runs[1]), db::RunState::kCancelled);
  // The running run's worker learns it at its next heartbeat.
  const LeaseHeartbeat beat{running->lease_id, running->attempt, 1, 64, 5, 10};
  auto result = scheduler_->Heartbeat(worker, std::span(&beat, 1));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->verdicts[0].cancel);
  // Only the other sweep's run is left to lease.
  std::optional<LeaseGrant> next = Acquire(worker);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->run_id, other[0]);
  EXPECT_FALSE(Acquire(worker).has_value());
  EXPECT_TRUE(absl::IsFailedPrecondition(scheduler_->CancelSweep(sweep_ids_[0]).status()));
}

TEST_F(SchedulerTest, DrainingWorkerGetsNoRunsButKeepsItsLeases) {
  Submit("two", {Plan("a", 0, 1), Plan("b", 0, 1)});
  const std::string worker = Register("host");
  std::optional<LeaseGrant> grant = Acquire(worker);
  ASSERT_TRUE(grant.has_value());
  ASSERT_TRUE(scheduler_->SetDraining(worker, true).ok());
  EXPECT_TRUE(scheduler_->IsDraining(worker));
  EXPECT_FALSE(Acquire(worker).has_value());
  const LeaseHeartbeat beat{grant->lease_id, grant->attempt, 1, 64, 5, 10};
  auto result = scheduler_->Heartbeat(worker, std::span(&beat, 1));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->draining);
  EXPECT_FALSE(result->verdicts[0].cancel);
  ASSERT_TRUE(scheduler_->SetDraining(worker, false).ok());
  EXPECT_TRUE(Acquire(worker).has_value());
  EXPECT_TRUE(absl::IsNotFound(scheduler_->SetDraining("nobody", true)));
}

TEST_F(SchedulerTest, RecreatedSchedulerKeepsQueueAndLeasesWithGrace) {
  const std::vector<int64_t> runs = Submit("two", {Plan("a", 1, 1), Plan("b", 0, 1)});
  const std::string worker = Register("host");
  std::optional<LeaseGrant> grant = Acquire(worker);
  ASSERT_TRUE(grant.has_value());
  now_ms_ += kLeaseMs - 1;  // the lease has 1 ms left
  CreateScheduler();
  now_ms_ += kGraceMs - 1;  // past the stored deadline, within the restart grace
  EXPECT_EQ(scheduler_->ReapExpiredLeases().value_or(-1), 0);
  ReportLastStep(*grant);
  ASSERT_TRUE(scheduler_->CompleteRun(grant->lease_id, grant->attempt).ok());
  std::optional<LeaseGrant> next = Acquire(worker);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->run_id, runs[1]);
}

}  // namespace
}  // namespace flopwise::server
