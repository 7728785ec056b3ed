// db::Store: the coordinator's SQLite storage (docs/storage.md).
//
// One file in WAL mode with foreign keys on; the schema is migrated through
// `PRAGMA user_version` when the file is opened. Writes go through one
// connection guarded by a mutex, each call in one transaction (a failed call
// is rolled back, so no partial batch lands); reads use a small pool of
// read-only connections and never block the writer. Thread-safe.
//
// Errors name the operation and the cause: `db: RecordMetrics: disk is full`
// (ResourceExhausted), `... read-only` (FailedPrecondition), `... not a
// database` / corruption (DataLoss), missing rows (NotFound), violated
// preconditions such as a run that is not pending (FailedPrecondition), bad
// arguments naming the field (InvalidArgument).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "db/records.h"

namespace flopwise::db {

struct StoreOptions {
  int busy_timeout_ms = 5000;
  int max_read_connections = 4;  // >= 1
  // Caps the database size (0: no cap). A write that would grow it beyond
  // fails like a full disk: ResourceExhausted "disk is full".
  int64_t max_size_bytes = 0;
};

// Rows by state and metric rows stored, read in one snapshot (Store::Counts).
struct StoreCounts {
  std::map<RunState, int64_t> runs_by_state;  // states without runs are absent
  std::map<SweepState, int64_t> sweeps_by_state;
  int64_t metric_rows = 0;  // superseded ones included
};

class Store {
 public:
  // Opens (creating when absent) the database at `path` and migrates it to
  // LatestSchemaVersion(). FailedPrecondition if the file's schema is newer
  // than this code or the file is read-only; DataLoss if it is not a database.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const StoreOptions& options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // ---- Sweeps and runs ----
  // Stores the sweep and all its runs (state pending) in one transaction:
  // either everything lands or nothing does.
  absl::StatusOr<CreatedSweep> CreateSweep(const NewSweep& sweep, std::span<const NewRun> runs);
  absl::StatusOr<SweepRecord> GetSweep(int64_t sweep_id);
  // By id.
  absl::StatusOr<std::vector<SweepRecord>> ListSweeps(const SweepFilter& filter = {});
  // The highest sweep id stored; 0 when there is none.
  absl::StatusOr<int64_t> LastSweepId();
  absl::Status SetSweepState(int64_t sweep_id, SweepState state);
  // Marks the sweep cancelled, its pending and running runs cancelled and its
  // pending and running eval jobs failed ("sweep cancelled", ended at
  // `now_ms`), in one transaction. Returns the ids of the runs that were
  // running (their attempts stay active until EndAttempt). NotFound for an
  // unknown sweep.
  absl::StatusOr<std::vector<int64_t>> CancelSweep(int64_t sweep_id, int64_t now_ms);
  // Puts failed and diverged runs of the sweep back to pending, each with
  // its fresh attempt budget (RunRetry), and reopens the sweep (active) if it
  // had completed, in one transaction. Attempts and reports are kept: a run's
  // next attempt resumes from its newest checkpoint. NotFound for an unknown
  // sweep or a run that is not one of its runs; FailedPrecondition when the
  // sweep is cancelled or a run is neither failed nor diverged;
  // InvalidArgument naming `runs[i]` for a run given twice or
  // fresh_attempts < 1.
  absl::StatusOr<RetriedRuns> RetryRuns(int64_t sweep_id, std::span<const RunRetry> runs);

  absl::StatusOr<RunRecord> GetRun(int64_t run_id);
  // Ordered by priority (highest first), then run id.
  absl::StatusOr<std::vector<RunRecord>> ListRuns(const RunFilter& filter = {});

  // ---- Attempts (leases) ----
  // Starts attempt `attempts + 1` of a pending run: inserts the lease, counts
  // the attempt and marks the run running, in one transaction.
  // FailedPrecondition if the run is not pending or has used max_attempts
  // (released attempts, those that ended `stopped`, do not count);
  // NotFound for an unknown run or worker; AlreadyExists for a reused lease id.
  absl::StatusOr<AttemptRecord> BeginAttempt(const NewAttempt& attempt);
  // Writes a batch of liveness kept in memory, in one transaction: each
  // lease's deadline (a run's or an eval job's; skipped when no active attempt
  // or running eval job holds the lease any more)
  // and each worker's last heartbeat (skipped for an unknown worker).
  absl::Status StoreLiveness(std::span<const LeaseDeadline> leases,
                             std::span<const WorkerHeartbeat> workers);
  // Ends an active attempt with `outcome` (not kActive) and sets its run's
  // state to `run_state` (kPending requeues it; kRunning is refused), in one
  // transaction. FailedPrecondition if the attempt has already ended.
  absl::Status EndAttempt(int64_t run_id, int attempt, AttemptState outcome,
                          std::string_view reason, int64_t ended_ms, RunState run_state);
  // Records where the worker writes the attempt's trainer log (a later
  // report replaces it). NotFound if the attempt does not exist;
  // InvalidArgument "log_path: is empty".
  absl::Status SetAttemptLogPath(int64_t run_id, int attempt, std::string_view log_path);
  absl::StatusOr<AttemptRecord> FindLease(std::string_view lease_id);
  // Ordered by run id, then attempt.
  absl::StatusOr<std::vector<AttemptRecord>> ListAttempts(const AttemptFilter& filter = {});

  // ---- Workers ----
  // Inserts the worker or replaces its hostname, inventory, heartbeat and
  // draining flag (registered_ms is kept from the first registration).
  absl::Status UpsertWorker(const WorkerRecord& worker);
  absl::Status SetWorkerDraining(std::string_view worker_id, bool draining);
  absl::StatusOr<WorkerRecord> GetWorker(std::string_view worker_id);
  // By id.
  absl::StatusOr<std::vector<WorkerRecord>> ListWorkers(const WorkerFilter& filter = {});

  // ---- Reports (idempotent) ----
  // Inserts a batch in one transaction; rows whose (run, attempt, seq) is
  // already stored are skipped. Returns how many rows were new. Rows of an
  // attempt that a later attempt has already superseded (step above the later
  // attempt's resumed_from_step) land marked superseded. The attempt may have
  // ended (a retried final report still lands). NotFound if the attempt does
  // not exist; InvalidArgument naming `rows[i].field` for bad rows.
  absl::StatusOr<int> RecordMetrics(int64_t run_id, int attempt, std::span<const MetricRow> rows);
  absl::StatusOr<int> RecordCheckpoints(int64_t run_id, int attempt,
                                        std::span<const CheckpointRow> rows);
  // Records that `attempt` resumed from the checkpoint at `step` and marks
  // every metric, checkpoint and eval row of earlier attempts of the run with
  // step > `step` superseded (rows are kept), and the pending or running eval
  // jobs of those checkpoints. Returns how many rows changed.
  absl::StatusOr<int64_t> SupersedeAfter(int64_t run_id, int attempt, int64_t step);
  absl::StatusOr<std::vector<MetricRecord>> ListMetrics(const RowFilter& filter);
  absl::StatusOr<std::vector<CheckpointRecord>> ListCheckpoints(const RowFilter& filter);
  // The effective checkpoint with the highest step. NotFound if there is none.
  absl::StatusOr<CheckpointRecord> NewestCheckpoint(int64_t run_id);

  // ---- Eval jobs and evaluations (docs/storage.md, "Eval jobs") ----
  // RecordCheckpoints for one row; when the row is new, not superseded on
  // arrival and `eval` is given, also creates the checkpoint's eval job
  // (pending), in the same transaction. A re-delivered report creates nothing.
  absl::StatusOr<CheckpointLanded> RecordCheckpoint(int64_t run_id, int attempt,
                                                    const CheckpointRow& row,
                                                    const std::optional<EvalJobSpec>& eval);
  // Creates pending eval jobs of stored checkpoints, in one transaction.
  // Returns their ids in order. NotFound for a checkpoint that is not stored;
  // InvalidArgument naming `jobs[i].tasks` when a task list is empty.
  absl::StatusOr<std::vector<int64_t>> CreateEvalJobs(std::span<const NewEvalJob> jobs);
  // Leases a pending job to a worker: running, attempts + 1, the lease and its
  // deadline. FailedPrecondition unless the job is pending; NotFound for an
  // unknown job; AlreadyExists for a reused lease id.
  absl::StatusOr<EvalJobRecord> BeginEvalJob(int64_t job_id, std::string_view worker_id,
                                             std::string_view lease_id, int64_t lease_deadline_ms,
                                             int64_t now_ms);
  // Ends the job's running lease `lease_id` with `state`: kPending requeues it,
  // kSucceeded or kFailed end it; `error` says why it did not succeed.
  // FailedPrecondition when `lease_id` is not the running lease of its job
  // (the job was superseded, or the lease ended); NotFound for an unknown lease.
  absl::Status EndEvalJob(std::string_view lease_id, EvalJobState state, std::string_view error,
                          int64_t now_ms);
  // Stores results reported under the running lease `lease_id`; rows already
  // stored for the job (same task and metric, from any of its leases) are
  // skipped. Returns how many rows were new. Errors as EndEvalJob, and
  // InvalidArgument naming `rows[i].task` or `.metric` when empty.
  absl::StatusOr<int> RecordEvals(std::string_view lease_id, std::span<const EvalRow> rows,
                                  int64_t now_ms);
  absl::StatusOr<EvalJobRecord> GetEvalJob(int64_t job_id);  // NotFound when unknown
  // The job that holds or held `lease_id`. NotFound when none.
  absl::StatusOr<EvalJobRecord> FindEvalLease(std::string_view lease_id);
  // Ordered by job id.
  absl::StatusOr<std::vector<EvalJobRecord>> ListEvalJobs(const EvalJobFilter& filter = {});
  absl::StatusOr<std::vector<EvalRecord>> ListEvals(const EvalFilter& filter = {});

  // ---- Fits ----
  absl::Status PutFit(const FitRecord& fit);
  absl::StatusOr<FitRecord> GetFit(std::string_view inputs_hash, std::string_view method);

  // ---- Counts (store_counts.cc) ----
  absl::StatusOr<StoreCounts> Counts();

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flopwise::db
