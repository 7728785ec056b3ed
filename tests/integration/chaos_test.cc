// A bounded chaos test: while a sweep of stand-in trainers runs on three
// workers, for FLOPWISE_CHAOS_SECONDS (default 20) it kills random workers
// (SIGKILL, or SIGTERM: a graceful stop), random trainers (SIGKILL) and the
// coordinator (SIGKILL, down for up to two lease lengths), restarting each
// after a random pause. Then every daemon runs again and the sweep must
// finish with every run succeeded, every metric step stored once and every
// checkpoint present: nothing lost, doubled or stuck. FLOPWISE_CHAOS_SEED
// picks the sequence (default 1). The last line printed says what ran;
// docs/operations.md ("Chaos test") records a longer run. With
// FLOPWISE_KEEP_TEST_DIRS set, the cluster's folder (database, logs,
// checkpoints) is kept for a post-mortem.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/cluster.h"

namespace flopwise::testing {
namespace {

namespace fs = std::filesystem;

constexpr double kLeaseSeconds = 2.0;
constexpr int kCheckpointSteps = 25;
const char* const kWorkers[] = {"w1", "w2", "w3"};

double EnvSeconds(const char* name, double fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text ? std::atof(text) : fallback;
}

// The pids of the stand-in trainers running now (FLOPWISE_FAKE_PID_DIR);
// files left by killed ones are removed.
std::vector<pid_t> RunningTrainers(const std::string& pid_dir) {
  std::vector<pid_t> pids;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(pid_dir, error)) {
    const pid_t pid = static_cast<pid_t>(std::atoll(entry.path().filename().c_str()));
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
    std::string argv0;
    std::getline(cmdline, argv0, '\0');
    if (pid > 0 && argv0.find("flopwise-fake-train") != std::string::npos) {
      pids.push_back(pid);
    } else {
      fs::remove(entry.path(), error);
    }
  }
  return pids;
}

TEST(ChaosTest, SweepSurvivesRandomKillsWithNothingLostDoubledOrStuck) {
  for (const char* program : {"flopwise-coordinator", "flopwise-worker", "flopwise-fake-train"}) {
    if (!HaveProgram(program)) GTEST_SKIP() << program << " is not built";
  }
  const double chaos_seconds = EnvSeconds("FLOPWISE_CHAOS_SECONDS", 20);
  const unsigned seed = static_cast<unsigned>(EnvSeconds("FLOPWISE_CHAOS_SEED", 1));
  std::mt19937 rng(seed);
  auto uniform = [&rng](double low, double high) {
    return std::uniform_real_distribution<double>(low, high)(rng);
  };
  auto pause = [](double seconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  };

  Cluster cluster(kLeaseSeconds);
  const std::string pid_dir = cluster.dir().Sub("trainer-pids");
  fs::create_directories(pid_dir);
  const std::vector<std::pair<std::string, std::string>> env = {{"FLOPWISE_FAKE_STEP_MS", "20"},
                                                                {"FLOPWISE_FAKE_PID_DIR", pid_dir}};
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  for (const char* worker : kWorkers) cluster.StartWorker(worker, env);
  // 8 runs on 6 slots at 20 ms a step take about 0.04 s per step without
  // faults: long enough that the sweep outlasts the chaos.
  const int steps =
      std::max(600, static_cast<int>(chaos_seconds * 30) / kCheckpointSteps * kCheckpointSteps);
  std::string spec =
      SweepSpec("chaos", "llama, tnl, hgrn2, cos2", "cpu-1, cpu-2", steps, kCheckpointSteps);
  spec.replace(spec.find("max_attempts: 5"), 15, "max_attempts: 100");
  const int64_t sweep = cluster.Submit(spec);
  ASSERT_NE(sweep, 0);

  int worker_kills = 0, worker_stops = 0, trainer_kills = 0, coordinator_kills = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline =
      start + std::chrono::milliseconds(static_cast<int64_t>(chaos_seconds * 1e3));
  while (std::chrono::steady_clock::now() < deadline) {
    pause(uniform(0.5, 2.0));
    const double action = uniform(0, 1);
    if (action < 0.35) {
      const std::vector<pid_t> trainers = RunningTrainers(pid_dir);
      if (trainers.empty()) continue;
      kill(trainers[rng() % trainers.size()], SIGKILL);
      ++trainer_kills;
    } else if (action < 0.85) {
      const std::string worker = kWorkers[rng() % std::size(kWorkers)];
      if (action < 0.65) {
        cluster.KillWorker(worker);
        ++worker_kills;
      } else {
        cluster.StopWorker(worker);
        ++worker_stops;
      }
      pause(uniform(0, 1.5 * kLeaseSeconds));
      cluster.StartWorker(worker, env);
    } else {
      cluster.KillCoordinator();
      ++coordinator_kills;
      pause(uniform(0, 2 * kLeaseSeconds));
      ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
    }
  }

  // Everything runs again: the sweep must finish on its own.
  ASSERT_TRUE(cluster.WaitSweepFinished(sweep, 180 + chaos_seconds)) << cluster.CoordinatorLog();
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int attempts = 0;
  for (const v1::Run& run : cluster.Runs(sweep)) {
    EXPECT_EQ(run.state(), v1::RUN_STATE_SUCCEEDED) << run.name();
    attempts += run.attempts();
  }
  ExpectCompleteMetrics(cluster, sweep, steps);
  std::printf(
      "chaos: seed %u, %.0f s of chaos: %d worker kills, %d worker stops, %d trainer kills, "
      "%d coordinator kills; 8 runs of %d steps took %d attempts and finished %.0f s after the "
      "start; %s\n",
      seed, chaos_seconds, worker_kills, worker_stops, trainer_kills, coordinator_kills, steps,
      attempts, total_s,
      HasFailure() ? "CHECKS FAILED (above)" : "every step stored once, every checkpoint present");
}

}  // namespace
}  // namespace flopwise::testing
