// Plain records stored by db::Store (see db/store.h and docs/storage.md).
// Times are absolute Unix epoch milliseconds supplied by the caller, so that a
// restart recovers every lease deadline exactly and tests can use fake clocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace flopwise::db {

// Lifecycle of a sweep. Stored as its lower-case name ("active", ...).
enum class SweepState { kActive, kCompleted, kCancelled };

// Lifecycle of one run; mirrors flopwise.v1.RunState. Stored as its name
// ("pending", "running", "succeeded", "failed", "diverged", "cancelled").
enum class RunState { kPending, kRunning, kSucceeded, kFailed, kDiverged, kCancelled };

// Lifecycle of one attempt (one lease of a run to a worker). kActive while the
// lease is held; every other state is an outcome. Stored as its name
// ("active", "succeeded", "failed", "diverged", "expired", "stopped",
// "cancelled").
enum class AttemptState { kActive, kSucceeded, kFailed, kDiverged, kExpired, kStopped, kCancelled };

std::string_view SweepStateName(SweepState state);
std::string_view RunStateName(RunState state);
std::string_view AttemptStateName(AttemptState state);
// Parse the names above; InvalidArgument naming the text otherwise.
absl::StatusOr<SweepState> ParseSweepState(std::string_view name);
absl::StatusOr<RunState> ParseRunState(std::string_view name);
absl::StatusOr<AttemptState> ParseAttemptState(std::string_view name);
// True for succeeded, failed, diverged and cancelled.
bool IsTerminal(RunState state);

// ---- Sweeps and runs -------------------------------------------------------

struct NewSweep {
  std::string name;
  std::string spec_yaml;  // the submitted spec, verbatim
  int priority = 0;       // larger runs first
  int64_t created_ms = 0;
};

struct NewRun {
  int index_in_sweep = 0;  // unique within the sweep, >= 0
  std::string arch;        // "llama", "tnl", "hgrn2", "cos2"
  std::string name;
  std::string config_json;   // the run's full configuration (model + training)
  int64_t token_budget = 0;  // > 0
  int priority = 0;
  int max_attempts = 3;  // >= 1
};

struct SweepRecord {
  int64_t sweep_id = 0;
  std::string name;
  std::string spec_yaml;
  int priority = 0;
  SweepState state = SweepState::kActive;
  int64_t created_ms = 0;
};

struct CreatedSweep {
  int64_t sweep_id = 0;
  std::vector<int64_t> run_ids;  // in the order of the runs given
};

// ---- Reports ----------------------------------------------------------------

// One progress report of the trainer. (run, attempt, seq) identifies it: a
// second insert with the same key is ignored. NaN is stored as NULL and read
// back as NaN.
struct MetricRow {
  int64_t seq = 0;     // >= 0, per attempt
  int64_t step = 0;    // >= 0
  int64_t tokens = 0;  // tokens seen so far, >= 0
  double flops = 0;    // training FLOPs so far (non-embedding, paper formula)
  double loss = 0;     // nats
  double lr = 0;
  double grad_norm = 0;
  double tokens_per_s = 0;
};

struct MetricRecord {
  int64_t run_id = 0;
  int attempt = 0;
  MetricRow row;
  bool superseded = false;
};

// The trainer's validation of one checkpoint (docs/training.md "Validation").
struct CheckpointValidation {
  double loss = 0;           // mean next-token loss on the held-out windows, nats
  double bits_per_byte = 0;  // NaN when the trainer had no tokenizer to count bytes
  int64_t tokens = 0;        // targets scored, > 0
};

// One checkpoint written by the trainer; keyed like MetricRow.
struct CheckpointRow {
  int64_t seq = 0;
  int64_t step = 0;
  int64_t tokens = 0;
  double flops = 0;
  double loss = 0;
  std::string path;                                // checkpoint directory on the worker
  std::string sha256;                              // hex of model.safetensors
  std::optional<CheckpointValidation> validation;  // nullopt: none ran (stored as NULLs)
};

// What Store::RecordCheckpoint did.
struct CheckpointLanded {
  bool inserted = false;                           // false: this (attempt, seq) was stored already
  std::optional<int64_t> eval_job = std::nullopt;  // the eval job it created
};

struct CheckpointRecord {
  int64_t run_id = 0;
  int attempt = 0;
  CheckpointRow row;
  bool superseded = false;
};

// ---- Runs as read back -------------------------------------------------------

// The outcome of one ended attempt that carried a reason.
struct AttemptReason {
  int attempt = 0;
  AttemptState outcome = AttemptState::kFailed;
  std::string reason;
};

struct RunRecord {
  int64_t run_id = 0;
  int64_t sweep_id = 0;
  int index_in_sweep = 0;
  std::string arch;
  std::string name;
  std::string config_json;
  int64_t token_budget = 0;
  int priority = 0;
  RunState state = RunState::kPending;
  int attempts = 0;  // attempts begun so far
  // Attempts that ended `stopped` (a graceful release by the worker); they do
  // not count toward max_attempts.
  int released_attempts = 0;
  int max_attempts = 0;
  std::vector<AttemptReason> failure_reasons;  // by attempt number
  // Newest effective checkpoint and metric (highest step), if any.
  std::optional<CheckpointRecord> newest_checkpoint = std::nullopt;
  std::optional<MetricRecord> latest_metric = std::nullopt;
};

// A failed or diverged run Store::RetryRuns puts back to pending.
struct RunRetry {
  int64_t run_id = 0;
  // Attempts the run may begin from now on (>= 1): its max_attempts becomes
  // the attempts it has counted so far (released ones do not count) plus these.
  int fresh_attempts = 1;
};

// What Store::RetryRuns did.
struct RetriedRuns {
  std::vector<RunRecord> runs;  // as now stored (pending), in the order given
  bool sweep_reopened = false;  // the sweep had completed and is active again
};

// ---- Attempts (leases) and workers -------------------------------------------

struct NewAttempt {
  int64_t run_id = 0;
  std::string worker_id;  // a registered worker
  std::string lease_id;   // unique over all attempts
  int64_t lease_deadline_ms = 0;
  // The checkpoint step the attempt is expected to resume from, -1 if unknown
  // (SupersedeAfter records the actual step once the trainer reports it).
  int64_t resumed_from_step = -1;
  int64_t started_ms = 0;
};

struct AttemptRecord {
  int64_t run_id = 0;
  int attempt = 0;  // 1, 2, ... per run
  std::string worker_id;
  std::string lease_id;
  int64_t lease_deadline_ms = 0;
  int64_t resumed_from_step = -1;
  AttemptState state = AttemptState::kActive;
  std::string reason;  // why it ended; empty while active
  int64_t started_ms = 0;
  int64_t ended_ms = 0;  // 0 while active
  // The trainer's log on the worker's machine; empty until the worker says.
  std::string log_path;
};

// Liveness the coordinator keeps in memory and writes behind in batches
// (Store::StoreLiveness): a lease's deadline, a worker's last heartbeat.
struct LeaseDeadline {
  std::string lease_id;
  int64_t lease_deadline_ms = 0;
};
struct WorkerHeartbeat {
  std::string worker_id;
  int64_t heartbeat_ms = 0;
};

struct WorkerRecord {
  std::string worker_id;
  std::string hostname;
  std::string inventory_json;  // cores, memory, GPUs as registered
  int64_t registered_ms = 0;
  int64_t last_heartbeat_ms = 0;
  bool draining = false;
};

// ---- Evaluations and fits -----------------------------------------------------

// Lifecycle of an eval job. Stored as its name ("pending", "running",
// "succeeded", "failed", "superseded": a resumed attempt of the run replaced
// the checkpoint before the job ended).
enum class EvalJobState { kPending, kRunning, kSucceeded, kFailed, kSuperseded };
std::string_view EvalJobStateName(EvalJobState state);
absl::StatusOr<EvalJobState> ParseEvalJobState(std::string_view name);

// What an eval job runs: the tasks (docs/evaluation.md) and its priority
// among runs and other jobs.
struct EvalJobSpec {
  std::vector<std::string> tasks;  // not empty
  int priority = 0;
  int64_t created_ms = 0;
};

// An eval job of a stored checkpoint, keyed by the checkpoint's (run,
// attempt, seq).
struct NewEvalJob {
  int64_t run_id = 0;
  int attempt = 0;
  int64_t checkpoint_seq = 0;
  EvalJobSpec spec;
};

struct EvalJobRecord {
  int64_t job_id = 0;
  int64_t run_id = 0;
  int attempt = 0;  // the run's attempt that wrote the checkpoint
  int64_t checkpoint_seq = 0;
  int64_t checkpoint_step = 0;
  int64_t checkpoint_tokens = 0;
  std::string checkpoint_path;
  std::vector<std::string> tasks;
  int priority = 0;
  EvalJobState state = EvalJobState::kPending;
  std::string lease_id;  // the current (running) or last lease; empty before the first
  std::string worker_id;
  int64_t lease_deadline_ms = 0;
  int attempts = 0;   // leases granted so far
  std::string error;  // why the last lease ended without success
  int64_t created_ms = 0;
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
};

// One number (or, with a NaN value, one text such as a figure's path) an eval
// job reports for a task.
struct EvalRow {
  std::string task;    // e.g. "validation", "needle-easy", "piqa"
  std::string metric;  // e.g. "loss", "niah_score", "figure[0]"
  double value = 0;    // NaN: none (stored as NULL)
  std::string text;
};

// An evaluation result as stored: (job, task, metric) is its key, so a
// re-delivered report changes nothing; it carries the checkpoint's key and is
// superseded with it.
struct EvalRecord {
  int64_t job_id = 0;
  int job_attempt = 0;  // the job's lease that reported it
  int64_t run_id = 0;
  int attempt = 0;
  int64_t checkpoint_seq = 0;
  int64_t checkpoint_step = 0;
  EvalRow row;
  bool superseded = false;
  int64_t created_ms = 0;
};

// A cached fit; (inputs_hash, method) is its key and a second write replaces it.
struct FitRecord {
  std::string inputs_hash;
  std::string method;  // e.g. "power_law", "approach2"
  std::string result_json;
  int64_t created_ms = 0;
};

// ---- Query filters -------------------------------------------------------------
//
// The list calls page by key (keyset pagination): `after` is the key of the
// last row of the previous page (rows after it in the call's order are
// read), `limit` the most rows read (0: every row).

struct SweepFilter {
  // Only active sweeps, and finished ones with an id above
  // finished_after_sweep_id (0: none).
  bool active_only = false;
  int64_t finished_after_sweep_id = 0;
  std::optional<int64_t> after_sweep_id = std::nullopt;
  size_t limit = 0;
};

// The key of ListRuns' order: priority (highest first), then run id.
struct RunKey {
  int priority = 0;
  int64_t run_id = 0;
};

struct RunFilter {
  std::optional<int64_t> sweep_id = std::nullopt;
  std::vector<RunState> states = {};  // empty: every state
  std::optional<RunKey> after = std::nullopt;
  size_t limit = 0;
};

struct WorkerFilter {
  std::optional<std::string> after_worker_id = std::nullopt;
  size_t limit = 0;
};

struct EvalJobFilter {
  std::optional<int64_t> run_id = std::nullopt;
  std::optional<int64_t> sweep_id = std::nullopt;
  std::optional<EvalJobState> state = std::nullopt;
  std::vector<int64_t> job_ids = {};  // empty: every job
  std::optional<int64_t> after_job_id = std::nullopt;
  size_t limit = 0;
};

// The key of ListEvals' order.
struct EvalKey {
  int64_t run_id = 0;
  int64_t checkpoint_step = 0;
  int64_t job_id = 0;
  std::string task;
  std::string metric;
};

// Which evals to read; ordered by run, checkpoint step, job, task, metric.
struct EvalFilter {
  std::optional<int64_t> run_id = std::nullopt;
  std::optional<int64_t> sweep_id = std::nullopt;
  std::optional<std::string> task = std::nullopt;
  bool include_superseded = false;
  std::vector<int64_t> job_ids = {};  // empty: every job
  std::optional<EvalKey> after = std::nullopt;
  size_t limit = 0;
};

struct AttemptFilter {
  std::optional<int64_t> run_id = std::nullopt;
  std::optional<std::string> worker_id = std::nullopt;
  bool active_only = false;
};

// The key of a metric or checkpoint row: (run_id, step) in the effective
// view, (run_id, attempt, seq) with superseded rows.
struct RowKey {
  int64_t run_id = 0;
  int64_t step = 0;
  int attempt = 0;
  int64_t seq = 0;
};

// Which metric/checkpoint rows to read. By default the effective view: exactly
// one row per (run, step) (docs/storage.md, "Supersede semantics"), ordered by
// run then step. With include_superseded, every stored row ordered by run,
// attempt, seq.
struct RowFilter {
  std::optional<int64_t> run_id = std::nullopt;
  std::optional<int64_t> sweep_id = std::nullopt;
  bool include_superseded = false;
  std::optional<RowKey> after = std::nullopt;
  size_t limit = 0;
};

}  // namespace flopwise::db
