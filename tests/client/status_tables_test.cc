#include "client/status_tables.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/format.h"
#include "client/sweep_submit.h"

namespace flopwise::client {
namespace {

namespace v1 = ::flopwise::v1;

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST(StatusTables, SweepLineShowsTheCoordinatorsSummaryAsSent) {
  v1::Sweep sweep;
  sweep.set_sweep_id(7);
  sweep.set_name("ladder");
  sweep.set_state(v1::SWEEP_STATE_COMPLETED);
  sweep.set_runs_total(5);
  sweep.set_runs_finished(3);
  sweep.set_progress_fraction(0.5);
  // Counts that disagree with runs_finished: the table does not recount.
  (*sweep.mutable_runs_by_state())["RUN_STATE_PENDING"] = 5;
  const std::vector<std::string> lines = Lines(SweepTable({&sweep, 1}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("sweep  name", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("7      ladder", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find(" completed "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find(" 3/5 "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("[###############...............]  50%"), std::string::npos) << lines[1];
}

TEST(StatusTables, SweepWithFailedRunsSaysHowMany) {
  v1::Sweep sweep;
  sweep.set_sweep_id(2);
  sweep.set_name("broken");
  sweep.set_state(v1::SWEEP_STATE_COMPLETED);
  sweep.set_runs_total(3);
  sweep.set_runs_finished(3);
  (*sweep.mutable_runs_by_state())["RUN_STATE_FAILED"] = 1;
  (*sweep.mutable_runs_by_state())["RUN_STATE_DIVERGED"] = 1;
  (*sweep.mutable_runs_by_state())["RUN_STATE_SUCCEEDED"] = 1;
  EXPECT_EQ(FailedRuns(sweep), 2);
  EXPECT_FALSE(SweepSucceeded(sweep));
  EXPECT_EQ(SweepOutcome(sweep), "completed with 2 failed");
  const std::vector<std::string> lines = Lines(SweepTable({&sweep, 1}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find(" completed with 2 failed "), std::string::npos) << lines[1];

  (*sweep.mutable_runs_by_state())["RUN_STATE_FAILED"] = 0;
  (*sweep.mutable_runs_by_state())["RUN_STATE_DIVERGED"] = 0;
  EXPECT_TRUE(SweepSucceeded(sweep));
  EXPECT_EQ(SweepOutcome(sweep), "completed");
  sweep.set_state(v1::SWEEP_STATE_CANCELLED);
  EXPECT_FALSE(SweepSucceeded(sweep));
  EXPECT_EQ(SweepOutcome(sweep), "cancelled");
}

TEST(StatusTables, RunsWithoutAReportShowNoLoss) {
  std::map<int64_t, v1::RunUpdate> updates;
  updates[1].set_name("pending-run");
  updates[1].set_state(v1::RUN_STATE_PENDING);
  const std::vector<std::string> update_lines = Lines(RunUpdateTable(updates));
  ASSERT_EQ(update_lines.size(), 2u);
  EXPECT_EQ(update_lines[1].find("0.0000"), std::string::npos) << update_lines[1];
  EXPECT_NE(update_lines[1].find(" - "), std::string::npos) << update_lines[1];

  v1::Run run;
  run.set_run_id(1);
  run.set_state(v1::RUN_STATE_PENDING);
  const std::vector<std::string> run_lines = Lines(RunTable(std::vector<v1::Run>{run}));
  ASSERT_EQ(run_lines.size(), 2u);
  EXPECT_EQ(run_lines[1].find("0.0000"), std::string::npos) << run_lines[1];
}

TEST(StatusTables, RunUpdatesShowEtaOnlyWhileRunning) {
  std::map<int64_t, v1::RunUpdate> runs;
  v1::RunUpdate& running = runs[2];
  running.set_name("llama-a");
  running.set_state(v1::RUN_STATE_RUNNING);
  running.set_tokens(1500);
  running.set_progress_fraction(0.25);
  running.set_loss(3.5);
  running.set_eta_seconds(125);
  running.set_worker_id("w1");
  v1::RunUpdate& done = runs[1];
  done.set_name("llama-b");
  done.set_state(v1::RUN_STATE_SUCCEEDED);
  done.set_eta_seconds(0);
  const std::vector<std::string> lines = Lines(RunUpdateTable(runs));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].rfind("1      llama-b", 0), 0u) << lines[1];  // by run id
  EXPECT_NE(lines[1].find("succeeded"), std::string::npos);
  EXPECT_EQ(lines[1].find("0s"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[1].back(), '-') << lines[1];  // no worker
  EXPECT_NE(lines[2].find("1.50k"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("2m05s"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("3.5000"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[2].substr(lines[2].size() - 2), "w1") << lines[2];
}

TEST(StatusTables, RunTableShowsAttemptsAndTheLastFailure) {
  v1::Run run;
  run.set_run_id(3);
  run.set_sweep_id(1);
  run.set_name("tnl-x");
  run.set_state(v1::RUN_STATE_FAILED);
  run.set_attempts(2);
  run.set_max_attempts(2);
  run.add_failure_reasons("attempt 1 (failed): first");
  run.add_failure_reasons("attempt 2 (failed): second");
  const std::vector<std::string> lines = Lines(RunTable(std::vector<v1::Run>{run}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("note"), std::string::npos);
  EXPECT_NE(lines[1].find(" 2/2 "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("attempt 2 (failed): second"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[1].find("first"), std::string::npos) << lines[1];
}

TEST(StatusTables, RunTableSaysWhyAPendingRunWaits) {
  v1::Run run;
  run.set_run_id(4);
  run.set_name("llama-7B");
  run.set_state(v1::RUN_STATE_PENDING);
  run.add_failure_reasons("attempt 1 (expired): lease expired");
  run.set_pending_reason("no worker registered");
  const std::vector<std::string> lines = Lines(RunTable(std::vector<v1::Run>{run}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("pending: no worker registered"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[1].find("lease expired"), std::string::npos) << lines[1];
}

TEST(StatusTables, RunTableShowsTheWorkersOfADataParallelRun) {
  v1::Run run;
  run.set_run_id(5);
  run.set_name("llama-dp");
  run.set_state(v1::RUN_STATE_RUNNING);
  run.set_worker_id("w1");
  run.add_rank_workers("w1");
  run.add_rank_workers("w2");
  const std::vector<std::string> lines = Lines(RunTable(std::vector<v1::Run>{run}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find(" 2 ranks: w1,w2 "), std::string::npos) << lines[1];
}

TEST(StatusTables, DryRunShowsEachRunsRanksAndMemoryPerRank) {
  v1::SubmitSweepResponse response;
  response.set_name("dp");
  v1::Run* single = response.add_runs();
  single->set_name("llama-a");
  single->set_estimated_memory_bytes(int64_t{3} << 30);
  v1::Run* ranks = response.add_runs();
  ranks->set_name("llama-b");
  ranks->mutable_resources()->set_replicas(4);
  ranks->set_estimated_memory_bytes(int64_t{1} << 29);
  const std::vector<std::string> lines = Lines(SubmitText(response, /*dry_run=*/true));
  ASSERT_GE(lines.size(), 4u);
  EXPECT_NE(lines[1].find(" ranks   mem/rank"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("     1      3.00G"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("     4      0.50G"), std::string::npos) << lines[3];
}

// The trainer's validation loss at the newest checkpoint, "-" where none ran.
// (No run here has reported a loss yet, so the loss column shows "-" too.)
TEST(StatusTables, ValidationLossColumnShowsADashWithoutOne) {
  std::map<int64_t, v1::RunUpdate> updates;
  updates[1].set_name("llama-a");
  updates[1].set_validation_loss(2.25);
  updates[2].set_name("llama-b");
  std::vector<std::string> lines = Lines(RunUpdateTable(updates));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("val loss"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("        -   2.2500 "), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("        -        - "), std::string::npos) << lines[2];

  std::vector<v1::Run> runs(2);
  runs[0].set_name("tnl-x");
  runs[0].set_validation_loss(3.125);
  runs[1].set_name("tnl-y");
  lines = Lines(RunTable(runs));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("val loss"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("        -   3.1250 "), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("        -        - "), std::string::npos) << lines[2];
}

}  // namespace
}  // namespace flopwise::client
