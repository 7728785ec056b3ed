// The worker daemon's engine: registers with the coordinator, leases runs
// and eval jobs that fit its free resources, trains each run in a
// flopwise-train child process and evaluates each eval job's checkpoint in a
// `flopwise-train eval` child (docs/evaluation.md, "Scheduling"),
// relays the trainer's events as reports, heartbeats its leases and obeys
// cancel instructions. Survives a coordinator outage (keeps training, queues
// reports, retries with backoff, re-registers when forgotten).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "kernels/device_info.h"
#include "worker/daemon/backoff.h"
#include "worker/daemon/child_process.h"
#include "worker/daemon/coordinator_link.h"
#include "worker/daemon/work_dir_lock.h"

namespace flopwise::workerd {

// How a rank of a data-parallel run reaches the coordinator's rendezvous:
// as the worker does (docs/distributed.md).
struct RankConnection {
  std::string coordinator;  // HOST:PORT, the worker's --coordinator
  std::string token;        // the worker token
  bool tls = false;
  std::string tls_ca_file;  // empty: the system's roots
  // Where the ranks this worker starts listen for their peers: the worker's
  // --rank-address or --rank-interface, passed on as the trainer's flag of
  // the same name (both empty: 127.0.0.1, ranks on one host only).
  std::string rank_address;
  std::string rank_interface;
};

struct WorkerOptions {
  std::string trainer_path;  // flopwise-train (or a compatible program)
  std::string work_dir;      // worker id file, trainer logs, default checkpoint root
  // Overrides the coordinator's checkpoint root when not empty.
  std::string checkpoint_root;
  int max_runs = 0;                  // concurrent runs; 0: one per GPU, or 1 without GPUs
  int threads_per_run = 0;           // trainer --threads; 0: cores / max_runs
  std::string hostname;              // empty: gethostname()
  kernels::HostInfo host;            // inventory reported at registration
  BackoffOptions backoff;            // retries of reports, registration and acquisition
  int64_t stop_timeout_ms = 120000;  // SIGTERM to SIGKILL of the trainers on shutdown
  int64_t stop_flush_ms = 10000;     // after the trainers ended, time left to report
  int64_t poll_ms = 50;              // main-loop tick
  // Extra environment of every trainer.
  std::vector<std::pair<std::string, std::string>> trainer_env;
  RankConnection rank_connection;
};

// Run() is called once, from the thread that will own the children (they get
// SIGTERM when that thread exits). RequestStop() may be called from any thread.
class Worker {
 public:
  Worker(WorkerOptions options, CoordinatorLink* link);
  ~Worker();

  // Works until RequestStop(): then SIGTERMs the trainers, reports their last
  // checkpoints, releases their leases and returns. FailedPrecondition when
  // the work directory cannot be used.
  absl::Status Run();
  void RequestStop() ABSL_LOCKS_EXCLUDED(wake_mu_);

  // The id the coordinator assigned (empty before registration). Thread-safe.
  std::string worker_id() const ABSL_LOCKS_EXCLUDED(id_mu_);

 private:
  struct Slot;

  // Creates --work-dir and locks it (work_dir_lock.h).
  absl::StatusOr<WorkDirLock> LockWorkDir();
  absl::Status PrepareWorkDir() ABSL_LOCKS_EXCLUDED(id_mu_);
  bool Register(int64_t now_ms) ABSL_LOCKS_EXCLUDED(id_mu_);
  void Heartbeat(int64_t now_ms);
  void Acquire(int64_t now_ms);
  void StartRun(const v1::Lease& lease);
  // A data-parallel rank's flags and environment: --world-size, --rank,
  // --rendezvous and the rank address, the token in a 0600 file of the work
  // directory.
  absl::Status AddRankSettings(const v1::Lease& lease, SpawnOptions* spawn);
  // worker_evals.cc: an eval job's child and its final report.
  void StartEval(const v1::EvalLease& lease);
  void FinishEval(Slot& slot, const ExitStatus& exit);
  void PumpEvents(Slot& slot);
  void FinishIfExited(Slot& slot);
  void StopSlot(Slot& slot, const std::string& reason, bool lease_ended);
  void Wake() ABSL_LOCKS_EXCLUDED(wake_mu_);
  void SleepUntilWoken(int64_t timeout_ms) ABSL_LOCKS_EXCLUDED(wake_mu_);

  const WorkerOptions options_;
  CoordinatorLink* const link_;
  int max_runs_ = 1;
  int threads_per_run_ = 1;
  std::string checkpoint_root_;

  mutable absl::Mutex id_mu_;
  std::string worker_id_ ABSL_GUARDED_BY(id_mu_);
  bool registered_ = false;
  bool draining_ = false;
  int heartbeat_interval_ms_ = 5000;
  int64_t next_register_ms_ = 0;
  int64_t next_heartbeat_ms_ = 0;
  int64_t next_acquire_ms_ = 0;
  Backoff register_backoff_;
  Backoff acquire_backoff_;

  std::map<std::string, std::unique_ptr<Slot>> slots_;  // by lease id

  std::atomic<bool> stop_requested_{false};
  absl::Mutex wake_mu_;
  absl::CondVar wake_cv_;  // signalled when woken_ is set
  bool woken_ ABSL_GUARDED_BY(wake_mu_) = false;
};

}  // namespace flopwise::workerd
