// Retrying runs: failed and diverged runs back to pending with a fresh
// attempt budget, the sweep reopened, and everything else refused.
#include "db/store.h"
#include "db_test_util.h"
#include "gtest/gtest.h"

namespace flopwise::db {
namespace {

using testing::MakeAttempt;
using testing::MakeRun;
using testing::MakeSweep;
using testing::MakeWorker;
using testing::TempDir;

class RetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(dir_.File("flopwise.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    std::vector<NewRun> runs = {MakeRun(0), MakeRun(1), MakeRun(2)};
    for (NewRun& run : runs) run.max_attempts = 2;
    auto created = store_->CreateSweep(MakeSweep(), runs);
    ASSERT_TRUE(created.ok()) << created.status();
    sweep_ = created->sweep_id;
    runs_ = created->run_ids;
    ASSERT_TRUE(store_->UpsertWorker(MakeWorker("w1")).ok());
  }

  // One attempt of `run` that ends with `outcome`, leaving the run `state`.
  void Attempt(int64_t run, const std::string& lease, AttemptState outcome, RunState state) {
    auto begun = store_->BeginAttempt(MakeAttempt(run, "w1", lease, 1700000060000));
    ASSERT_TRUE(begun.ok()) << begun.status();
    ASSERT_TRUE(
        store_->EndAttempt(run, begun->attempt, outcome, "exit code 1", 1700000070000, state).ok());
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  int64_t sweep_ = 0;
  std::vector<int64_t> runs_;
};

TEST_F(RetryTest, FailedAndDivergedRunsGetAFreshBudgetAndTheSweepReopens) {
  // Run 0: a stopped attempt (not counted), then two failures: failed.
  Attempt(runs_[0], "a1", AttemptState::kStopped, RunState::kPending);
  Attempt(runs_[0], "a2", AttemptState::kFailed, RunState::kPending);
  Attempt(runs_[0], "a3", AttemptState::kFailed, RunState::kFailed);
  Attempt(runs_[1], "b1", AttemptState::kDiverged, RunState::kDiverged);
  Attempt(runs_[2], "c1", AttemptState::kSucceeded, RunState::kSucceeded);
  ASSERT_TRUE(store_->SetSweepState(sweep_, SweepState::kCompleted).ok());

  const std::vector<RunRetry> retries = {{runs_[0], 2}, {runs_[1], 2}};
  auto retried = store_->RetryRuns(sweep_, retries);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->sweep_reopened);
  ASSERT_EQ(retried->runs.size(), 2u);
  EXPECT_EQ(retried->runs[0].run_id, runs_[0]);
  EXPECT_EQ(retried->runs[0].state, RunState::kPending);
  EXPECT_EQ(retried->runs[0].attempts, 3);
  EXPECT_EQ(retried->runs[0].max_attempts, 4);  // 2 counted (not the stopped one) + 2 fresh
  EXPECT_EQ(retried->runs[1].max_attempts, 3);
  EXPECT_EQ(store_->GetSweep(sweep_)->state, SweepState::kActive);
  // The failure reasons of the earlier attempts are kept.
  EXPECT_EQ(retried->runs[0].failure_reasons.size(), 3u);

  // Two more attempts may begin.
  Attempt(runs_[0], "a4", AttemptState::kFailed, RunState::kPending);
  auto fifth = store_->BeginAttempt(MakeAttempt(runs_[0], "w1", "a5", 1700000090000));
  ASSERT_TRUE(fifth.ok()) << fifth.status();
  EXPECT_EQ(fifth->attempt, 5);
  ASSERT_TRUE(store_
                  ->EndAttempt(runs_[0], 5, AttemptState::kFailed, "again", 1700000099000,
                               RunState::kFailed)
                  .ok());
  ASSERT_TRUE(store_->RetryRuns(sweep_, std::vector<RunRetry>{{runs_[0], 1}}).ok());
  EXPECT_EQ(store_->GetRun(runs_[0])->max_attempts, 5);  // 4 counted + 1 fresh
}

TEST_F(RetryTest, OnlyFailedAndDivergedRunsOfALiveSweepAreRetried) {
  Attempt(runs_[0], "a1", AttemptState::kFailed, RunState::kFailed);
  Attempt(runs_[2], "c1", AttemptState::kSucceeded, RunState::kSucceeded);
  // A succeeded run and a pending one are refused, and nothing changes.
  for (const int64_t run : {runs_[2], runs_[1]}) {
    auto refused = store_->RetryRuns(sweep_, std::vector<RunRetry>{{runs_[0], 2}, {run, 2}});
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
    EXPECT_NE(refused.status().message().find("only failed and diverged"), std::string_view::npos)
        << refused.status();
    EXPECT_EQ(store_->GetRun(runs_[0])->state, RunState::kFailed);
  }
  auto twice = store_->RetryRuns(sweep_, std::vector<RunRetry>{{runs_[0], 2}, {runs_[0], 2}});
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kInvalidArgument) << twice.status();
  EXPECT_NE(twice.status().message().find("runs[1].run_id"), std::string_view::npos);
  EXPECT_EQ(store_->RetryRuns(sweep_, std::vector<RunRetry>{{runs_[0], 0}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A run of another sweep, an unknown run, an unknown sweep.
  auto other = store_->CreateSweep(MakeSweep("other"), std::vector<NewRun>{MakeRun(0)});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(
      store_->RetryRuns(sweep_, std::vector<RunRetry>{{other->run_ids[0], 2}}).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->RetryRuns(sweep_, std::vector<RunRetry>{{9999, 2}}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->RetryRuns(9999, {}).status().code(), absl::StatusCode::kNotFound);
  // A cancelled sweep's failed runs stay failed: cancel is final.
  ASSERT_TRUE(store_->CancelSweep(sweep_, 1700000100000).ok());
  auto cancelled = store_->RetryRuns(sweep_, std::vector<RunRetry>{{runs_[0], 2}});
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(cancelled.status().message().find("cancelled"), std::string_view::npos);
  EXPECT_EQ(store_->GetRun(runs_[0])->state, RunState::kFailed);
}

}  // namespace
}  // namespace flopwise::db
