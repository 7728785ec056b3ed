// End to end: flopwise-coordinator and flopwise-worker as real processes on
// loopback ports, temp dirs and a temp SQLite file, with the stand-in trainer
// (and flopwise-train in one test when it is built).
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "client/channel.h"
#include "client/export.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/cluster.h"
#include "tests/integration/real_trainer_sweep.h"

namespace flopwise::testing {
namespace {

constexpr double kSweepTimeoutS = 90;

class DaemonsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* program : {"flopwise-coordinator", "flopwise-worker", "flopwise-fake-train"}) {
      if (!HaveProgram(program)) GTEST_SKIP() << program << " is not built";
    }
  }
};

TEST_F(DaemonsTest, TwoWorkersCompleteASweepAndEveryRowIsStoredOnce) {
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  cluster.StartWorker("w1", {{"FLOPWISE_FAKE_STEP_MS", "20"}});
  cluster.StartWorker("w2", {{"FLOPWISE_FAKE_STEP_MS", "20"}});
  // A model flag travels in the run config file (llama ignores norm_affine).
  const int64_t sweep =
      cluster.Submit(SweepSpec("two-workers", "llama, tnl", "cpu-1, cpu-2", 30, 10) +
                     "model:\n  norm_affine: true\n");
  ASSERT_NE(sweep, 0);
  ASSERT_TRUE(cluster.WaitSweepFinished(sweep, kSweepTimeoutS)) << cluster.CoordinatorLog();
  const auto runs = cluster.Runs(sweep);
  ASSERT_EQ(runs.size(), 4u);
  for (const v1::Run& run : runs) {
    EXPECT_EQ(run.state(), v1::RUN_STATE_SUCCEEDED) << run.name();
    EXPECT_EQ(run.tokens(), 30 * 256) << run.name();
  }
  ExpectCompleteMetrics(cluster, sweep, 30);

  client::ExportOptions options;
  options.sweep_id = sweep;
  std::ostringstream out;
  auto written = client::Export(cluster.users(), kClientToken, options, out);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, 4 * 30);
  std::istringstream lines(out.str());
  std::string line;
  int64_t parsed = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    for (const char* key : {"sweep", "run", "arch", "attempt", "step", "tokens", "flops", "loss"}) {
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << line;
    }
    EXPECT_EQ(j["sweep"].get<int64_t>(), sweep);
    ++parsed;
  }
  EXPECT_EQ(parsed, *written);
}

TEST_F(DaemonsTest, TwoRankRunSpansTwoWorkersMeetsThroughTheCoordinatorAndReportsOnce) {
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  cluster.StartWorker("w1", {{"FLOPWISE_FAKE_STEP_MS", "20"}});
  cluster.StartWorker("w2", {{"FLOPWISE_FAKE_STEP_MS", "20"}});
  // Each worker offers two cores: one rank of two cores each.
  std::string spec = SweepSpec("two-ranks", "llama", "cpu-1", 30, 10);
  const std::string cores = "cpu_cores: 1\n";
  spec.replace(spec.find(cores), cores.size(), "cpu_cores: 2\n  replicas: 2\n");
  const int64_t sweep = cluster.Submit(spec);
  ASSERT_NE(sweep, 0);
  ASSERT_TRUE(cluster.WaitSweepFinished(sweep, kSweepTimeoutS)) << cluster.CoordinatorLog();
  const auto runs = cluster.Runs(sweep);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_SUCCEEDED) << cluster.CoordinatorLog();
  EXPECT_EQ(runs[0].tokens(), 30 * 256);
  // The ranks met through the rendezvous (a trainer that did not would have
  // failed the attempt), and only rank 0's rows were stored.
  ExpectCompleteMetrics(cluster, sweep, 30);
  const std::string log = cluster.CoordinatorLog();
  EXPECT_TRUE(log.find("(2 ranks: w1-1, w2-1)") != std::string::npos ||
              log.find("(2 ranks: w2-1, w1-1)") != std::string::npos)
      << log;
}

TEST_F(DaemonsTest, KilledRankEndsTheAttemptOnBothAndTheRunResumesOnTwoSlots) {
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  cluster.StartWorker("w1", {{"FLOPWISE_FAKE_STEP_MS", "20"}});
  cluster.StartWorker("w2", {{"FLOPWISE_FAKE_STEP_MS", "20"}});
  std::string spec = SweepSpec("kill-rank", "llama", "cpu-1", 150, 20);
  const std::string cores = "cpu_cores: 1\n";
  spec.replace(spec.find(cores), cores.size(), "cpu_cores: 2\n  replicas: 2\n");
  const int64_t sweep = cluster.Submit(spec);
  ASSERT_NE(sweep, 0);
  const int64_t run_id = cluster.Runs(sweep).at(0).run_id();
  ASSERT_TRUE(WaitFor([&] { return cluster.GetRun(run_id).step() >= 45; }, 60))
      << cluster.CoordinatorLog();
  const v1::Run running = cluster.GetRun(run_id);
  ASSERT_EQ(running.rank_workers_size(), 2);
  // kill -9 of rank 1's worker (w1-1 or w2-1): its trainer dies with it.
  const std::string rank1_worker = running.rank_workers(1);
  cluster.KillWorker(rank1_worker.substr(0, rank1_worker.find('-')));
  cluster.StartWorker("w3", {{"FLOPWISE_FAKE_STEP_MS", "5"}});
  ASSERT_TRUE(cluster.WaitSweepFinished(sweep, kSweepTimeoutS)) << cluster.CoordinatorLog();
  const v1::Run run = cluster.GetRun(run_id);
  EXPECT_EQ(run.state(), v1::RUN_STATE_SUCCEEDED);
  ASSERT_GE(run.attempt_history_size(), 2);
  EXPECT_EQ(run.attempt_history(0).outcome(), v1::ATTEMPT_OUTCOME_EXPIRED);
  EXPECT_EQ(run.attempt_history(0).reason().rfind("rank 1: lease expired", 0), 0u)
      << run.attempt_history(0).reason();
  EXPECT_GE(run.attempt_history(run.attempt_history_size() - 1).resumed_from_step(), 40);
  ExpectCompleteMetrics(cluster, sweep, 150);
}

TEST_F(DaemonsTest, KilledWorkersRunResumesOnTheOtherWorker) {
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  cluster.StartWorker("w1", {{"FLOPWISE_FAKE_STEP_MS", "20"}});
  const int64_t sweep = cluster.Submit(SweepSpec("kill-worker", "llama", "cpu-1", 150, 20));
  ASSERT_NE(sweep, 0);
  const int64_t run_id = cluster.Runs(sweep).at(0).run_id();
  ASSERT_TRUE(WaitFor([&] { return cluster.GetRun(run_id).step() >= 45; }, 60));
  cluster.KillWorker("w1");
  cluster.StartWorker("w2", {{"FLOPWISE_FAKE_STEP_MS", "5"}});
  ASSERT_TRUE(cluster.WaitSweepFinished(sweep, kSweepTimeoutS)) << cluster.CoordinatorLog();
  const v1::Run run = cluster.GetRun(run_id);
  EXPECT_EQ(run.state(), v1::RUN_STATE_SUCCEEDED);
  ASSERT_GE(run.attempt_history_size(), 2);
  EXPECT_EQ(run.attempt_history(0).outcome(), v1::ATTEMPT_OUTCOME_EXPIRED);
  const v1::Attempt& last = run.attempt_history(run.attempt_history_size() - 1);
  EXPECT_EQ(last.worker_id().rfind("w2", 0), 0u) << last.worker_id();
  EXPECT_GE(last.resumed_from_step(), 40);
  ExpectCompleteMetrics(cluster, sweep, 150);
}

TEST_F(DaemonsTest, CoordinatorKilledMidSweepLosesAndDoublesNothing) {
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  cluster.StartWorker("w1", {{"FLOPWISE_FAKE_STEP_MS", "20"}});
  cluster.StartWorker("w2", {{"FLOPWISE_FAKE_STEP_MS", "20"}});
  const int64_t sweep =
      cluster.Submit(SweepSpec("kill-coordinator", "llama, tnl", "cpu-1", 100, 20));
  ASSERT_NE(sweep, 0);
  const int64_t run_id = cluster.Runs(sweep).at(0).run_id();
  ASSERT_TRUE(WaitFor([&] { return cluster.GetRun(run_id).step() >= 20; }, 60));
  cluster.KillCoordinator();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  ASSERT_TRUE(cluster.WaitSweepFinished(sweep, kSweepTimeoutS)) << cluster.CoordinatorLog();
  for (const v1::Run& run : cluster.Runs(sweep)) {
    EXPECT_EQ(run.state(), v1::RUN_STATE_SUCCEEDED) << run.name();
  }
  ExpectCompleteMetrics(cluster, sweep, 100);
}

TEST_F(DaemonsTest, NaNRunIsDiverged) {
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  cluster.StartWorker("w1", {{"FLOPWISE_FAKE_NAN_AT_STEP", "5"}});
  const int64_t sweep = cluster.Submit(SweepSpec("nan", "tnl", "cpu-1", 40, 10));
  ASSERT_NE(sweep, 0);
  ASSERT_TRUE(cluster.WaitSweepFinished(sweep, kSweepTimeoutS)) << cluster.CoordinatorLog();
  const auto runs = cluster.Runs(sweep);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_DIVERGED);
  EXPECT_EQ(runs[0].attempts(), 1);  // no retry of a diverged run
}

TEST_F(DaemonsTest, CancelledSweepStopsItsRuns) {
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  const std::string pid_dir = cluster.dir().Sub("pids");
  std::filesystem::create_directories(pid_dir);
  cluster.StartWorker("w1", {{"FLOPWISE_FAKE_STEP_MS", "20"}, {"FLOPWISE_FAKE_PID_DIR", pid_dir}});
  const int64_t sweep = cluster.Submit(SweepSpec("cancel", "llama, tnl", "cpu-1", 100000, 100));
  ASSERT_NE(sweep, 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        int running = 0;
        for (const v1::Run& run : cluster.Runs(sweep))
          running += run.state() == v1::RUN_STATE_RUNNING;
        return running == 2 && std::distance(std::filesystem::directory_iterator(pid_dir),
                                             std::filesystem::directory_iterator()) == 2;
      },
      60));
  grpc::ClientContext context;
  cluster.Prepare(&context);
  v1::CancelSweepRequest request;
  request.set_sweep_id(sweep);
  v1::CancelSweepResponse response;
  ASSERT_TRUE(cluster.users().CancelSweep(&context, request, &response).ok());
  EXPECT_EQ(response.runs_cancelled(), 2);
  EXPECT_TRUE(WaitFor([&] { return std::filesystem::is_empty(pid_dir); }, 30));
  for (const v1::Run& run : cluster.Runs(sweep)) EXPECT_EQ(run.state(), v1::RUN_STATE_CANCELLED);
}

TEST_F(DaemonsTest, StatusWatchWithoutASweepFollowsEveryActiveSweep) {
  if (!HaveProgram("flopwise")) GTEST_SKIP() << "flopwise is not built";
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  cluster.StartWorker("w1", {{"FLOPWISE_FAKE_STEP_MS", "20"}});
  ASSERT_NE(cluster.Submit(SweepSpec("watched-first", "llama", "cpu-1", 200, 50)), 0);
  workerd::SpawnOptions options;
  options.argv = {BinPath("flopwise"),
                  "status",
                  "--watch",
                  "--coordinator",
                  cluster.address(),
                  "--token-file",
                  cluster.dir().Sub("client.token")};
  options.stderr_path = cluster.dir().Sub("status.log");
  auto cli = workerd::ChildProcess::Spawn(options);
  ASSERT_TRUE(cli.ok()) << cli.status();
  std::mutex mu;
  std::vector<std::string> lines;
  std::thread reader([&] {
    while (std::optional<std::string> line = (*cli)->ReadLine()) {
      std::lock_guard<std::mutex> lock(mu);
      lines.push_back(*line);
    }
  });
  auto seen = [&](const std::string& text) {
    std::lock_guard<std::mutex> lock(mu);
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
      return line.find(text) != std::string::npos;
    });
  };
  // A sweep submitted while the command runs is followed too.
  ASSERT_TRUE(WaitFor([&] { return seen("watched-first"); }, 60));
  ASSERT_NE(cluster.Submit(SweepSpec("watched-second", "tnl", "cpu-1", 20, 10)), 0);
  const bool exited = WaitFor([&] { return (*cli)->TryWait().has_value(); }, kSweepTimeoutS);
  if (!exited) (*cli)->Signal(SIGKILL);
  reader.join();
  ASSERT_TRUE(exited) << "flopwise status --watch did not end";
  EXPECT_EQ((*cli)->TryWait()->exit_code, 0);
  // It ended because both sweeps did: its last lines show the second one done.
  std::vector<std::string> completed;
  for (const std::string& line : lines) {
    if (line.find("completed") != std::string::npos) completed.push_back(line);
  }
  EXPECT_TRUE(std::any_of(completed.begin(), completed.end(), [](const std::string& line) {
    return line.find("watched-first") != std::string::npos;
  }));
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("succeeded"), std::string::npos) << lines.back();
  EXPECT_TRUE(seen("watched-second"));
  for (const v1::Run& run : cluster.Runs(2)) EXPECT_EQ(run.state(), v1::RUN_STATE_SUCCEEDED);
}

TEST_F(DaemonsTest, WrongOrMissingTokensAreRejected) {
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  client::ConnectOptions options;
  options.coordinator = cluster.address();
  auto channel = client::MakeChannel(options);
  auto users = v1::UserService::NewStub(channel);
  auto workers = v1::WorkerService::NewStub(channel);
  auto list_workers = [&](const std::string& token) {
    grpc::ClientContext context;
    if (!token.empty()) client::PrepareContext(&context, token, 5000);
    v1::ListWorkersResponse response;
    return users->ListWorkers(&context, v1::ListWorkersRequest(), &response).error_code();
  };
  EXPECT_EQ(list_workers(""), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(list_workers("not-the-token"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(list_workers(kWorkerToken), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(list_workers(kClientToken), grpc::StatusCode::OK);
  grpc::ClientContext context;
  client::PrepareContext(&context, kClientToken, 5000);
  v1::RegisterRequest request;
  request.set_hostname("intruder");
  v1::RegisterResponse response;
  EXPECT_EQ(workers->Register(&context, request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// Runs a daemon that must fail at start: its exit code and stderr.
std::pair<int, std::string> RunFailing(const TempDir& dir, std::vector<std::string> argv) {
  workerd::SpawnOptions options;
  options.argv = std::move(argv);
  options.capture_stdout = false;
  options.stderr_path = dir.Sub("failing.log");
  std::filesystem::remove(options.stderr_path);
  auto child = workerd::ChildProcess::Spawn(options);
  EXPECT_TRUE(child.ok());
  if (!child.ok()) return {-1, ""};
  const bool ended = WaitFor([&] { return (*child)->TryWait().has_value(); }, 20);
  EXPECT_TRUE(ended) << options.argv[0] << " did not exit";
  const int code = ended ? (*child)->TryWait()->exit_code : -1;
  std::ifstream in(options.stderr_path);
  std::ostringstream text;
  text << in.rdbuf();
  return {code, text.str()};
}

std::string LastLine(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  const size_t newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

TEST_F(DaemonsTest, DaemonsWithABadSetupSayWhyAndExitNonZero) {
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  const TempDir& dir = cluster.dir();
  const std::vector<std::string> tokens = {"--client-token-file", dir.Sub("client.token"),
                                           "--worker-token-file", dir.Sub("worker.token")};
  auto coordinator = [&](const std::string& listen, const std::string& db) {
    std::vector<std::string> argv = {BinPath("flopwise-coordinator"), "--listen", listen, "--db",
                                     db};
    argv.insert(argv.end(), tokens.begin(), tokens.end());
    return argv;
  };
  auto [in_use_code, in_use] = RunFailing(dir, coordinator(cluster.address(), dir.Sub("other.db")));
  EXPECT_NE(in_use_code, 0);
  EXPECT_NE(LastLine(in_use).find("listen"), std::string::npos) << in_use;

  // A database path under a regular file cannot be created, even by root.
  std::ofstream(dir.Sub("a-file")) << "not a directory";
  const std::string bad_db = dir.Sub("a-file/x.db");
  std::vector<std::string> bad_db_argv = coordinator("127.0.0.1:0", bad_db);
  bad_db_argv.insert(bad_db_argv.end(), {"--checkpoint-root", dir.Sub("checkpoints")});
  auto [db_code, db_error] = RunFailing(dir, bad_db_argv);
  EXPECT_NE(db_code, 0);
  EXPECT_NE(LastLine(db_error).find("db"), std::string::npos) << db_error;

  auto [token_code, token_error] =
      RunFailing(dir, {BinPath("flopwise-worker"), "--coordinator", cluster.address(),
                       "--token-file", dir.Sub("missing.token"), "--work-dir", dir.Sub("w"),
                       "--trainer", BinPath("flopwise-fake-train")});
  EXPECT_NE(token_code, 0);
  EXPECT_EQ(std::count(token_error.begin(), token_error.end(), '\n'), 1) << token_error;
  EXPECT_NE(token_error.find("missing.token"), std::string::npos) << token_error;

  // TEST-NET-3 (RFC 5737) is on no host here.
  auto [address_code, address_error] = RunFailing(
      dir, {BinPath("flopwise-worker"), "--coordinator", cluster.address(), "--token-file",
            dir.Sub("worker.token"), "--work-dir", dir.Sub("w"), "--trainer",
            BinPath("flopwise-fake-train"), "--rank-address", "203.0.113.1"});
  EXPECT_NE(address_code, 0);
  EXPECT_NE(
      LastLine(address_error).find("--rank-address: 203.0.113.1 is not an address of this host"),
      std::string::npos)
      << address_error;
}

// The `__metadata__.config` JSON of a checkpoint's model.safetensors.
nlohmann::json CheckpointModelConfig(const std::string& checkpoint_dir) {
  std::ifstream in(checkpoint_dir + "/model.safetensors", std::ios::binary);
  uint64_t header_size = 0;
  in.read(reinterpret_cast<char*>(&header_size), sizeof(header_size));
  std::string header(header_size, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header.size()));
  const nlohmann::json parsed = nlohmann::json::parse(header, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("__metadata__")) return nullptr;
  return nlohmann::json::parse(parsed["__metadata__"].value("config", ""), nullptr, false);
}

// The spec's model flags reach flopwise-train: its checkpoints record them.
// Its validation at every checkpoint travels to the coordinator and back: in
// GetCheckpoints, the run's latest validation loss and the export.
TEST_F(DaemonsTest, RealTrainerCompletesARun) {
  if (!HaveProgram("flopwise-train")) GTEST_SKIP() << "flopwise-train is not built";
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  const std::string data = PrepareTinyData(cluster.dir());
  ASSERT_FALSE(data.empty());
  std::string spec = SweepSpec("real-trainer", "tnl", "cpu-1", 6, 3);
  const std::string placeholder = "/nonexistent/not-read-by-the-stand-in";
  spec.replace(spec.find(placeholder), placeholder.size(), data);
  spec.replace(spec.find("vocab: 256"), 10, "vocab: 264");  // the byte tokenizer's
  spec += "model: {norm_affine: true, v_act: silu}\n";
  cluster.StartWorker("w1", {}, BinPath("flopwise-train"));
  const int64_t sweep = cluster.Submit(spec);
  ASSERT_NE(sweep, 0);
  ASSERT_TRUE(cluster.WaitSweepFinished(sweep, 150)) << cluster.CoordinatorLog();
  const auto runs = cluster.Runs(sweep);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_SUCCEEDED)
      << (runs[0].failure_reasons().empty() ? "" : runs[0].failure_reasons(0));
  ExpectCompleteMetrics(cluster, sweep, 6);
  const auto checkpoints = cluster.Checkpoints(sweep, /*include_superseded=*/false);
  ASSERT_EQ(checkpoints.size(), 2u);
  const nlohmann::json config = CheckpointModelConfig(checkpoints.back().checkpoint().path());
  ASSERT_TRUE(config.is_object()) << checkpoints.back().checkpoint().path();
  EXPECT_EQ(config.value("norm_affine", false), true) << config;
  EXPECT_EQ(config.value("v_act", ""), "silu") << config;

  for (const v1::CheckpointRow& row : checkpoints) {
    EXPECT_GT(row.checkpoint().validation_tokens(), 0) << row.DebugString();
    EXPECT_GT(row.checkpoint().validation_loss(), 0) << row.DebugString();
    EXPECT_GT(row.checkpoint().validation_bits_per_byte(), 0) << row.DebugString();
  }
  ASSERT_TRUE(runs[0].has_validation_loss());
  EXPECT_EQ(runs[0].validation_loss(), checkpoints.back().checkpoint().validation_loss());
  client::ExportOptions options;
  options.sweep_id = sweep;
  options.what = "checkpoints";
  std::ostringstream out;
  ASSERT_TRUE(client::Export(cluster.users(), kClientToken, options, out).ok());
  std::istringstream lines(out.str());
  std::string line;
  std::vector<double> exported;
  while (std::getline(lines, line)) {
    exported.push_back(nlohmann::json::parse(line).value("validation_loss", 0.0));
  }
  EXPECT_EQ(exported, (std::vector<double>{checkpoints[0].checkpoint().validation_loss(),
                                           checkpoints[1].checkpoint().validation_loss()}));
}

}  // namespace
}  // namespace flopwise::testing
