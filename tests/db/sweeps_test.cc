// Sweeps and runs: atomic creation, listing, state changes and cancel.
#include "db/store.h"
#include "db_test_util.h"
#include "gtest/gtest.h"

namespace flopwise::db {
namespace {

using testing::MakeRun;
using testing::MakeSweep;
using testing::RawExec;
using testing::RawQueryInt;
using testing::TempDir;

TEST(Sweeps, CreateStoresSweepAndRuns) {
  TempDir dir;
  auto store = Store::Open(dir.File("flopwise.db"));
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<NewRun> runs = {MakeRun(0, "llama"), MakeRun(1, "tnl"), MakeRun(2, "hgrn2")};
  runs[2].priority = 5;
  auto created = (*store)->CreateSweep(MakeSweep("ladder"), runs);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->run_ids.size(), 3u);

  auto sweep = (*store)->GetSweep(created->sweep_id);
  ASSERT_TRUE(sweep.ok()) << sweep.status();
  EXPECT_EQ(sweep->name, "ladder");
  EXPECT_EQ(sweep->spec_yaml, MakeSweep("ladder").spec_yaml);
  EXPECT_EQ(sweep->priority, 1);
  EXPECT_EQ(sweep->state, SweepState::kActive);
  EXPECT_EQ(sweep->created_ms, 1700000000000);

  auto listed = (*store)->ListRuns({.sweep_id = created->sweep_id});
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 3u);
  // Highest priority first, then by id.
  EXPECT_EQ((*listed)[0].run_id, created->run_ids[2]);
  EXPECT_EQ((*listed)[1].run_id, created->run_ids[0]);
  const RunRecord& hgrn2 = (*listed)[0];
  EXPECT_EQ(hgrn2.arch, "hgrn2");
  EXPECT_EQ(hgrn2.index_in_sweep, 2);
  EXPECT_EQ(hgrn2.config_json, runs[2].config_json);
  EXPECT_EQ(hgrn2.token_budget, 1000000);
  EXPECT_EQ(hgrn2.state, RunState::kPending);
  EXPECT_EQ(hgrn2.attempts, 0);
  EXPECT_EQ(hgrn2.max_attempts, 3);
  EXPECT_FALSE(hgrn2.newest_checkpoint.has_value());
  EXPECT_FALSE(hgrn2.latest_metric.has_value());

  auto run = (*store)->GetRun(created->run_ids[1]);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->name, runs[1].name);
  EXPECT_EQ((*store)->GetRun(9999).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*store)->GetSweep(9999).status().code(), absl::StatusCode::kNotFound);
}

TEST(Sweeps, FailureMidwayLeavesNothing) {
  TempDir dir;
  const std::string path = dir.File("flopwise.db");
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  // An operator's trigger makes the third run's insert fail inside the transaction.
  ASSERT_EQ(RawExec(path,
                    "CREATE TRIGGER refuse BEFORE INSERT ON runs WHEN NEW.name = 'boom' "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"),
            SQLITE_OK);
  std::vector<NewRun> runs = {MakeRun(0), MakeRun(1), MakeRun(2), MakeRun(3)};
  runs[2].name = "boom";
  auto created = (*store)->CreateSweep(MakeSweep(), runs);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.status().message().find("injected failure"), std::string_view::npos)
      << created.status();
  EXPECT_EQ(RawQueryInt(path, "SELECT count(*) FROM sweeps"), 0);
  EXPECT_EQ(RawQueryInt(path, "SELECT count(*) FROM runs"), 0);
  // The store stays usable afterwards.
  runs[2].name = "fine";
  auto again = (*store)->CreateSweep(MakeSweep(), runs);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(RawQueryInt(path, "SELECT count(*) FROM runs"), 4);
}

TEST(Sweeps, InvalidRunsNameTheField) {
  TempDir dir;
  auto store = Store::Open(dir.File("flopwise.db"));
  ASSERT_TRUE(store.ok());
  std::vector<NewRun> runs = {MakeRun(0), MakeRun(0)};
  auto duplicate = (*store)->CreateSweep(MakeSweep(), runs);
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(duplicate.status().message().find("runs[1].index_in_sweep"), std::string_view::npos)
      << duplicate.status();
  runs = {MakeRun(0), MakeRun(1)};
  runs[1].token_budget = 0;
  auto budget = (*store)->CreateSweep(MakeSweep(), runs);
  EXPECT_NE(budget.status().message().find("runs[1].token_budget"), std::string_view::npos)
      << budget.status();
  auto sweeps = (*store)->ListSweeps();
  ASSERT_TRUE(sweeps.ok());
  EXPECT_TRUE(sweeps->empty());
}

TEST(Sweeps, CancelMarksPendingAndRunningRuns) {
  TempDir dir;
  auto store = Store::Open(dir.File("flopwise.db"));
  ASSERT_TRUE(store.ok());
  std::vector<NewRun> runs = {MakeRun(0), MakeRun(1), MakeRun(2)};
  auto created = (*store)->CreateSweep(MakeSweep(), runs);
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE((*store)->UpsertWorker(testing::MakeWorker("w1")).ok());
  auto attempt =
      (*store)->BeginAttempt(testing::MakeAttempt(created->run_ids[1], "w1", "lease-1", 100000));
  ASSERT_TRUE(attempt.ok()) << attempt.status();
  ASSERT_EQ(testing::RawExec(dir.File("flopwise.db"),
                             "UPDATE runs SET state = 'succeeded' WHERE run_id = " +
                                 std::to_string(created->run_ids[2])),
            SQLITE_OK);

  auto running = (*store)->CancelSweep(created->sweep_id, 1000);
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_EQ(*running, std::vector<int64_t>{created->run_ids[1]});
  auto sweep = (*store)->GetSweep(created->sweep_id);
  EXPECT_EQ(sweep->state, SweepState::kCancelled);
  EXPECT_EQ((*store)->GetRun(created->run_ids[0])->state, RunState::kCancelled);
  EXPECT_EQ((*store)->GetRun(created->run_ids[1])->state, RunState::kCancelled);
  EXPECT_EQ((*store)->GetRun(created->run_ids[2])->state, RunState::kSucceeded);
  auto pending = (*store)->ListRuns({.states = {RunState::kPending}});
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
  EXPECT_EQ((*store)->CancelSweep(9999, 1000).status().code(), absl::StatusCode::kNotFound);
}

TEST(Sweeps, StateNamesRoundTrip) {
  for (RunState state : {RunState::kPending, RunState::kRunning, RunState::kSucceeded,
                         RunState::kFailed, RunState::kDiverged, RunState::kCancelled}) {
    auto parsed = ParseRunState(RunStateName(state));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, state);
  }
  auto bad = ParseRunState("paused");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("paused"), std::string_view::npos);
  EXPECT_TRUE(IsTerminal(RunState::kDiverged));
  EXPECT_FALSE(IsTerminal(RunState::kRunning));
}

}  // namespace
}  // namespace flopwise::db
