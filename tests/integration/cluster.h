// A coordinator and workers as real processes on loopback, in a temp dir, for
// the end-to-end tests: start, kill -9, restart, and a UserService stub.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "flopwise/v1/user_service.grpc.pb.h"
#include "tests/integration/test_paths.h"
#include "worker/daemon/child_process.h"

namespace flopwise::testing {

namespace v1 = ::flopwise::v1;

inline constexpr char kClientToken[] = "client-token-for-tests";
inline constexpr char kWorkerToken[] = "worker-token-for-tests";

// How LaunchWorker starts one worker, beyond the defaults every worker gets.
struct WorkerLaunch {
  std::vector<std::pair<std::string, std::string>> env;
  std::string trainer;            // "": the stand-in trainer
  std::vector<std::string> args;  // more flags (e.g. --rank-address ADDR)
  // A network namespace (`ip netns`) to run the worker in ("": this one).
  std::string netns;
};

class Cluster {
 public:
  // Short lease and heartbeat so that fault tests take seconds. The
  // coordinator listens on `coordinator_host` (an IPv4 address of this
  // namespace; a non-loopback one is served without TLS, --allow-insecure).
  explicit Cluster(double lease_seconds = 2.0, double heartbeat_seconds = 0.25,
                   const std::string& coordinator_host = "127.0.0.1");
  ~Cluster();

  const TempDir& dir() const { return dir_; }
  int port() const { return port_; }
  std::string address() const { return coordinator_host_ + ":" + std::to_string(port_); }

  // Starts the coordinator and waits until it answers; false if it did not.
  bool StartCoordinator();
  void KillCoordinator();  // SIGKILL
  // Starts a worker named `name` (its work dir is dir/name) with the
  // stand-in trainer, or `trainer` when given.
  void StartWorker(const std::string& name,
                   std::vector<std::pair<std::string, std::string>> env = {},
                   const std::string& trainer = "");
  // The same, as `launch` says (another trainer, more flags, a namespace).
  void LaunchWorker(const std::string& name, const WorkerLaunch& launch);
  void KillWorker(const std::string& name);  // SIGKILL
  void StopWorker(const std::string& name);  // SIGTERM, then wait

  v1::UserService::Stub& users() { return *users_; }
  // Calls with the client token and a 10 s deadline.
  void Prepare(grpc::ClientContext* context) const;

  // Submits a spec; returns the sweep id (0 on failure, with the error in ADD_FAILURE).
  int64_t Submit(const std::string& spec_yaml);
  // Waits until the sweep is no longer active.
  bool WaitSweepFinished(int64_t sweep_id, double timeout_s);
  std::vector<v1::Run> Runs(int64_t sweep_id);
  v1::Run GetRun(int64_t run_id);
  std::vector<v1::MetricRow> Metrics(int64_t sweep_id, bool include_superseded);
  std::vector<v1::CheckpointRow> Checkpoints(int64_t sweep_id, bool include_superseded);

  std::string CoordinatorLog() const;
  std::string WorkerLog(const std::string& name) const;

 private:
  TempDir dir_;
  std::string coordinator_host_;
  int port_ = 0;
  double lease_seconds_;
  double heartbeat_seconds_;
  std::unique_ptr<workerd::ChildProcess> coordinator_;
  std::map<std::string, std::unique_ptr<workerd::ChildProcess>> workers_;
  std::unique_ptr<v1::UserService::Stub> users_;
};

// Every run's effective rows are exactly steps 1..total_steps, once each, no
// (run, attempt, seq) appears twice among all rows, and every effective
// checkpoint has a path that exists (gtest expectations).
void ExpectCompleteMetrics(Cluster& cluster, int64_t sweep_id, int total_steps);

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

// A sweep spec of the stand-in trainer's runs: `archs` × `sizes` at context
// 64, `steps` steps of 256 tokens each, a checkpoint every `checkpoint_steps`.
std::string SweepSpec(const std::string& name, const std::string& archs, const std::string& sizes,
                      int steps, int checkpoint_steps);

}  // namespace flopwise::testing
