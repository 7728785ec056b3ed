// SummarizeRuns: a sweep's run counts, progress and state from its runs.
#include "server/sweep_summary.h"

#include <gtest/gtest.h>

#include <vector>

namespace flopwise::server {
namespace {

v1::Sweep Summarize(const std::vector<RunTally>& runs,
                    v1::SweepState stored = v1::SWEEP_STATE_ACTIVE) {
  v1::Sweep sweep;
  sweep.set_state(stored);
  SummarizeRuns(runs, &sweep);
  return sweep;
}

TEST(SweepSummary, CountsRunsByStateAndFinished) {
  const v1::Sweep sweep = Summarize({{db::RunState::kPending, 0, 100},
                                     {db::RunState::kRunning, 50, 100},
                                     {db::RunState::kSucceeded, 100, 100},
                                     {db::RunState::kFailed, 10, 100},
                                     {db::RunState::kFailed, 20, 100}});
  EXPECT_EQ(sweep.runs_total(), 5);
  EXPECT_EQ(sweep.runs_finished(), 3);
  EXPECT_EQ(sweep.runs_by_state().at("RUN_STATE_PENDING"), 1);
  EXPECT_EQ(sweep.runs_by_state().at("RUN_STATE_RUNNING"), 1);
  EXPECT_EQ(sweep.runs_by_state().at("RUN_STATE_SUCCEEDED"), 1);
  EXPECT_EQ(sweep.runs_by_state().at("RUN_STATE_FAILED"), 2);
  EXPECT_EQ(sweep.state(), v1::SWEEP_STATE_ACTIVE);
}

TEST(SweepSummary, ProgressIsTokensWeightedAndCapsEachRunAtItsBudget) {
  // 300 of 400 budgeted tokens; the second run's 500 count as its 300.
  const v1::Sweep sweep =
      Summarize({{db::RunState::kRunning, 0, 100}, {db::RunState::kRunning, 500, 300}});
  EXPECT_DOUBLE_EQ(sweep.progress_fraction(), 0.75);
  EXPECT_DOUBLE_EQ(Summarize({}).progress_fraction(), 0);
}

TEST(SweepSummary, ActiveSweepWithEveryRunTerminalReadsCompleted) {
  const std::vector<RunTally> ended = {{db::RunState::kSucceeded, 100, 100},
                                       {db::RunState::kDiverged, 30, 100}};
  EXPECT_EQ(Summarize(ended).state(), v1::SWEEP_STATE_COMPLETED);
  EXPECT_EQ(Summarize(ended, v1::SWEEP_STATE_CANCELLED).state(), v1::SWEEP_STATE_CANCELLED);
  EXPECT_EQ(
      Summarize({{db::RunState::kSucceeded, 100, 100}, {db::RunState::kPending, 0, 100}}).state(),
      v1::SWEEP_STATE_ACTIVE);
  EXPECT_EQ(Summarize({}).state(), v1::SWEEP_STATE_ACTIVE);
}

TEST(SweepSummary, ReplacesAnEarlierSummary) {
  v1::Sweep sweep;
  sweep.set_state(v1::SWEEP_STATE_ACTIVE);
  SummarizeRuns(std::vector<RunTally>{{db::RunState::kPending, 0, 100}}, &sweep);
  SummarizeRuns(std::vector<RunTally>{{db::RunState::kRunning, 10, 100}}, &sweep);
  EXPECT_EQ(sweep.runs_by_state().size(), 1u);
  EXPECT_EQ(sweep.runs_by_state().at("RUN_STATE_RUNNING"), 1);
}

}  // namespace
}  // namespace flopwise::server
