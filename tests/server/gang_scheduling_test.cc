// Gang scheduling of data-parallel runs (resources.replicas > 1) in the
// Scheduler on its own: a temporary SQLite store, an injected clock, no gRPC.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "db/store.h"
#include "server/scheduler.h"

namespace flopwise::server {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::flopwise::v1;

constexpr int64_t kLeaseMs = 10'000;
constexpr int64_t kPickupMs = 3'000;
constexpr int64_t kHoldMs = 5'000;
constexpr int64_t kGiB = int64_t{1} << 30;

// A run of 4 steps of 1024 tokens whose `replicas` ranks need one core and
// 1 GiB each.
RunPlan Plan(const std::string& name, int replicas, int priority = 0) {
  RunPlan plan;
  plan.set_name(name);
  plan.mutable_config()->mutable_model()->set_arch(v1::ARCHITECTURE_LLAMA);
  plan.mutable_config()->mutable_model()->set_preset("cpu-1");
  plan.mutable_config()->set_total_tokens(4096);
  plan.mutable_config()->set_batch_tokens(1024);
  plan.set_priority(priority);
  plan.set_max_attempts(3);
  plan.mutable_resources()->set_cpu_cores(1);
  plan.mutable_resources()->set_memory_bytes(kGiB);
  if (replicas > 1) plan.mutable_resources()->set_replicas(replicas);
  return plan;
}

FreeResources Cores(int cpu_cores) { return FreeResources{cpu_cores, 16 * kGiB, 0, 0}; }

class GangSchedulingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    std::string pattern = (fs::temp_directory_path() / "flopwise-gang-XXXXXX").string();
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
    options.restart_grace_ms = kLeaseMs;
    options.gang_pickup_ms = kPickupMs;
    options.gang_hold_ms = kHoldMs;
    scheduler_.reset();
    auto scheduler = Scheduler::Create(store_.get(), options, [this] { return now_ms_.load(); });
    ASSERT_TRUE(scheduler.ok()) << scheduler.status();
    scheduler_ = std::move(*scheduler);
  }

  std::vector<int64_t> Submit(const std::vector<RunPlan>& runs) {
    db::NewSweep sweep;
    sweep.name = "gang";
    sweep.created_ms = now_ms_;
    std::vector<RunPlan> indexed = runs;
    for (size_t i = 0; i < indexed.size(); ++i) indexed[i].set_index_in_sweep(static_cast<int>(i));
    auto created = scheduler_->SubmitSweep(sweep, indexed);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->run_ids : std::vector<int64_t>{};
  }

  // A worker that registered `cpu_cores` cores and 16 GiB.
  std::string Register(const std::string& hostname, int cpu_cores) {
    const std::string inventory = "{\"cpu_cores\": " + std::to_string(cpu_cores) +
                                  ", \"memory_bytes\": " + std::to_string(16 * kGiB) +
                                  ", \"gpus\": []}";
    auto id = scheduler_->RegisterWorker("", hostname, inventory);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or("");
  }

  // The grant to a worker with `cores` free cores and `slots` free slots, or
  // nullopt when nothing was leased (failing on an error).
  std::optional<LeaseGrant> Acquire(const std::string& worker_id, int cores, int slots) {
    auto grant = scheduler_->AcquireRun(worker_id, Cores(cores), slots);
    EXPECT_TRUE(grant.ok()) << grant.status();
    return grant.ok() ? *grant : std::nullopt;
  }

  db::RunRecord Run(int64_t run_id) {
    auto run = store_->GetRun(run_id);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.value_or(db::RunRecord{});
  }

  std::vector<db::AttemptRecord> Attempts(int64_t run_id) {
    db::AttemptFilter filter;
    filter.run_id = run_id;
    auto attempts = store_->ListAttempts(filter);
    EXPECT_TRUE(attempts.ok()) << attempts.status();
    return attempts.value_or(std::vector<db::AttemptRecord>{});
  }

  // The verdict of one heartbeat of `grant` from `worker_id`.
  LeaseVerdict Beat(const std::string& worker_id, const LeaseGrant& grant) {
    const LeaseHeartbeat beat{grant.lease_id, grant.attempt, 0, 0, 0, 0};
    auto result = scheduler_->Heartbeat(worker_id, std::span(&beat, 1));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->verdicts.at(0) : LeaseVerdict{};
  }

  // Two ranks of `run_id` leased to w1 (rank 0) and w2 (rank 1).
  std::pair<LeaseGrant, LeaseGrant> LeaseAcross(const std::string& w1, const std::string& w2) {
    EXPECT_FALSE(Acquire(w2, 1, 1).has_value());  // w2 reports its free slot
    std::optional<LeaseGrant> rank0 = Acquire(w1, 1, 1);
    std::optional<LeaseGrant> rank1 = Acquire(w2, 1, 1);
    EXPECT_TRUE(rank0.has_value() && rank1.has_value());
    return {rank0.value_or(LeaseGrant{}), rank1.value_or(LeaseGrant{})};
  }

  fs::path dir_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::unique_ptr<db::Store> store_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(GangSchedulingTest, WorkerWithRoomForEveryRankGetsThemAll) {
  const int64_t run = Submit({Plan("dp", 2)})[0];
  const std::string worker = Register("host", 4);
  std::optional<LeaseGrant> rank0 = Acquire(worker, 4, 2);
  ASSERT_TRUE(rank0.has_value());
  EXPECT_EQ(rank0->run_id, run);
  EXPECT_EQ(rank0->rank, 0);
  EXPECT_EQ(rank0->world_size, 2);
  std::optional<LeaseGrant> rank1 = Acquire(worker, 3, 1);
  ASSERT_TRUE(rank1.has_value());
  EXPECT_EQ(rank1->run_id, run);
  EXPECT_EQ(rank1->rank, 1);
  EXPECT_EQ(rank1->world_size, 2);
  EXPECT_EQ(rank1->attempt, rank0->attempt);
  EXPECT_NE(rank1->lease_id, rank0->lease_id);
  EXPECT_EQ(scheduler_->RankWorkers()[run], (std::vector<std::string>{worker, worker}));
  EXPECT_EQ(Run(run).state, db::RunState::kRunning);
  EXPECT_EQ(Attempts(run).size(), 1u);  // one attempt spans both ranks
}

TEST_F(GangSchedulingTest, RanksSpanWorkersThatReportedFreeSlots) {
  const int64_t run = Submit({Plan("dp", 2)})[0];
  const std::string w1 = Register("a", 1);
  const std::string w2 = Register("b", 1);
  auto [rank0, rank1] = LeaseAcross(w1, w2);
  EXPECT_EQ(rank0.rank, 0);
  EXPECT_EQ(rank1.rank, 1);
  EXPECT_EQ(scheduler_->RankWorkers()[run], (std::vector<std::string>{w1, w2}));
  EXPECT_FALSE(Beat(w1, rank0).cancel);
  EXPECT_FALSE(Beat(w2, rank1).cancel);
}

TEST_F(GangSchedulingTest, FragmentedSlotsLeaseNoRankAtAll) {
  const int64_t run = Submit({Plan("dp", 3)})[0];
  const std::string w1 = Register("a", 1);
  const std::string w2 = Register("b", 1);
  Register("c", 1);  // registered, but reports no free slot
  EXPECT_FALSE(Acquire(w1, 1, 1).has_value());
  EXPECT_FALSE(Acquire(w2, 1, 1).has_value());
  EXPECT_FALSE(Acquire(w1, 1, 1).has_value());
  EXPECT_EQ(Run(run).state, db::RunState::kPending);
  EXPECT_TRUE(Attempts(run).empty());
  EXPECT_TRUE(scheduler_->RankWorkers().empty());
}

TEST_F(GangSchedulingTest, StaleFreeReportsDoNotCount) {
  const int64_t run = Submit({Plan("dp", 2)})[0];
  const std::string w1 = Register("a", 1);
  const std::string w2 = Register("b", 1);
  EXPECT_FALSE(Acquire(w2, 1, 1).has_value());
  now_ms_ += kPickupMs + 1;  // w2 has not asked since
  EXPECT_FALSE(Acquire(w1, 1, 1).has_value());
  EXPECT_EQ(Run(run).state, db::RunState::kPending);
}

TEST_F(GangSchedulingTest, RankNotPickedUpEndsTheAttemptWithoutCountingIt) {
  const int64_t run = Submit({Plan("dp", 2)})[0];
  const std::string w1 = Register("a", 1);
  const std::string w2 = Register("b", 1);
  EXPECT_FALSE(Acquire(w2, 1, 1).has_value());
  std::optional<LeaseGrant> rank0 = Acquire(w1, 1, 1);
  ASSERT_TRUE(rank0.has_value());
  now_ms_ += kPickupMs + 1;  // w2 never asks again
  ASSERT_EQ(scheduler_->ReapExpiredLeases().value_or(0), 1);
  const db::RunRecord record = Run(run);
  EXPECT_EQ(record.state, db::RunState::kPending);
  EXPECT_EQ(record.released_attempts, 1);
  const std::vector<db::AttemptRecord> attempts = Attempts(run);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].state, db::AttemptState::kStopped);
  EXPECT_NE(attempts[0].reason.find("rank 1 was not picked up by worker " + w2), std::string::npos)
      << attempts[0].reason;
  EXPECT_TRUE(Beat(w1, *rank0).cancel);
  EXPECT_TRUE(scheduler_->RankWorkers().empty());
}

TEST_F(GangSchedulingTest, RankFailureEndsTheAttemptOnEveryRank) {
  const int64_t run = Submit({Plan("dp", 2)})[0];
  const std::string w1 = Register("a", 1);
  const std::string w2 = Register("b", 1);
  auto [rank0, rank1] = LeaseAcross(w1, w2);
  auto state = scheduler_->FailRun(rank1.lease_id, rank1.attempt, "exit code 1", false);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, db::RunState::kPending);
  const LeaseVerdict verdict = Beat(w1, rank0);
  EXPECT_TRUE(verdict.cancel);
  EXPECT_NE(verdict.reason.find("rank 1: exit code 1"), std::string::npos) << verdict.reason;
  EXPECT_TRUE(Beat(w2, rank1).cancel);
  // Reports of an ended rank are refused like those of any ended lease.
  EXPECT_EQ(scheduler_->CompleteRun(rank1.lease_id, rank1.attempt).code(),
            absl::StatusCode::kFailedPrecondition);
  // The next attempt takes any two free slots, here both on w1.
  EXPECT_EQ(Attempts(run).at(0).reason, "rank 1: exit code 1");
  std::optional<LeaseGrant> next = Acquire(w1, 2, 2);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->run_id, run);
  EXPECT_EQ(next->attempt, rank0.attempt + 1);
  EXPECT_EQ(next->world_size, 2);
}

TEST_F(GangSchedulingTest, ExpiredRankLeaseEndsTheAttemptWithinOneLeasePeriod) {
  const int64_t run = Submit({Plan("dp", 2)})[0];
  const std::string w1 = Register("a", 1);
  const std::string w2 = Register("b", 1);
  auto [rank0, rank1] = LeaseAcross(w1, w2);
  now_ms_ += kLeaseMs / 2;
  EXPECT_FALSE(Beat(w1, rank0).cancel);  // w2 has gone silent
  now_ms_ += kLeaseMs / 2 + 1;
  ASSERT_EQ(scheduler_->ReapExpiredLeases().value_or(0), 1);
  EXPECT_EQ(Run(run).state, db::RunState::kPending);
  EXPECT_EQ(Attempts(run)[0].state, db::AttemptState::kExpired);
  EXPECT_TRUE(Beat(w1, rank0).cancel);
}

TEST_F(GangSchedulingTest, OnlyRankZeroReportsAndCompletes) {
  const int64_t run = Submit({Plan("dp", 2)})[0];
  const std::string w1 = Register("a", 1);
  const std::string w2 = Register("b", 1);
  auto [rank0, rank1] = LeaseAcross(w1, w2);
  const db::MetricRow last{.seq = 0, .step = 4, .tokens = 4096};
  EXPECT_EQ(
      scheduler_->ReportMetrics(rank1.lease_id, rank1.attempt, std::span(&last, 1), std::nullopt)
          .value_or(-1),
      0);
  EXPECT_FALSE(Run(run).latest_metric.has_value());
  EXPECT_EQ(
      scheduler_->ReportMetrics(rank0.lease_id, rank0.attempt, std::span(&last, 1), std::nullopt)
          .value_or(-1),
      1);
  // Rank 1 finishing ends its own lease only; rank 0 completes the run.
  ASSERT_TRUE(scheduler_->CompleteRun(rank1.lease_id, rank1.attempt).ok());
  EXPECT_EQ(Run(run).state, db::RunState::kRunning);
  EXPECT_FALSE(Beat(w1, rank0).cancel);
  ASSERT_TRUE(scheduler_->CompleteRun(rank0.lease_id, rank0.attempt).ok());
  EXPECT_EQ(Run(run).state, db::RunState::kSucceeded);
}

TEST_F(GangSchedulingTest, WaitingLargeRunHoldsSmallerRunsBackForABoundedTime) {
  const int64_t first = Submit({Plan("small-1", 1)})[0];
  const std::string w1 = Register("a", 2);
  const std::string w2 = Register("b", 2);
  ASSERT_EQ(Acquire(w1, 2, 2).value_or(LeaseGrant{}).run_id, first);
  const std::vector<int64_t> later = Submit({Plan("large", 4), Plan("small-2", 1)});
  // The large run needs all four cores; while w1 runs small-1, w2's free
  // slots stay free for it instead of going to small-2.
  EXPECT_FALSE(Acquire(w2, 2, 2).has_value());
  EXPECT_EQ(Run(later[1]).state, db::RunState::kPending);
  const std::map<int64_t, std::string> reasons = scheduler_->PendingReasons();
  EXPECT_EQ(reasons.at(later[0]),
            "next in the queue: waiting for 4 ranks of 1 core / 1.0 GiB free at once");
  // Past the hold the smaller run goes on.
  now_ms_ += kHoldMs;
  std::optional<LeaseGrant> small = Acquire(w2, 2, 2);
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(small->run_id, later[1]);
  EXPECT_EQ(Run(later[0]).state, db::RunState::kPending);
}

TEST_F(GangSchedulingTest, LargeRunTakesTheSlotsOnceTheyAreFree) {
  const int64_t first = Submit({Plan("small-1", 1)})[0];
  const std::string w1 = Register("a", 2);
  const std::string w2 = Register("b", 2);
  std::optional<LeaseGrant> small = Acquire(w1, 2, 2);
  ASSERT_EQ(small.value_or(LeaseGrant{}).run_id, first);
  const std::vector<int64_t> later = Submit({Plan("large", 4), Plan("small-2", 1)});
  EXPECT_FALSE(Acquire(w2, 2, 2).has_value());
  const db::MetricRow last{.seq = 0, .step = 4, .tokens = 4096};
  ASSERT_TRUE(
      scheduler_->ReportMetrics(small->lease_id, small->attempt, std::span(&last, 1), std::nullopt)
          .ok());
  ASSERT_TRUE(scheduler_->CompleteRun(small->lease_id, small->attempt).ok());
  std::optional<LeaseGrant> rank0 = Acquire(w1, 2, 2);
  ASSERT_TRUE(rank0.has_value());
  EXPECT_EQ(rank0->run_id, later[0]);
  EXPECT_EQ(scheduler_->RankWorkers()[later[0]], (std::vector<std::string>{w1, w1, w2, w2}));
  EXPECT_EQ(Run(later[1]).state, db::RunState::kPending);
}

TEST_F(GangSchedulingTest, RunLargerThanEveryRegisteredSlotWaitsWithTheReason) {
  const int64_t run = Submit({Plan("dp", 3)})[0];
  Register("a", 1);
  Register("b", 1);
  EXPECT_EQ(scheduler_->PendingReasons().at(run),
            "needs 3 ranks of 1 core / 1.0 GiB; the registered workers hold 2 together");
}

TEST_F(GangSchedulingTest, RestartEndsADataParallelAttemptWithoutCountingIt) {
  const int64_t run = Submit({Plan("dp", 2)})[0];
  const std::string w1 = Register("a", 1);
  const std::string w2 = Register("b", 1);
  auto [rank0, rank1] = LeaseAcross(w1, w2);
  CreateScheduler();
  const db::RunRecord record = Run(run);
  EXPECT_EQ(record.state, db::RunState::kPending);
  EXPECT_EQ(record.released_attempts, 1);
  EXPECT_TRUE(Beat(w1, rank0).cancel);
  EXPECT_TRUE(Beat(w2, rank1).cancel);
}

}  // namespace
}  // namespace flopwise::server
