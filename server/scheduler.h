// Scheduler: the coordinator's queue of pending runs and table of leases.
//
// The database is the truth; the scheduler keeps in memory only what makes the
// hot calls cheap (the pending queue with each run's needs, the active leases
// with their deadlines, which workers are draining) and rebuilds all of it
// from the database in Create(), so a restarted coordinator carries on where
// the last one stopped. Thread-safe.
//
// Durability: every change of state (a sweep, a lease granted or ended, a
// report) is committed before the call returns. Liveness is the exception: a
// heartbeat moves lease deadlines and the worker's last-heartbeat time in
// memory only, and StoreLiveness() writes them behind in one transaction (the
// coordinator calls it every reap interval and when it stops). A crash loses
// at most the renewals since the last write, which only makes the stored
// deadlines earlier; Create() extends every recovered lease by the restart
// grace anyway.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "db/store.h"
#include "server/limits.h"
#include "server/run_plan.h"

namespace flopwise::server {

// Milliseconds since the Unix epoch; tests inject a fake clock.
using Clock = std::function<int64_t()>;
int64_t SystemNowMs();

struct SchedulerOptions {
  int64_t lease_duration_ms = 60'000;
  int64_t heartbeat_interval_ms = 10'000;
  // Every lease recovered at start lives at least this long, so workers of a
  // restarted coordinator have time to reconnect before their leases expire.
  int64_t restart_grace_ms = 60'000;
  int64_t retry_after_ms = 5'000;  // AcquireRun's hint when nothing fits
  int eval_max_attempts = 3;       // leases of an eval job before it fails for good
  // Runs pending over all sweeps (docs/operations.md, "Limits"); 0: no limit.
  size_t max_pending_runs = kDefaultMaxPendingRuns;
};

// What a worker has free when it asks for a run.
struct FreeResources {
  int cpu_cores = 0;
  int64_t memory_bytes = 0;
  int gpus = 0;
  int64_t gpu_memory_bytes = 0;  // per free GPU
};

// True when `plan` fits `free`: cores and GPUs suffice, and the memory
// estimate fits host memory (CPU runs) or the GPUs' memory (GPU runs).
bool Fits(const RunPlan& plan, const FreeResources& free);

// A worker counts as alive while it heartbeats within two lease durations.
bool IsAlive(int64_t last_heartbeat_ms, int64_t now_ms, int64_t lease_duration_ms);

// A registered worker as the scheduler sees it: everything it registered
// (the most it could ever offer; gpu_memory_bytes is its largest GPU's), and
// whether it can take runs now.
struct WorkerCapacity {
  std::string worker_id;
  FreeResources inventory;
  bool alive = false;
  bool draining = false;
};

struct LeaseGrant {
  std::string lease_id;
  int64_t run_id = 0;
  int attempt = 0;
  int64_t lease_deadline_ms = 0;
  RunPlan plan;
  std::string run_dir_name;            // relative to the checkpoint root
  std::string resume_checkpoint_path;  // empty: start from scratch
  int64_t resume_step = -1;
};

// A granted eval job (docs/evaluation.md, "Scheduling").
struct EvalLeaseGrant {
  std::string lease_id;
  int attempt = 0;  // the job's lease count
  int64_t lease_deadline_ms = 0;
  db::EvalJobRecord job;
  RunPlan plan;  // the run's
  std::string run_dir_name;
};

// What AcquireWork grants: a run, an eval job, or nothing.
struct WorkGrant {
  std::optional<LeaseGrant> run;
  std::optional<EvalLeaseGrant> eval;
};

struct LeaseHeartbeat {
  std::string lease_id;
  int attempt = 0;
  int64_t step = 0;
  int64_t tokens = 0;
  double loss = 0;
  double tokens_per_s = 0;
};

struct LeaseVerdict {
  std::string lease_id;
  bool cancel = false;            // stop the child and forget the lease
  int64_t lease_deadline_ms = 0;  // new deadline when not cancelled
  std::string reason;             // why, when cancelled
};

struct HeartbeatResult {
  std::vector<LeaseVerdict> verdicts;  // one per lease of the request, same order
  bool draining = false;
};

// Live progress of a run as last reported (for WatchRuns).
struct RunProgress {
  int attempt = 0;
  int64_t step = 0;
  int64_t tokens = 0;
  double loss = 0;
  double tokens_per_s = 0;
  std::string worker_id;
  int64_t updated_ms = 0;
};

// A run's active lease and its last reported progress (Scheduler::Gauges).
struct RunningRun {
  int64_t run_id = 0;
  int64_t sweep_id = 0;
  std::string worker_id;
  int64_t tokens = 0;  // as last reported; 0 before the first report
  double tokens_per_s = 0;
};

// What the coordinator's metrics read of the scheduler at one instant.
struct SchedulerGauges {
  size_t queued_runs = 0;       // runs waiting in the queue
  size_t queued_eval_jobs = 0;  // eval jobs waiting in the queue
  size_t run_leases = 0;        // active leases of runs
  size_t eval_leases = 0;       // active leases of eval jobs
  // New metric rows ReportMetrics stored since the scheduler was created.
  uint64_t metric_rows_ingested = 0;
  std::vector<RunningRun> running;  // one per active run lease, by run id
};

class Scheduler {
 public:
  // Rebuilds the queue and the lease table from `store` (which must outlive
  // the scheduler). Active leases keep their deadlines, extended to at least
  // now + restart_grace_ms.
  static absl::StatusOr<std::unique_ptr<Scheduler>> Create(db::Store* store,
                                                           const SchedulerOptions& options,
                                                           Clock clock = SystemNowMs);

  const SchedulerOptions& options() const { return options_; }
  db::Store* store() const { return store_; }

  // ---- Sweeps ----
  // Stores the sweep and its runs in one transaction and queues the runs.
  // ResourceExhausted, saying the limit, when they would make more than
  // max_pending_runs runs pending. Readers wait for none of the writing.
  absl::StatusOr<db::CreatedSweep> SubmitSweep(const db::NewSweep& sweep,
                                               const std::vector<RunPlan>& runs)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Cancels the sweep's pending and running runs; running ones are told at
  // their next heartbeat. Returns how many runs were cancelled.
  absl::StatusOr<int> CancelSweep(int64_t sweep_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Puts the sweep's failed and diverged runs back in the queue (`run_ids`,
  // or every such run when empty), each with a fresh budget of its plan's
  // max_attempts, and reopens the sweep if it had completed
  // (db::Store::RetryRuns, whose errors it returns; NotFound for an unknown
  // run). A retried run's next attempt resumes from its newest checkpoint.
  absl::StatusOr<db::RetriedRuns> RetryRuns(int64_t sweep_id, std::span<const int64_t> run_ids)
      ABSL_LOCKS_EXCLUDED(mu_);

  // ---- Workers ----
  // Registers a worker (a known worker_id keeps its id). Returns the id. The
  // worker's active leases not in `held_lease_ids` end as expired (retried
  // like any lost lease): a worker that registers again without them was
  // restarted and its trainers are gone.
  absl::StatusOr<std::string> RegisterWorker(std::string worker_id, const std::string& hostname,
                                             const std::string& inventory_json,
                                             const std::vector<std::string>& held_lease_ids = {})
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status SetDraining(std::string_view worker_id, bool draining) ABSL_LOCKS_EXCLUDED(mu_);
  // Moves the deadline of every listed lease the worker holds (in memory; see
  // StoreLiveness); a lease that ended (cancelled, expired) or is unknown gets
  // cancel. NotFound for an unknown worker (it must register again).
  absl::StatusOr<HeartbeatResult> Heartbeat(std::string_view worker_id,
                                            std::span<const LeaseHeartbeat> leases)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The highest-priority pending run that fits, leased to the worker; nullopt
  // when none fits or the worker is draining. NotFound for an unknown worker.
  absl::StatusOr<std::optional<LeaseGrant>> AcquireRun(std::string_view worker_id,
                                                       const FreeResources& free)
      ABSL_LOCKS_EXCLUDED(mu_);
  // As AcquireRun, and when `accepts_eval_jobs` the highest-priority pending
  // eval job that fits instead when its priority is above the run's (at equal
  // priority training goes first).
  absl::StatusOr<WorkGrant> AcquireWork(std::string_view worker_id, const FreeResources& free,
                                        bool accepts_eval_jobs) ABSL_LOCKS_EXCLUDED(mu_);
  bool IsDraining(std::string_view worker_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Every registered worker, by id.
  std::vector<WorkerCapacity> Workers() ABSL_LOCKS_EXCLUDED(mu_);
  // Why each queued run still waits (server/pending_reason.h), by run id;
  // runs that are not queued are absent.
  std::map<int64_t, std::string> PendingReasons() ABSL_LOCKS_EXCLUDED(mu_);

  // ---- Eval jobs (scheduler_evals.cc) ----
  // Stores eval jobs of stored checkpoints and queues them. Returns their ids.
  absl::StatusOr<std::vector<int64_t>> CreateEvalJobs(std::span<const db::NewEvalJob> jobs)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Errors as the run reports: NotFound for an unknown lease,
  // FailedPrecondition when it has ended (expired, superseded) or `attempt`
  // is not its attempt.
  absl::StatusOr<int> ReportEvalResult(std::string_view lease_id, int attempt,
                                       std::span<const db::EvalRow> rows) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status CompleteEvalJob(std::string_view lease_id, int attempt) ABSL_LOCKS_EXCLUDED(mu_);
  // Fails the job for good, or with `retry` queues it again (the lease does
  // not count toward eval_max_attempts then).
  absl::Status FailEvalJob(std::string_view lease_id, int attempt, std::string_view reason,
                           bool retry) ABSL_LOCKS_EXCLUDED(mu_);

  // ---- Reports (idempotent) ----
  // NotFound for an unknown lease; FailedPrecondition when the lease has ended
  // or `attempt` is not the lease's attempt. InvalidArgument naming the field
  // (`rows[i].step`, `checkpoint.tokens`) for a row beyond the run's last
  // planned step (server/plan_bounds.h). CompleteRun: FailedPrecondition
  // unless the run's newest metric row or checkpoint reached its planned
  // tokens.
  absl::StatusOr<int> ReportMetrics(std::string_view lease_id, int attempt,
                                    std::span<const db::MetricRow> rows,
                                    std::optional<int64_t> resumed_from_step)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<bool> ReportCheckpoint(std::string_view lease_id, int attempt,
                                        const db::CheckpointRow& row) ABSL_LOCKS_EXCLUDED(mu_);
  // Records where the worker writes the attempt's trainer log.
  absl::Status ReportLogPath(std::string_view lease_id, int attempt, std::string_view log_path)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status CompleteRun(std::string_view lease_id, int attempt) ABSL_LOCKS_EXCLUDED(mu_);
  // Requeues the run (FAILED once max_attempts are used); DIVERGED at once when
  // `diverged`. Returns the run's new state.
  absl::StatusOr<db::RunState> FailRun(std::string_view lease_id, int attempt,
                                       std::string_view reason, bool diverged)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A graceful stop by the worker: the attempt ends `stopped` with `reason`
  // and the run is requeued at once. A released attempt does not count toward
  // max_attempts. Returns the run's new state (pending).
  absl::StatusOr<db::RunState> ReleaseRun(std::string_view lease_id, int attempt,
                                          std::string_view reason) ABSL_LOCKS_EXCLUDED(mu_);

  // Expires every lease whose deadline has passed: the run is requeued (its
  // next attempt resumes from the newest checkpoint) or FAILED after
  // max_attempts; an eval job is queued again or FAILED after
  // eval_max_attempts. Returns how many leases expired.
  absl::StatusOr<int> ReapExpiredLeases() ABSL_LOCKS_EXCLUDED(mu_);
  // Writes the lease deadlines and worker heartbeat times that changed since
  // the last call, in one transaction. On error they are written next time.
  absl::Status StoreLiveness() ABSL_LOCKS_EXCLUDED(liveness_mu_, mu_);

  // ---- Watching ----
  std::optional<RunProgress> Progress(int64_t run_id) ABSL_LOCKS_EXCLUDED(mu_);
  // A counter bumped by every state or progress change.
  uint64_t version() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until version() != seen, the timeout passes or Shutdown(); returns version().
  uint64_t WaitForChange(uint64_t seen, int64_t timeout_ms) ABSL_LOCKS_EXCLUDED(mu_);
  // Wakes every waiter; later waits return at once.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);
  bool shutting_down() ABSL_LOCKS_EXCLUDED(mu_);

  // ---- Metrics (scheduler_gauges.cc) ----
  SchedulerGauges Gauges() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct PendingRun {
    int64_t run_id = 0;
    int64_t sweep_id = 0;
    int attempts = 0;      // begun so far (0: no checkpoint can exist yet)
    int released = 0;      // of which released (not counted toward max_attempts)
    int max_attempts = 0;  // as stored: the plan's, plus a fresh budget per retry
    RunPlan plan;
  };
  struct ActiveLease {
    int64_t run_id = 0;
    int64_t sweep_id = 0;
    int attempt = 0;
    int released = 0;      // earlier attempts of the run that were released
    int max_attempts = 0;  // as PendingRun's
    std::string worker_id;
    int64_t deadline_ms = 0;
    int64_t stored_deadline_ms = 0;  // as last written to the store
    int64_t resume_step = -1;
    bool superseded_earlier = false;  // SupersedeAfter done for this attempt
    RunPlan plan;
  };
  struct WorkerState {
    bool draining = false;
    int64_t last_heartbeat_ms = 0;
    int64_t stored_heartbeat_ms = 0;  // as last written to the store
    FreeResources inventory;          // as registered
  };
  struct PendingEval {
    int64_t job_id = 0;
    int64_t run_id = 0;
    int64_t sweep_id = 0;
    int attempt = 0;  // the run's attempt that wrote the checkpoint
    int64_t checkpoint_step = 0;
    int priority = 0;
    int leases = 0;   // granted so far
    int retried = 0;  // of which handed back with retry (not counted)
    RunPlan plan;     // the run's: an eval job needs what its run needs
  };
  struct ActiveEval {
    PendingEval job;
    int lease_attempt = 0;
    std::string worker_id;
    int64_t deadline_ms = 0;
    int64_t stored_deadline_ms = 0;
  };
  // Queue order: highest priority first, then lowest run (or job) id.
  using QueueKey = std::pair<int, int64_t>;  // (-priority, run_id or job_id)

  Scheduler(db::Store* store, const SchedulerOptions& options, Clock clock);
  static std::string NewLeaseId();  // unguessable, for runs and eval jobs
  // A run's directory under the checkpoint root: "sweep-<id>/run-<id>".
  static std::string RunDirName(int64_t sweep_id, int64_t run_id);
  absl::Status Load() ABSL_LOCKS_EXCLUDED(mu_);
  // Once per attempt after the first: marks the rows of earlier attempts
  // beyond `resumed_from_step` superseded (this attempt's rows replace them).
  absl::Status SupersedeEarlierLocked(ActiveLease* lease, int64_t resumed_from_step)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Finds an active lease or says why it cannot be used.
  absl::StatusOr<ActiveLease*> FindActiveLocked(std::string_view lease_id, int attempt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends the lease's attempt with `outcome` and moves the
  // run to `run_state` (re-queueing it when pending).
  absl::Status EndLocked(const std::string& lease_id, db::AttemptState outcome,
                         std::string_view reason, db::RunState run_state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends the worker's active leases that are not in `held_lease_ids`.
  absl::Status EndLostLeasesLocked(const std::string& worker_id,
                                   const std::vector<std::string>& held_lease_ids)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The run state after a failed or expired attempt: pending while attempts
  // remain, failed otherwise.
  static db::RunState RetryOrFail(const ActiveLease& lease);
  void EnqueueLocked(PendingRun run) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Leases the queued run at `it`; nullopt when it left the pending state
  // behind the queue's back (it is dropped).
  absl::StatusOr<std::optional<LeaseGrant>> GrantRunLocked(
      std::map<QueueKey, PendingRun>::iterator it, std::string_view worker_id, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // ---- Eval jobs (scheduler_evals.cc) ----
  absl::Status LoadEvalJobsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnqueueEvalLocked(PendingEval job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues a stored pending job (after a restart or a user's request).
  absl::Status EnqueueStoredEvalLocked(const db::EvalJobRecord& job)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The first queued eval job that fits, or eval_queue_.end().
  std::map<QueueKey, PendingEval>::iterator BestEvalLocked(const FreeResources& free)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Leases the queued job at `it`; nullopt when it is no longer pending.
  absl::StatusOr<std::optional<EvalLeaseGrant>> GrantEvalLocked(
      std::map<QueueKey, PendingEval>::iterator it, std::string_view worker_id, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<ActiveEval*> FindActiveEvalLocked(std::string_view lease_id, int attempt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends an eval lease: `state` pending queues the job again; `counted`
  // false when the lease does not count toward eval_max_attempts.
  absl::Status EndEvalLocked(const std::string& lease_id, db::EvalJobState state,
                             std::string_view error, bool counted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets the queued and running eval jobs SupersedeAfter(run, attempt,
  // step) superseded in the store.
  void DropSupersededEvalsLocked(int64_t run_id, int attempt, int64_t step)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Expires eval leases past their deadline; returns how many.
  absl::StatusOr<int> ReapExpiredEvalLeasesLocked(int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<WorkerCapacity> WorkersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void BumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the sweep completed when none of its runs is
  // pending or running.
  absl::Status MaybeCompleteSweepLocked(int64_t sweep_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  db::Store* const store_;
  const SchedulerOptions options_;
  const Clock clock_;

  absl::Mutex liveness_mu_;  // serializes StoreLiveness()
  absl::Mutex mu_ ABSL_ACQUIRED_AFTER(liveness_mu_);
  absl::CondVar changed_;  // signalled by BumpLocked() and Shutdown()
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::map<QueueKey, PendingRun> queue_ ABSL_GUARDED_BY(mu_);
  // Runs of submissions being written, counted against max_pending_runs.
  size_t submitting_runs_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, ActiveLease, std::less<>> leases_ ABSL_GUARDED_BY(mu_);
  // Registered workers.
  std::map<std::string, WorkerState, std::less<>> workers_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, RunProgress> progress_ ABSL_GUARDED_BY(mu_);
  uint64_t metric_rows_ingested_ ABSL_GUARDED_BY(mu_) = 0;  // SchedulerGauges'
  std::map<QueueKey, PendingEval> eval_queue_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ActiveEval, std::less<>> eval_leases_ ABSL_GUARDED_BY(mu_);
};

}  // namespace flopwise::server
