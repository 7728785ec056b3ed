// Eval jobs and their results: a job per landed checkpoint in the same
// transaction, leases, idempotent results, and supersede with the checkpoint.
#include <cmath>
#include <limits>

#include "db/store.h"
#include "db_test_util.h"
#include "gtest/gtest.h"

namespace flopwise::db {
namespace {

using testing::CheckpointAt;
using testing::MakeAttempt;
using testing::MakeRun;
using testing::MakeSweep;
using testing::MakeWorker;
using testing::RawExec;
using testing::RawQueryInt;
using testing::TempDir;

EvalJobSpec Tasks(std::vector<std::string> tasks) { return EvalJobSpec{std::move(tasks), 0, 1000}; }

class EvalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("flopwise.db");
    auto store = Store::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    std::vector<NewRun> runs = {MakeRun(0)};
    auto created = store_->CreateSweep(MakeSweep(), runs);
    ASSERT_TRUE(created.ok()) << created.status();
    run_ = created->run_ids[0];
    ASSERT_TRUE(store_->UpsertWorker(MakeWorker("w1")).ok());
    ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-1", 100000)).ok());
  }

  // Lands the checkpoint (seq, step) of `attempt` with an eval job; returns its id.
  int64_t LandWithJob(int attempt, int64_t seq, int64_t step) {
    auto landed = store_->RecordCheckpoint(run_, attempt, CheckpointAt(seq, step),
                                           Tasks({"validation", "needle"}));
    EXPECT_TRUE(landed.ok()) << landed.status();
    if (!landed.ok()) return 0;
    EXPECT_TRUE(landed->inserted);
    EXPECT_TRUE(landed->eval_job.has_value());
    return landed->eval_job.value_or(0);
  }

  std::vector<EvalRow> Results() {
    return {{"validation", "loss", 2.5, ""},
            {"needle-easy", "niah_score", 0.1, ""},
            {"needle-easy", "figure[0]", std::numeric_limits<double>::quiet_NaN(),
             "/runs/1/eval/needle-easy-step-20.svg"}};
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
  int64_t run_ = 0;
};

TEST_F(EvalsTest, LandedCheckpointCreatesOneJobAndARetryNone) {
  const int64_t job = LandWithJob(1, 0, 20);
  auto again = store_->RecordCheckpoint(run_, 1, CheckpointAt(0, 20), Tasks({"validation"}));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->inserted);
  EXPECT_FALSE(again->eval_job.has_value());
  auto without = store_->RecordCheckpoint(run_, 1, CheckpointAt(1, 40), std::nullopt);
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without->eval_job.has_value());

  auto jobs = store_->ListEvalJobs();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 1u);
  const EvalJobRecord& record = (*jobs)[0];
  EXPECT_EQ(record.job_id, job);
  EXPECT_EQ(record.checkpoint_step, 20);
  EXPECT_EQ(record.checkpoint_path, "/runs/1/step-20");
  EXPECT_EQ(record.tasks, (std::vector<std::string>{"validation", "needle"}));
  EXPECT_EQ(record.state, EvalJobState::kPending);
}

TEST_F(EvalsTest, FailedJobInsertLandsNoCheckpoint) {
  ASSERT_EQ(RawExec(path_,
                    "CREATE TRIGGER refuse BEFORE INSERT ON eval_jobs "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"),
            SQLITE_OK);
  EXPECT_FALSE(store_->RecordCheckpoint(run_, 1, CheckpointAt(0, 20), Tasks({"validation"})).ok());
  EXPECT_EQ(RawQueryInt(path_, "SELECT count(*) FROM checkpoints"), 0);
}

TEST_F(EvalsTest, RedeliveredResultsChangeNothing) {
  const int64_t job = LandWithJob(1, 0, 20);
  ASSERT_TRUE(store_->BeginEvalJob(job, "w1", "eval-lease-1", 5000, 1000).ok());
  auto first = store_->RecordEvals("eval-lease-1", Results(), 2000);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 3);
  std::vector<EvalRow> changed = Results();
  changed[0].value = 9.0;
  auto second = store_->RecordEvals("eval-lease-1", changed, 3000);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, 0);

  auto evals = store_->ListEvals(EvalFilter{.run_id = run_});
  ASSERT_TRUE(evals.ok()) << evals.status();
  ASSERT_EQ(evals->size(), 3u);
  for (const EvalRecord& eval : *evals) {
    EXPECT_EQ(eval.job_id, job);
    EXPECT_EQ(eval.checkpoint_step, 20);
    if (eval.row.metric == "loss") {
      EXPECT_DOUBLE_EQ(eval.row.value, 2.5);
    }
    if (eval.row.metric == "figure[0]") {
      EXPECT_TRUE(std::isnan(eval.row.value));
      EXPECT_EQ(eval.row.text, "/runs/1/eval/needle-easy-step-20.svg");
    }
  }
  auto needle = store_->ListEvals(EvalFilter{.task = "needle-easy"});
  ASSERT_TRUE(needle.ok());
  EXPECT_EQ(needle->size(), 2u);
}

TEST_F(EvalsTest, ReleasedLeaseIsRefusedAndTheNextLeaseAddsOnlyMissingRows) {
  const int64_t job = LandWithJob(1, 0, 20);
  ASSERT_TRUE(store_->BeginEvalJob(job, "w1", "eval-lease-1", 5000, 1000).ok());
  std::vector<EvalRow> results = Results();
  ASSERT_TRUE(store_->RecordEvals("eval-lease-1", std::span(results).first(1), 2000).ok());
  // The lease expires: the job goes back to pending and its old lease is refused.
  ASSERT_TRUE(
      store_->EndEvalJob("eval-lease-1", EvalJobState::kPending, "lease expired", 6000).ok());
  EXPECT_EQ(store_->RecordEvals("eval-lease-1", results, 6500).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->BeginEvalJob(job, "w1", "eval-lease-1", 9000, 7000).status().code(),
            absl::StatusCode::kAlreadyExists);
  auto begun = store_->BeginEvalJob(job, "w1", "eval-lease-2", 9000, 7000);
  ASSERT_TRUE(begun.ok()) << begun.status();
  EXPECT_EQ(begun->attempts, 2);
  EXPECT_EQ(store_->BeginEvalJob(job, "w1", "eval-lease-3", 9000, 7000).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto added = store_->RecordEvals("eval-lease-2", results, 8000);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, 2);
  ASSERT_TRUE(store_->EndEvalJob("eval-lease-2", EvalJobState::kSucceeded, "", 8500).ok());
  EXPECT_EQ(RawQueryInt(path_, "SELECT count(*) FROM evals"), 3);
  EXPECT_EQ(RawQueryInt(path_, "SELECT count(*) FROM evals WHERE job_attempt = 1"), 1);
  auto done = store_->GetEvalJob(job);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, EvalJobState::kSucceeded);
  EXPECT_EQ(done->ended_ms, 8500);
  EXPECT_EQ(store_->EndEvalJob("eval-lease-2", EvalJobState::kFailed, "late", 9000).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->EndEvalJob("nobody", EvalJobState::kFailed, "x", 9000).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(EvalsTest, ResumedAttemptSupersedesTheEvalsAndJobsOfReplacedCheckpoints) {
  const int64_t kept = LandWithJob(1, 0, 20);
  const int64_t replaced_done = LandWithJob(1, 1, 40);
  const int64_t replaced_pending = LandWithJob(1, 2, 60);
  for (auto [job, lease] : {std::pair{kept, "l-kept"}, std::pair{replaced_done, "l-done"}}) {
    ASSERT_TRUE(store_->BeginEvalJob(job, "w1", lease, 5000, 1000).ok());
    ASSERT_TRUE(store_->RecordEvals(lease, Results(), 2000).ok());
    ASSERT_TRUE(store_->EndEvalJob(lease, EvalJobState::kSucceeded, "", 3000).ok());
  }
  ASSERT_TRUE(
      store_
          ->EndAttempt(run_, 1, AttemptState::kExpired, "lease expired", 50000, RunState::kPending)
          .ok());
  ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-2", 200000)).ok());
  ASSERT_TRUE(store_->SupersedeAfter(run_, 2, 20).ok());

  auto effective = store_->ListEvals(EvalFilter{.run_id = run_});
  ASSERT_TRUE(effective.ok());
  ASSERT_EQ(effective->size(), 3u);
  for (const EvalRecord& eval : *effective) EXPECT_EQ(eval.job_id, kept);
  auto all = store_->ListEvals(EvalFilter{.run_id = run_, .include_superseded = true});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 6u);

  auto pending = store_->GetEvalJob(replaced_pending);
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->state, EvalJobState::kSuperseded);
  auto done = store_->GetEvalJob(replaced_done);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, EvalJobState::kSucceeded);  // its rows are superseded, its history kept
  EXPECT_EQ(store_->BeginEvalJob(replaced_pending, "w1", "l-late", 5000, 1000).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // A late checkpoint of the replaced attempt lands superseded and gets no job.
  auto late = store_->RecordCheckpoint(run_, 1, CheckpointAt(3, 80), Tasks({"validation"}));
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_TRUE(late->inserted);
  EXPECT_FALSE(late->eval_job.has_value());
}

TEST_F(EvalsTest, JobsForStoredCheckpointsOnly) {
  ASSERT_TRUE(store_->RecordCheckpoints(run_, 1, std::vector{CheckpointAt(0, 20)}).ok());
  std::vector<NewEvalJob> jobs = {{run_, 1, 0, Tasks({"brown-continuation"})}};
  auto created = store_->CreateEvalJobs(jobs);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->size(), 1u);
  jobs.push_back({run_, 1, 7, Tasks({"validation"})});
  EXPECT_EQ(store_->CreateEvalJobs(jobs).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(RawQueryInt(path_, "SELECT count(*) FROM eval_jobs"),
            1);  // nothing of the failed batch
  jobs = {{run_, 1, 0, Tasks({})}};
  EXPECT_EQ(store_->CreateEvalJobs(jobs).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EvalsTest, LivenessMovesEvalLeaseDeadlines) {
  const int64_t job = LandWithJob(1, 0, 20);
  ASSERT_TRUE(store_->BeginEvalJob(job, "w1", "eval-lease-1", 5000, 1000).ok());
  std::vector<LeaseDeadline> leases = {{"eval-lease-1", 99000}};
  ASSERT_TRUE(store_->StoreLiveness(leases, {}).ok());
  auto found = store_->FindEvalLease("eval-lease-1");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->lease_deadline_ms, 99000);
}

}  // namespace
}  // namespace flopwise::db
