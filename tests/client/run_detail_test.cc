#include "client/run_detail.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"

namespace flopwise::client {
namespace {

namespace v1 = ::flopwise::v1;

TEST(RunDetail, EveryAttemptWithItsWorkerOutcomeAndReason) {
  v1::Run run;
  run.set_run_id(7);
  run.set_sweep_id(3);
  run.set_name("tnl-cpu-1");
  run.set_state(v1::RUN_STATE_RUNNING);
  run.set_attempts(2);
  run.set_max_attempts(3);
  run.set_tokens(2048);
  run.set_step(2);
  run.set_loss(4.25);
  run.set_worker_id("w2");
  v1::Attempt* first = run.add_attempt_history();
  first->set_attempt(1);
  first->set_worker_id("w1");
  first->set_outcome(v1::ATTEMPT_OUTCOME_EXPIRED);
  first->set_reason("lease expired");
  first->set_started_ms(1'000);
  first->set_ended_ms(61'000);
  first->set_resumed_from_step(-1);
  v1::Attempt* second = run.add_attempt_history();
  second->set_attempt(2);
  second->set_worker_id("w2");
  second->set_outcome(v1::ATTEMPT_OUTCOME_ACTIVE);
  second->set_started_ms(70'000);
  second->set_resumed_from_step(1);
  const std::vector<std::string> lines =
      absl::StrSplit(RunDetailText(run, /*now_ms=*/100'000), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "run 7 tnl-cpu-1 (sweep 3): running, attempts 2/3");
  EXPECT_NE(lines[1].find("loss 4.2500, worker w2"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[2].rfind("attempt", 0), 0u) << lines[2];
  EXPECT_NE(lines[3].find(" w1 "), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find(" expired "), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find("1m00s"), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find("lease expired"), std::string::npos) << lines[3];
  EXPECT_NE(lines[4].find(" active "), std::string::npos) << lines[4];
  EXPECT_NE(lines[4].find("30s"), std::string::npos) << lines[4];  // until now
}

TEST(RunDetail, EachAttemptsLogIsShownAsHostAndPath) {
  v1::Run run;
  run.set_run_id(7);
  run.set_state(v1::RUN_STATE_FAILED);
  v1::Attempt* first = run.add_attempt_history();
  first->set_attempt(1);
  first->set_worker_id("gpu-node-1");
  first->set_worker_hostname("gpu-node");
  first->set_outcome(v1::ATTEMPT_OUTCOME_FAILED);
  first->set_log_path("/var/lib/flopwise/logs/sweep-1_run-7.attempt-1.log");
  v1::Attempt* second = run.add_attempt_history();  // from a worker that did not say
  second->set_attempt(2);
  second->set_outcome(v1::ATTEMPT_OUTCOME_FAILED);
  const std::vector<std::string> lines =
      absl::StrSplit(RunDetailText(run, 0), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[3].rfind("1 ", 0), 0u) << lines[3];
  EXPECT_EQ(lines[4], "        log gpu-node:/var/lib/flopwise/logs/sweep-1_run-7.attempt-1.log");
  EXPECT_EQ(lines[5].rfind("2 ", 0), 0u) << lines[5];
}

TEST(RunDetail, APendingRunHasNoAttemptAndNoLoss) {
  v1::Run run;
  run.set_run_id(1);
  run.set_state(v1::RUN_STATE_PENDING);
  const std::string text = RunDetailText(run, 0);
  EXPECT_NE(text.find("loss -"), std::string::npos) << text;
  EXPECT_NE(text.find("no attempt yet"), std::string::npos) << text;
}

TEST(RunDetail, ADataParallelRunListsTheWorkerOfEachRank) {
  v1::Run run;
  run.set_run_id(1);
  run.set_state(v1::RUN_STATE_RUNNING);
  run.set_worker_id("w1");
  run.add_rank_workers("w1");
  run.add_rank_workers("w2");
  const std::vector<std::string> lines =
      absl::StrSplit(RunDetailText(run, 0), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[2], "rank 0 of 2 on w1");
  EXPECT_EQ(lines[3], "rank 1 of 2 on w2");
}

TEST(RunDetail, APendingRunSaysWhyItWaits) {
  v1::Run run;
  run.set_run_id(1);
  run.set_state(v1::RUN_STATE_PENDING);
  run.set_pending_reason(
      "needs 4 cores / 40.2 GiB; the largest registered worker has 16 cores / 24.0 GiB");
  const std::vector<std::string> lines =
      absl::StrSplit(RunDetailText(run, 0), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[2],
            "pending: needs 4 cores / 40.2 GiB; the largest registered worker has 16 cores / 24.0 "
            "GiB");
  EXPECT_EQ(lines[3], "no attempt yet");
}

}  // namespace
}  // namespace flopwise::client
