// A coordinator on an ephemeral loopback port over a temporary SQLite file,
// and a stand-in worker that feeds it checkpoints through the real worker API
// (register, acquire, report, complete) with losses drawn from a known law:
// the fixture of the fit tests (RPC and CLI).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flopwise/v1/user_service.grpc.pb.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "server/coordinator_server.h"

namespace flopwise::server::testing {

inline constexpr char kClientToken[] = "fit-client-secret";
inline constexpr char kWorkerToken[] = "fit-worker-secret";

// L(N, D) = E + A/N^alpha + B/D^beta.
struct Law {
  double e = 2.0, a = 400, b = 400, alpha = 0.34, beta = 0.28;
  double Loss(double n, double d) const;
};

class FitStudy {
 public:
  // Starts the coordinator in `dir` (created; removed by the destructor),
  // with its HTTP port (/metrics, the dashboard) on loopback when `serve_http`.
  explicit FitStudy(const std::filesystem::path& dir, bool serve_http = false);
  ~FitStudy();

  bool ok() const { return server_ != nullptr; }
  int port() const;
  int http_port() const { return server_->metrics_port(); }
  const std::filesystem::path& dir() const { return dir_; }
  std::string db_path() const { return (dir_ / "coordinator.db").string(); }
  // A file holding the client token (for the CLI).
  std::string client_token_file() const { return (dir_ / "client.token").string(); }

  v1::UserService::Stub& users() { return *users_; }
  // A context with the client token and a deadline.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token = kClientToken);

  // Submits a sweep of `archs` x `sizes` (presets), context 64, 1e8 tokens a
  // run. Returns the sweep id (0 after an ADD_FAILURE).
  int64_t Submit(const std::string& name, const std::string& archs, const std::string& sizes);
  // Submits a spec whose `grids` (context 64 unless a grid says otherwise)
  // follow `grids_yaml`, with the settings Submit uses.
  int64_t SubmitGrids(const std::string& name, const std::string& grids_yaml);

  // Acts as a worker until no run is left: each run reports `checkpoints`
  // checkpoints at tokens = total × k / checkpoints (k = 1, ...), flops = the
  // run's FLOPs per token × tokens and loss = laws[arch](N, tokens), then
  // completes. With `hold_back_last`, the last run granted keeps its lease and
  // its final checkpoint for ReportHeldBack(). Returns the runs trained.
  int TrainAll(const std::map<std::string, Law>& laws, int checkpoints, bool hold_back_last);
  // Reports the held-back checkpoint and completes that run.
  void ReportHeldBack();
  // Reports a checkpoint with a NaN loss (a diverged step) on the held-back
  // lease, at the run's last planned step, after every other.
  void ReportNanCheckpointOnHeldLease();

  // Rows of the `fits` table, read through a second connection to the file.
  int FitRows() const;

 private:
  struct HeldRun {
    v1::Lease lease;
    v1::CheckpointPoint last;
    int64_t next_seq = 0;
  };
  int64_t SubmitSpec(const std::string& spec_yaml);
  void Report(const v1::Lease& lease, const v1::CheckpointPoint& point);
  void Complete(const v1::Lease& lease);

  std::filesystem::path dir_;
  std::unique_ptr<CoordinatorServer> server_;
  std::unique_ptr<v1::UserService::Stub> users_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
  std::string worker_id_;
  std::optional<HeldRun> held_;
};

}  // namespace flopwise::server::testing
