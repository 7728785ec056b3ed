// Unit tests of the worker daemon's parts: the trainer-line parser, child
// processes, backoff, the report queue and the trainer and evaluator command
// lines.
#include <signal.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/fake_link.h"
#include "worker/daemon/backoff.h"
#include "worker/daemon/child_process.h"
#include "worker/daemon/eval_args.h"
#include "worker/daemon/report_queue.h"
#include "worker/daemon/trainer_args.h"
#include "worker/daemon/trainer_event.h"

namespace flopwise::workerd {
namespace {

TEST(TrainerLine, ParsesEveryEventOfTheProtocol) {
  auto start = ParseTrainerLine(
      R"({"event":"start","arch":"tnl","params_non_embedding":5,"params_embedding":2,)"
      R"("flops_per_token":30,"total_tokens":1000,"resumed_from_step":40})");
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(start->kind, TrainerEventKind::kStart);
  EXPECT_EQ(start->resumed_from_step, 40);
  EXPECT_EQ(start->total_tokens, 1000);

  auto progress = ParseTrainerLine(
      R"({"event":"progress","step":7,"tokens":700,"flops":2.1e4,"loss":3.5,"lr":0.001,)"
      R"("grad_norm":0.9,"tokens_per_s":123.5})");
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->kind, TrainerEventKind::kProgress);
  EXPECT_EQ(progress->step, 7);
  EXPECT_EQ(progress->tokens, 700);
  EXPECT_DOUBLE_EQ(progress->flops, 2.1e4);
  EXPECT_DOUBLE_EQ(progress->loss, 3.5);
  EXPECT_DOUBLE_EQ(progress->tokens_per_s, 123.5);

  auto checkpoint =
      ParseTrainerLine(R"({"event":"checkpoint","step":8,"tokens":800,"flops":1,"loss":3.4,)"
                       R"("path":"/r/step-00000008","sha256":"ab"})");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->path, "/r/step-00000008");
  EXPECT_EQ(checkpoint->sha256, "ab");
  EXPECT_EQ(checkpoint->validation_tokens, 0);  // an older trainer: no validation ran
  EXPECT_TRUE(std::isnan(checkpoint->validation_loss));

  auto validated =
      ParseTrainerLine(R"({"event":"checkpoint","step":8,"tokens":800,"flops":1,"loss":3.4,)"
                       R"("path":"/r/step-00000008","sha256":"ab","validation_loss":3.5,)"
                       R"("validation_bits_per_byte":5.25,"validation_tokens":4096})");
  ASSERT_TRUE(validated.ok()) << validated.status();
  EXPECT_DOUBLE_EQ(validated->validation_loss, 3.5);
  EXPECT_DOUBLE_EQ(validated->validation_bits_per_byte, 5.25);
  EXPECT_EQ(validated->validation_tokens, 4096);
  auto without_bpb = ParseTrainerLine(
      R"({"event":"checkpoint","step":8,"tokens":800,"flops":1,"loss":3.4,)"
      R"("path":"/r/step-00000008","validation_loss":3.5,"validation_tokens":64})");
  ASSERT_TRUE(without_bpb.ok()) << without_bpb.status();
  EXPECT_TRUE(std::isnan(without_bpb->validation_bits_per_byte));

  auto diverged = ParseTrainerLine(R"({"event":"diverged","step":3,"loss":"nan"})");
  ASSERT_TRUE(diverged.ok());
  EXPECT_EQ(diverged->kind, TrainerEventKind::kDiverged);
  EXPECT_TRUE(std::isnan(diverged->loss));

  auto error = ParseTrainerLine(R"({"event":"error","message":"data: missing"})");
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->message, "data: missing");
  EXPECT_EQ(ParseTrainerLine(R"({"event":"stopped","step":9})")->step, 9);
  EXPECT_EQ(ParseTrainerLine(R"({"event":"done","step":9,"tokens":9,"flops":1,"loss":2})")->kind,
            TrainerEventKind::kDone);
}

TEST(TrainerLine, NullLossIsNaN) {
  auto progress =
      ParseTrainerLine(R"({"event":"progress","step":1,"tokens":1,"flops":1,"loss":null})");
  ASSERT_TRUE(progress.ok());
  EXPECT_TRUE(std::isnan(progress->loss));
}

TEST(TrainerLine, BadLinesNameTheProblem) {
  auto not_json = ParseTrainerLine("step 5 loss 3");
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.status().message().find("not a JSON object"), std::string::npos);
  auto unknown = ParseTrainerLine(R"({"event":"bogus"})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("bogus"), std::string::npos);
  auto missing = ParseTrainerLine(R"({"event":"progress","tokens":1,"loss":2})");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("progress.step"), std::string::npos);
  auto no_validation_loss = ParseTrainerLine(
      R"({"event":"checkpoint","step":1,"tokens":1,"loss":2,"path":"/r","validation_tokens":64})");
  ASSERT_FALSE(no_validation_loss.ok());
  EXPECT_NE(no_validation_loss.status().message().find("checkpoint.validation_loss"),
            std::string::npos);
  auto no_path = ParseTrainerLine(R"({"event":"checkpoint","step":1,"tokens":1,"loss":2})");
  EXPECT_FALSE(no_path.ok());
}

TEST(TrainerLine, EvalLineFlattensItsMetricsAndKeepsItsFigures) {
  auto eval = ParseTrainerLine(
      R"({"event":"eval","task":"needle-easy","checkpoint":"w","step":5,"metrics":)"
      R"({"mode":"easy","lengths":[32,64],"scores":[[10,2],[0,null]],"niah_score":0.25},)"
      R"("forward_tokens":900,"seconds":1.5,"figures":["a.svg","a.png"]})");
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_EQ(eval->kind, TrainerEventKind::kEval);
  EXPECT_EQ(eval->task, "needle-easy");
  std::map<std::string, double> metrics(eval->metrics.begin(), eval->metrics.end());
  EXPECT_EQ(metrics.size(), 9u);  // "mode" is text: left out
  EXPECT_DOUBLE_EQ(metrics["lengths[1]"], 64);
  EXPECT_DOUBLE_EQ(metrics["scores[0][1]"], 2);
  EXPECT_TRUE(std::isnan(metrics["scores[1][1]"]));
  EXPECT_DOUBLE_EQ(metrics["niah_score"], 0.25);
  EXPECT_DOUBLE_EQ(metrics["forward_tokens"], 900);
  EXPECT_EQ(eval->figures, (std::vector<std::string>{"a.svg", "a.png"}));
  EXPECT_FALSE(ParseTrainerLine(R"({"event":"eval","task":"validation"})").ok());
}

TEST(ChildProcess, ReadsLinesAndExitCode) {
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "echo one; echo two; printf three; exit 3"};
  auto child = ChildProcess::Spawn(options);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ((*child)->ReadLine().value_or(""), "one");
  EXPECT_EQ((*child)->ReadLine().value_or(""), "two");
  EXPECT_EQ((*child)->ReadLine().value_or(""), "three");
  EXPECT_FALSE((*child)->ReadLine().has_value());
  ExitStatus exit = (*child)->Wait();
  EXPECT_EQ(exit.exit_code, 3);
  EXPECT_EQ(exit.Describe(), "exit code 3");
}

TEST(ChildProcess, PassesEnvironmentAndSignalsTheGroup) {
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "echo $FLOPWISE_TEST_VALUE; sleep 30 & wait"};
  options.env = {{"FLOPWISE_TEST_VALUE", "forty-two"}};
  auto child = ChildProcess::Spawn(options);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ((*child)->ReadLine().value_or(""), "forty-two");
  (*child)->Signal(SIGTERM);
  // The grandchild (sleep) shares the pipe: EOF proves it died with the group.
  EXPECT_FALSE((*child)->ReadLine().has_value());
  ExitStatus exit = (*child)->Wait();
  EXPECT_EQ(exit.signal, SIGTERM);
}

TEST(ChildProcess, MissingProgramIsNotFound) {
  SpawnOptions options;
  options.argv = {"/nonexistent/flopwise-train"};
  auto child = ChildProcess::Spawn(options);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(child.status().message().find("/nonexistent/flopwise-train"), std::string::npos);
}

TEST(Backoff, GrowsThenCapsAndResets) {
  Backoff backoff({.initial_ms = 100, .max_ms = 1000, .multiplier = 2.0, .jitter = 0.0});
  EXPECT_EQ(backoff.NextDelayMs(), 100);
  EXPECT_EQ(backoff.NextDelayMs(), 200);
  EXPECT_EQ(backoff.NextDelayMs(), 400);
  EXPECT_EQ(backoff.NextDelayMs(), 800);
  EXPECT_EQ(backoff.NextDelayMs(), 1000);
  EXPECT_EQ(backoff.NextDelayMs(), 1000);
  backoff.Reset();
  EXPECT_EQ(backoff.NextDelayMs(), 100);
}

TrainerEvent Progress(int64_t step) {
  TrainerEvent event;
  event.kind = TrainerEventKind::kProgress;
  event.step = step;
  event.tokens = step * 10;
  event.loss = 5.0 - 0.01 * static_cast<double>(step);
  return event;
}

TEST(ReportQueue, BatchesRowsWithSequenceNumbersAndKeepsOrder) {
  testing::FakeLink link;
  ReportQueue queue("L1", 2, BackoffOptions{}, /*max_rows_per_batch=*/4);
  queue.AddStart(-1);
  for (int step = 1; step <= 6; ++step) queue.AddProgress(Progress(step));
  TrainerEvent checkpoint = Progress(6);
  checkpoint.path = "/ckpt/step-6";
  checkpoint.validation_loss = 2.75;
  checkpoint.validation_bits_per_byte = 3.96;
  checkpoint.validation_tokens = 1024;
  queue.AddCheckpoint(checkpoint);
  queue.AddProgress(Progress(7));
  queue.AddComplete(Progress(7));
  EXPECT_EQ(queue.Flush(link, 0), ReportQueue::FlushResult::kFinished);
  const auto recorded = link.recorded();
  ASSERT_EQ(recorded.metrics.size(), 3u);  // 4 + 2 rows, then 1 after the checkpoint
  EXPECT_TRUE(recorded.metrics[0].has_resumed_from_step());
  EXPECT_EQ(recorded.metrics[0].resumed_from_step(), -1);
  EXPECT_EQ(recorded.metrics[0].rows_size(), 4);
  EXPECT_EQ(recorded.metrics[0].attempt(), 2);
  EXPECT_FALSE(recorded.metrics[1].has_resumed_from_step());
  ASSERT_EQ(recorded.checkpoints.size(), 1u);
  EXPECT_EQ(recorded.checkpoints[0].checkpoint().seq(), 0);
  EXPECT_EQ(recorded.checkpoints[0].checkpoint().path(), "/ckpt/step-6");
  EXPECT_DOUBLE_EQ(recorded.checkpoints[0].checkpoint().validation_loss(), 2.75);
  EXPECT_DOUBLE_EQ(recorded.checkpoints[0].checkpoint().validation_bits_per_byte(), 3.96);
  EXPECT_EQ(recorded.checkpoints[0].checkpoint().validation_tokens(), 1024);
  EXPECT_EQ(recorded.completes.size(), 1u);
  const auto rows = link.StoredRows("L1");
  ASSERT_EQ(rows.size(), 7u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].seq(), static_cast<int64_t>(i));
    EXPECT_EQ(rows[i].step(), static_cast<int64_t>(i) + 1);
  }
}

TEST(ReportQueue, KeepsEverythingWhileUnreachableAndRetriesAfterBackoff) {
  testing::FakeLink link;
  link.SetUnavailable(true);
  ReportQueue queue("L1", 1, BackoffOptions{.initial_ms = 100, .max_ms = 400, .jitter = 0});
  for (int step = 1; step <= 3; ++step) queue.AddProgress(Progress(step));
  EXPECT_EQ(queue.Flush(link, 1000), ReportQueue::FlushResult::kWaiting);
  EXPECT_EQ(queue.retry_at_ms(), 1100);
  EXPECT_EQ(queue.last_error().code(), absl::StatusCode::kUnavailable);
  queue.AddProgress(Progress(4));
  EXPECT_EQ(queue.Flush(link, 1050), ReportQueue::FlushResult::kWaiting);  // before retry_at
  EXPECT_EQ(link.recorded().failed_calls, 1);
  EXPECT_EQ(queue.Flush(link, 1100), ReportQueue::FlushResult::kWaiting);
  EXPECT_EQ(queue.retry_at_ms(), 1300);  // doubled
  link.SetUnavailable(false);
  EXPECT_EQ(queue.Flush(link, 1300), ReportQueue::FlushResult::kIdle);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(link.StoredRows("L1").size(), 4u);
}

TEST(ReportQueue, LeaseEndedOnTheCoordinatorDropsTheQueue) {
  testing::FakeLink link;
  link.CancelLease("L9");
  ReportQueue queue("L9", 1, BackoffOptions{});
  queue.AddProgress(Progress(1));
  queue.AddFail("exit code 1", false);
  EXPECT_EQ(queue.Flush(link, 0), ReportQueue::FlushResult::kLeaseEnded);
  EXPECT_TRUE(queue.empty());
  EXPECT_TRUE(link.recorded().fails.empty());
}

TEST(ReportQueue, NothingIsQueuedAfterTheFinalReport) {
  testing::FakeLink link;
  ReportQueue queue("L1", 1, BackoffOptions{});
  queue.AddRelease("worker stopping");
  queue.AddProgress(Progress(1));
  queue.AddFail("late", false);
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.Flush(link, 0), ReportQueue::FlushResult::kFinished);
  EXPECT_EQ(link.recorded().releases.size(), 1u);
  EXPECT_TRUE(link.recorded().metrics.empty());
}

TEST(TrainerArgs, NamesTheConfigFileTheRunDirectoryTheResumeStepAndTheThreads) {
  EXPECT_EQ(
      TrainerArgv("/bin/flopwise-train", "/ckpt/run-1/run_config.json", "/ckpt/run-1", 4, 40,
                  /*on_gpu=*/false),
      (std::vector<std::string>{"/bin/flopwise-train", "--config", "/ckpt/run-1/run_config.json",
                                "--out", "/ckpt/run-1", "--resume-step", "40", "--threads", "4"}));
  EXPECT_EQ(TrainerArgv("flopwise-train", "c.json", "run", 0, -1, /*on_gpu=*/false),
            (std::vector<std::string>{"flopwise-train", "--config", "c.json", "--out", "run",
                                      "--resume-step", "0"}));
}

// A run granted GPUs trains on the first visible one (CUDA_VISIBLE_DEVICES
// holds only its own).
TEST(TrainerArgs, ARunGrantedGpusTrainsOnCuda) {
  EXPECT_EQ(TrainerArgv("flopwise-train", "c.json", "run", 2, 0, /*on_gpu=*/true),
            (std::vector<std::string>{"flopwise-train", "--config", "c.json", "--out", "run",
                                      "--resume-step", "0", "--threads", "2", "--device", "cuda"}));
}

TEST(TrainerArgs, DataParallelRankGetsWorldSizeRankAndRendezvousButNoSecret) {
  std::vector<std::string> argv = {"flopwise-train"};
  RankArgs rank;
  rank.world_size = 4;
  rank.rank = 2;
  rank.rendezvous = "grpc://coordinator:7070/12/3";
  AppendRankArgs(rank, &argv);
  EXPECT_EQ(argv, (std::vector<std::string>{"flopwise-train", "--world-size", "4", "--rank", "2",
                                            "--rendezvous", "grpc://coordinator:7070/12/3"}));
}

TEST(TrainerArgs, RankAddressOrInterfaceIsPassedOnOnlyWhenSet) {
  RankArgs rank;
  rank.world_size = 2;
  rank.rendezvous = "grpc://10.77.0.1:7070/5/1";
  rank.address = "10.77.1.2";
  std::vector<std::string> argv;
  AppendRankArgs(rank, &argv);
  EXPECT_EQ(argv,
            (std::vector<std::string>{"--world-size", "2", "--rank", "0", "--rendezvous",
                                      "grpc://10.77.0.1:7070/5/1", "--rank-address", "10.77.1.2"}));
  rank.address.clear();
  rank.interface = "eth1";
  argv.clear();
  AppendRankArgs(rank, &argv);
  EXPECT_EQ(std::vector<std::string>(argv.end() - 2, argv.end()),
            (std::vector<std::string>{"--rank-interface", "eth1"}));
}

TEST(TrainerArgs, PrivateFileIsOnlyTheOwners) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("flopwise-private-" + std::to_string(getpid()));
  std::ofstream(path) << "old, longer contents";
  std::filesystem::permissions(path, std::filesystem::perms::all);
  ASSERT_TRUE(WritePrivateFile(path.string(), "token\n").ok());
  EXPECT_EQ(std::filesystem::status(path).permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "token\n");
  std::filesystem::remove(path);
  EXPECT_EQ(WritePrivateFile("/nonexistent-dir/token", "x").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(EvalArgs, NamesTheCheckpointTasksDataAndTheSectionsSettings) {
  v1::EvalLease lease;
  lease.set_checkpoint_path("/ck/sweep-1/run-2/step-00000040");
  lease.mutable_config()->mutable_model()->set_context(256);
  lease.mutable_config()->set_data_path("/data/brown");
  lease.mutable_evaluation()->add_tasks("validation");
  lease.mutable_evaluation()->add_tasks("needle");
  lease.mutable_evaluation()->set_validation_tokens(4096);
  lease.mutable_evaluation()->add_needle_lengths(64);
  lease.mutable_evaluation()->add_needle_lengths(128);
  EXPECT_EQ(EvalArgv("/bin/flopwise-train", lease, "/ck/sweep-1/run-2/eval", 2),
            (std::vector<std::string>{
                "/bin/flopwise-train", "eval", "--checkpoint", "/ck/sweep-1/run-2/step-00000040",
                "--context", "256", "--tasks", "validation,needle", "--figures",
                "/ck/sweep-1/run-2/eval", "--threads", "2", "--data", "/data/brown",
                "--validation-tokens", "4096", "--needle-lengths", "64,128"}));
  lease.mutable_config()->set_validation_data("/data/held-out");
  const std::vector<std::string> argv = EvalArgv("t", lease, "f", 0);
  EXPECT_NE(std::find(argv.begin(), argv.end(), "/data/held-out"), argv.end());
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "--threads"), argv.end());
}

TEST(EvalArgs, UnreadableTaskFileNamesItsPath) {
  v1::EvalLease lease;
  lease.mutable_evaluation()->add_tasks("validation");
  EXPECT_TRUE(CheckTaskFiles(lease).ok());
  lease.mutable_evaluation()->add_tasks("/nonexistent/piqa.jsonl");
  const absl::Status status = CheckTaskFiles(lease);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("task file /nonexistent/piqa.jsonl: cannot read"),
            std::string::npos)
      << status;
}

}  // namespace
}  // namespace flopwise::workerd
