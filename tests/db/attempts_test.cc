// Attempts (leases) and workers: lifecycle, limits, and recovery on reopen.
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

class AttemptsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("flopwise.db");
    auto store = Store::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    std::vector<NewRun> runs = {MakeRun(0), MakeRun(1)};
    runs[0].max_attempts = 2;
    auto created = store_->CreateSweep(MakeSweep(), runs);
    ASSERT_TRUE(created.ok()) << created.status();
    run_ = created->run_ids[0];
    other_run_ = created->run_ids[1];
    ASSERT_TRUE(store_->UpsertWorker(MakeWorker("w1")).ok());
    ASSERT_TRUE(store_->UpsertWorker(MakeWorker("w2")).ok());
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
  int64_t run_ = 0;
  int64_t other_run_ = 0;
};

TEST_F(AttemptsTest, BeginMarksRunRunningAndCountsAttempts) {
  auto attempt = store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-a", 1700000060000));
  ASSERT_TRUE(attempt.ok()) << attempt.status();
  EXPECT_EQ(attempt->attempt, 1);
  EXPECT_EQ(attempt->state, AttemptState::kActive);
  auto run = store_->GetRun(run_);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->state, RunState::kRunning);
  EXPECT_EQ(run->attempts, 1);
  // A running run cannot be leased twice.
  auto second = store_->BeginAttempt(MakeAttempt(run_, "w2", "lease-b", 1700000060000));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  auto found = store_->FindLease("lease-a");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->run_id, run_);
  EXPECT_EQ(found->worker_id, "w1");
}

TEST_F(AttemptsTest, RequeueThenExhaustAttempts) {
  ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-a", 1000)).ok());
  // An ending attempt cannot leave its run running.
  EXPECT_EQ(
      store_->EndAttempt(run_, 1, AttemptState::kFailed, "x", 1500, RunState::kRunning).code(),
      absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(
      store_->EndAttempt(run_, 1, AttemptState::kExpired, "lease expired", 2000, RunState::kPending)
          .ok());
  // Ending twice is refused.
  EXPECT_EQ(
      store_->EndAttempt(run_, 1, AttemptState::kFailed, "again", 2001, RunState::kFailed).code(),
      absl::StatusCode::kFailedPrecondition);
  auto second = store_->BeginAttempt(MakeAttempt(run_, "w2", "lease-b", 5000));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->attempt, 2);
  ASSERT_TRUE(store_
                  ->EndAttempt(run_, 2, AttemptState::kFailed, "trainer exited with code 1", 6000,
                               RunState::kPending)
                  .ok());
  auto third = store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-c", 9000));
  EXPECT_EQ(third.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(third.status().message().find("all 2 attempts"), std::string_view::npos)
      << third.status();

  auto run = store_->GetRun(run_);
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->failure_reasons.size(), 2u);
  EXPECT_EQ(run->failure_reasons[0].attempt, 1);
  EXPECT_EQ(run->failure_reasons[0].outcome, AttemptState::kExpired);
  EXPECT_EQ(run->failure_reasons[0].reason, "lease expired");
  EXPECT_EQ(run->failure_reasons[1].reason, "trainer exited with code 1");
}

TEST_F(AttemptsTest, ReleasedAttemptsDoNotCountTowardMaxAttempts) {
  // run_ allows 2 attempts; two graceful releases leave both.
  ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-a", 1000)).ok());
  ASSERT_TRUE(store_
                  ->EndAttempt(run_, 1, AttemptState::kStopped, "worker stopping (SIGTERM)", 1500,
                               RunState::kPending)
                  .ok());
  ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(run_, "w2", "lease-b", 2000)).ok());
  ASSERT_TRUE(store_
                  ->EndAttempt(run_, 2, AttemptState::kStopped, "worker stopping (SIGTERM)", 2500,
                               RunState::kPending)
                  .ok());
  auto run = store_->GetRun(run_);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->attempts, 2);
  EXPECT_EQ(run->released_attempts, 2);
  // Both stops are recorded with their reasons.
  ASSERT_EQ(run->failure_reasons.size(), 2u);
  EXPECT_EQ(run->failure_reasons[1].outcome, AttemptState::kStopped);
  EXPECT_EQ(run->failure_reasons[1].reason, "worker stopping (SIGTERM)");

  auto third = store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-c", 3000));
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->attempt, 3);
  ASSERT_TRUE(
      store_->EndAttempt(run_, 3, AttemptState::kFailed, "exit code 1", 3500, RunState::kPending)
          .ok());
  ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-d", 4000)).ok());
  ASSERT_TRUE(
      store_->EndAttempt(run_, 4, AttemptState::kFailed, "exit code 1", 4500, RunState::kPending)
          .ok());
  // Two counted attempts (3 and 4) are all of max_attempts.
  EXPECT_EQ(store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-e", 5000)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(AttemptsTest, StoreLivenessWritesActiveLeasesAndKnownWorkers) {
  ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-a", 1000)).ok());
  ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(other_run_, "w2", "lease-b", 1000)).ok());
  ASSERT_TRUE(
      store_->EndAttempt(other_run_, 1, AttemptState::kExpired, "x", 1100, RunState::kPending)
          .ok());
  const std::vector<LeaseDeadline> leases = {
      {"lease-a", 7000}, {"lease-b", 7000}, {"no-such-lease", 7000}};
  const std::vector<WorkerHeartbeat> workers = {{"w1", 6000}, {"nobody", 6000}};
  ASSERT_TRUE(store_->StoreLiveness(leases, workers).ok());
  EXPECT_EQ(store_->FindLease("lease-a")->lease_deadline_ms, 7000);
  // An ended lease keeps the deadline it ended with.
  EXPECT_EQ(store_->FindLease("lease-b")->lease_deadline_ms, 1000);
  EXPECT_EQ(store_->GetWorker("w1")->last_heartbeat_ms, 6000);
  EXPECT_EQ(store_->GetWorker("w2")->last_heartbeat_ms, MakeWorker("w2").last_heartbeat_ms);
  EXPECT_TRUE(store_->StoreLiveness({}, {}).ok());
}

TEST_F(AttemptsTest, UnknownRunWorkerOrReusedLeaseAreRefused) {
  EXPECT_EQ(store_->BeginAttempt(MakeAttempt(9999, "w1", "x", 1)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->BeginAttempt(MakeAttempt(run_, "nobody", "x", 1)).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(run_, "w1", "same", 1)).ok());
  auto reused = store_->BeginAttempt(MakeAttempt(other_run_, "w2", "same", 1));
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kAlreadyExists) << reused.status();
  // The refused attempt left the other run untouched.
  EXPECT_EQ(store_->GetRun(other_run_)->state, RunState::kPending);
  EXPECT_EQ(store_->GetRun(other_run_)->attempts, 0);
}

TEST_F(AttemptsTest, ListAttemptsFiltersByWorkerAndActivity) {
  ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-a", 1000)).ok());
  ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(other_run_, "w2", "lease-b", 1000)).ok());
  ASSERT_TRUE(
      store_->EndAttempt(run_, 1, AttemptState::kExpired, "lease expired", 2000, RunState::kPending)
          .ok());
  auto active = store_->ListAttempts({.active_only = true});
  ASSERT_TRUE(active.ok()) << active.status();
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].lease_id, "lease-b");
  EXPECT_EQ(store_->ListAttempts()->size(), 2u);
  auto by_worker = store_->ListAttempts({.worker_id = "w2", .active_only = true});
  ASSERT_TRUE(by_worker.ok());
  ASSERT_EQ(by_worker->size(), 1u);
  EXPECT_EQ((*by_worker)[0].run_id, other_run_);
}

TEST_F(AttemptsTest, LeasesAndWorkersSurviveReopen) {
  const int64_t deadline_ms = 1763900000123;
  NewAttempt lease = MakeAttempt(run_, "w1", "lease-a", deadline_ms);
  lease.resumed_from_step = 40;
  ASSERT_TRUE(store_->BeginAttempt(lease).ok());
  const std::vector<WorkerHeartbeat> heartbeat = {{"w1", 1763900000999}};
  ASSERT_TRUE(store_->StoreLiveness({}, heartbeat).ok());
  ASSERT_TRUE(store_->SetWorkerDraining("w2", true).ok());
  store_.reset();

  auto reopened = Store::Open(path_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto active = (*reopened)->ListAttempts({.active_only = true});
  ASSERT_TRUE(active.ok()) << active.status();
  ASSERT_EQ(active->size(), 1u);
  const AttemptRecord& a = (*active)[0];
  EXPECT_EQ(a.run_id, run_);
  EXPECT_EQ(a.attempt, 1);
  EXPECT_EQ(a.worker_id, "w1");
  EXPECT_EQ(a.lease_id, "lease-a");
  EXPECT_EQ(a.lease_deadline_ms, deadline_ms);
  EXPECT_EQ(a.resumed_from_step, 40);
  EXPECT_EQ(a.started_ms, lease.started_ms);
  EXPECT_EQ((*reopened)->GetRun(run_)->state, RunState::kRunning);

  auto workers = (*reopened)->ListWorkers();
  ASSERT_TRUE(workers.ok());
  ASSERT_EQ(workers->size(), 2u);
  EXPECT_EQ((*workers)[0].worker_id, "w1");
  EXPECT_EQ((*workers)[0].last_heartbeat_ms, 1763900000999);
  EXPECT_EQ((*workers)[0].inventory_json, MakeWorker("w1").inventory_json);
  EXPECT_FALSE((*workers)[0].draining);
  EXPECT_TRUE((*workers)[1].draining);
}

TEST_F(AttemptsTest, UpsertWorkerKeepsFirstRegistration) {
  WorkerRecord again = MakeWorker("w1");
  again.registered_ms = 1800000000000;
  again.hostname = "renamed";
  again.last_heartbeat_ms = 1800000000000;
  ASSERT_TRUE(store_->UpsertWorker(again).ok());
  auto worker = store_->GetWorker("w1");
  ASSERT_TRUE(worker.ok());
  EXPECT_EQ(worker->hostname, "renamed");
  EXPECT_EQ(worker->registered_ms, 1700000000000);
  EXPECT_EQ(worker->last_heartbeat_ms, 1800000000000);
  EXPECT_EQ(store_->GetWorker("nobody").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AttemptsTest, LogPathLandsOnTheAttemptAndOutlivesIt) {
  ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-a", 1000)).ok());
  EXPECT_EQ(store_->FindLease("lease-a")->log_path, "");
  ASSERT_TRUE(store_->SetAttemptLogPath(run_, 1, "/work/logs/run-1.attempt-1.log").ok());
  ASSERT_TRUE(
      store_->EndAttempt(run_, 1, AttemptState::kFailed, "exit code 1", 2000, RunState::kPending)
          .ok());
  auto attempts = store_->ListAttempts({.run_id = run_});
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].log_path, "/work/logs/run-1.attempt-1.log");
  EXPECT_EQ(store_->SetAttemptLogPath(run_, 2, "/x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->SetAttemptLogPath(run_, 1, "").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flopwise::db
