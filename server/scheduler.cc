#include "server/scheduler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include <spdlog/spdlog.h>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "runspec/architecture.h"
#include "server/eval_selection.h"
#include "server/pending_reason.h"
#include "server/plan_bounds.h"
#include "server/worker_inventory.h"

namespace flopwise::server {

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Fits(const RunPlan& plan, const FreeResources& free) {
  const ::flopwise::v1::Resources& need = plan.resources();
  if (need.cpu_cores() > free.cpu_cores || need.gpus() > free.gpus) return false;
  if (need.gpus() > 0) return need.memory_bytes() <= free.gpu_memory_bytes * need.gpus();
  return need.memory_bytes() <= free.memory_bytes;
}

bool IsAlive(int64_t last_heartbeat_ms, int64_t now_ms, int64_t lease_duration_ms) {
  return now_ms - last_heartbeat_ms <= 2 * lease_duration_ms;
}

namespace {

// The most a worker could ever offer: everything it registered.
FreeResources RegisteredResources(std::string_view inventory_json) {
  const v1::Resources registered = InventoryFromJson(inventory_json).resources;
  return FreeResources{registered.cpu_cores(), registered.memory_bytes(), registered.gpus(),
                       registered.gpu_memory_bytes()};
}

}  // namespace

// 128 random bits as hex: lease ids are unguessable, so a lease id is enough
// to identify the worker's claim on a run.
std::string Scheduler::NewLeaseId() {
  static absl::Mutex mu(absl::kConstInit);
  static std::mt19937_64 rng ABSL_GUARDED_BY(mu){std::random_device{}()};
  absl::MutexLock lock(&mu);
  char text[33];
  std::snprintf(text, sizeof(text), "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return text;
}

std::string Scheduler::RunDirName(int64_t sweep_id, int64_t run_id) {
  return Cat("sweep-", sweep_id, "/run-", run_id);
}

Scheduler::Scheduler(db::Store* store, const SchedulerOptions& options, Clock clock)
    : store_(store), options_(options), clock_(std::move(clock)) {}

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(db::Store* store,
                                                             const SchedulerOptions& options,
                                                             Clock clock) {
  std::unique_ptr<Scheduler> scheduler(new Scheduler(store, options, std::move(clock)));
  RETURN_IF_ERROR(scheduler->Load());
  return scheduler;
}

absl::Status Scheduler::Load() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(const std::vector<db::WorkerRecord> workers, store_->ListWorkers());
  for (const db::WorkerRecord& worker : workers) {
    workers_[worker.worker_id] =
        WorkerState{worker.draining, worker.last_heartbeat_ms, worker.last_heartbeat_ms,
                    RegisteredResources(worker.inventory_json)};
  }

  db::RunFilter pending;
  pending.states = {db::RunState::kPending};
  ASSIGN_OR_RETURN(const std::vector<db::RunRecord> runs, store_->ListRuns(pending));
  for (const db::RunRecord& run : runs) {
    ASSIGN_OR_RETURN(RunPlan plan, RunPlanFromJson(run.config_json));
    EnqueueLocked(PendingRun{run.run_id, run.sweep_id, run.attempts, run.released_attempts,
                             run.max_attempts, std::move(plan)});
  }

  db::AttemptFilter active;
  active.active_only = true;
  ASSIGN_OR_RETURN(const std::vector<db::AttemptRecord> attempts, store_->ListAttempts(active));
  const int64_t grace_deadline_ms = clock_() + options_.restart_grace_ms;
  std::vector<db::LeaseDeadline> extended;
  for (const db::AttemptRecord& attempt : attempts) {
    ASSIGN_OR_RETURN(const db::RunRecord run, store_->GetRun(attempt.run_id));
    ActiveLease lease;
    lease.run_id = attempt.run_id;
    lease.sweep_id = run.sweep_id;
    lease.attempt = attempt.attempt;
    lease.released = run.released_attempts;
    lease.max_attempts = run.max_attempts;
    lease.worker_id = attempt.worker_id;
    lease.deadline_ms = std::max(attempt.lease_deadline_ms, grace_deadline_ms);
    lease.stored_deadline_ms = lease.deadline_ms;
    lease.resume_step = attempt.resumed_from_step;
    ASSIGN_OR_RETURN(lease.plan, RunPlanFromJson(run.config_json));
    if (lease.deadline_ms != attempt.lease_deadline_ms) {
      extended.push_back(db::LeaseDeadline{attempt.lease_id, lease.deadline_ms});
    }
    leases_.emplace(attempt.lease_id, std::move(lease));
  }
  RETURN_IF_ERROR(store_->StoreLiveness(extended, {}));
  RETURN_IF_ERROR(LoadEvalJobsLocked());
  spdlog::info(
      "scheduler: recovered {} pending runs, {} active leases, {} workers, {} pending and {} "
      "running eval jobs",
      queue_.size(), leases_.size(), workers_.size(), eval_queue_.size(), eval_leases_.size());
  return absl::OkStatus();
}

void Scheduler::EnqueueLocked(PendingRun run) {
  const QueueKey key{-run.plan.priority(), run.run_id};
  queue_[key] = std::move(run);
}

void Scheduler::BumpLocked() {
  ++version_;
  changed_.SignalAll();
}

absl::StatusOr<db::CreatedSweep> Scheduler::SubmitSweep(const db::NewSweep& sweep,
                                                        const std::vector<RunPlan>& runs) {
  {
    absl::MutexLock lock(&mu_);
    const size_t pending = queue_.size() + submitting_runs_;
    if (options_.max_pending_runs > 0 && pending + runs.size() > options_.max_pending_runs) {
      return absl::ResourceExhaustedError(
          Cat("runs: ", pending, " runs are pending and the sweep adds ", runs.size(),
              "; the coordinator queues at most ", options_.max_pending_runs,
              " (--max-pending-runs): retry once runs have finished or cancel a sweep"));
    }
    submitting_runs_ += runs.size();
  }
  std::vector<db::NewRun> rows;
  rows.reserve(runs.size());
  for (const RunPlan& plan : runs) {
    db::NewRun row;
    row.index_in_sweep = plan.index_in_sweep();
    row.arch = runspec::ArchName(plan.config().model().arch());
    row.name = plan.name();
    row.config_json = RunPlanToJson(plan);
    row.token_budget = plan.config().total_tokens();
    row.priority = plan.priority();
    row.max_attempts = plan.max_attempts();
    rows.push_back(std::move(row));
  }
  // The write holds the store's writer only: leases, heartbeats and reads go
  // on meanwhile. A CancelSweep of the new sweep before the runs are queued
  // leaves them cancelled in the store; GrantRunLocked drops them.
  absl::StatusOr<db::CreatedSweep> stored = store_->CreateSweep(sweep, rows);
  absl::MutexLock lock(&mu_);
  submitting_runs_ -= runs.size();
  if (!stored.ok()) return stored.status();
  db::CreatedSweep& created = *stored;
  for (size_t i = 0; i < runs.size(); ++i)
    EnqueueLocked(
        PendingRun{created.run_ids[i], created.sweep_id, 0, 0, runs[i].max_attempts(), runs[i]});
  BumpLocked();
  spdlog::info("sweep {} '{}' submitted: {} runs", created.sweep_id, sweep.name, runs.size());
  return created;
}

absl::StatusOr<int> Scheduler::CancelSweep(int64_t sweep_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(const db::SweepRecord sweep, store_->GetSweep(sweep_id));
  if (sweep.state != db::SweepState::kActive) {
    return absl::FailedPreconditionError(
        Cat("sweep ", sweep_id, " is already ", db::SweepStateName(sweep.state)));
  }
  int cancelled = 0;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->second.sweep_id == sweep_id) {
      it = queue_.erase(it);
      ++cancelled;
    } else {
      ++it;
    }
  }
  const int64_t now_ms = clock_();
  ASSIGN_OR_RETURN(const std::vector<int64_t> running, store_->CancelSweep(sweep_id, now_ms));
  // The store failed the sweep's eval jobs; their workers hear of it at the
  // next heartbeat or report.
  std::erase_if(eval_queue_, [&](const auto& entry) { return entry.second.sweep_id == sweep_id; });
  std::erase_if(eval_leases_,
                [&](const auto& entry) { return entry.second.job.sweep_id == sweep_id; });
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second.sweep_id == sweep_id) {
      RETURN_IF_ERROR(store_->EndAttempt(it->second.run_id, it->second.attempt,
                                         db::AttemptState::kCancelled, "sweep cancelled", now_ms,
                                         db::RunState::kCancelled));
      it = leases_.erase(it);
    } else {
      ++it;
    }
  }
  cancelled += static_cast<int>(running.size());
  BumpLocked();
  spdlog::info("sweep {} cancelled: {} runs", sweep_id, cancelled);
  return cancelled;
}

absl::StatusOr<db::RetriedRuns> Scheduler::RetryRuns(int64_t sweep_id,
                                                     std::span<const int64_t> run_ids) {
  absl::MutexLock lock(&mu_);
  std::vector<db::RunRecord> chosen;
  if (run_ids.empty()) {
    ASSIGN_OR_RETURN(const std::vector<db::RunRecord> runs,
                     store_->ListRuns(db::RunFilter{.sweep_id = sweep_id}));
    for (const db::RunRecord& run : runs) {
      if (run.state == db::RunState::kFailed || run.state == db::RunState::kDiverged) {
        chosen.push_back(run);
      }
    }
  } else {
    for (const int64_t run_id : run_ids) {
      ASSIGN_OR_RETURN(db::RunRecord run, store_->GetRun(run_id));
      chosen.push_back(std::move(run));
    }
  }
  std::vector<db::RunRetry> retries;
  for (const db::RunRecord& run : chosen) {
    ASSIGN_OR_RETURN(const RunPlan plan, RunPlanFromJson(run.config_json));
    retries.push_back(db::RunRetry{run.run_id, std::max(1, plan.max_attempts())});
  }
  ASSIGN_OR_RETURN(db::RetriedRuns retried, store_->RetryRuns(sweep_id, retries));
  for (const db::RunRecord& run : retried.runs) {
    ASSIGN_OR_RETURN(RunPlan plan, RunPlanFromJson(run.config_json));
    EnqueueLocked(PendingRun{run.run_id, run.sweep_id, run.attempts, run.released_attempts,
                             run.max_attempts, std::move(plan)});
  }
  if (!retried.runs.empty()) BumpLocked();
  spdlog::info("sweep {}: {} runs retried{}", sweep_id, retried.runs.size(),
               retried.sweep_reopened ? ", sweep active again" : "");
  return retried;
}

absl::StatusOr<std::string> Scheduler::RegisterWorker(
    std::string worker_id, const std::string& hostname, const std::string& inventory_json,
    const std::vector<std::string>& held_lease_ids) {
  absl::MutexLock lock(&mu_);
  if (worker_id.empty()) {
    for (int n = 1; worker_id.empty(); ++n) {
      std::string candidate = Cat(hostname, "-", n);
      if (!workers_.contains(candidate)) worker_id = std::move(candidate);
    }
  }
  db::WorkerRecord record;
  record.worker_id = worker_id;
  record.hostname = hostname;
  record.inventory_json = inventory_json;
  record.registered_ms = clock_();
  record.last_heartbeat_ms = record.registered_ms;
  auto it = workers_.find(worker_id);
  record.draining = it != workers_.end() && it->second.draining;
  RETURN_IF_ERROR(store_->UpsertWorker(record));
  workers_[worker_id] = WorkerState{record.draining, record.last_heartbeat_ms,
                                    record.last_heartbeat_ms, RegisteredResources(inventory_json)};
  spdlog::info("worker {} registered ({})", worker_id, hostname);
  RETURN_IF_ERROR(EndLostLeasesLocked(worker_id, held_lease_ids));
  return worker_id;
}

absl::Status Scheduler::EndLostLeasesLocked(const std::string& worker_id,
                                            const std::vector<std::string>& held_lease_ids) {
  const std::set<std::string> held(held_lease_ids.begin(), held_lease_ids.end());
  std::vector<std::string> lost;
  for (const auto& [lease_id, lease] : leases_) {
    if (lease.worker_id == worker_id && !held.contains(lease_id)) lost.push_back(lease_id);
  }
  for (const std::string& lease_id : lost) {
    const ActiveLease& lease = leases_.find(lease_id)->second;
    spdlog::warn("worker {} registered again without lease {}: ending it", worker_id, lease_id);
    RETURN_IF_ERROR(EndLocked(lease_id, db::AttemptState::kExpired,
                              Cat("worker ", worker_id, " restarted (registered again without it)"),
                              RetryOrFail(lease)));
  }
  return absl::OkStatus();
}

absl::Status Scheduler::SetDraining(std::string_view worker_id, bool draining) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) {
    return absl::NotFoundError(Cat("worker_id: unknown worker '", worker_id, "'"));
  }
  RETURN_IF_ERROR(store_->SetWorkerDraining(worker_id, draining));
  it->second.draining = draining;
  BumpLocked();
  return absl::OkStatus();
}

bool Scheduler::IsDraining(std::string_view worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  return it != workers_.end() && it->second.draining;
}

std::vector<WorkerCapacity> Scheduler::WorkersLocked() {
  const int64_t now_ms = clock_();
  std::vector<WorkerCapacity> workers;
  workers.reserve(workers_.size());
  for (const auto& [worker_id, worker] : workers_) {
    workers.push_back(WorkerCapacity{
        worker_id, worker.inventory,
        IsAlive(worker.last_heartbeat_ms, now_ms, options_.lease_duration_ms), worker.draining});
  }
  return workers;
}

std::vector<WorkerCapacity> Scheduler::Workers() {
  absl::MutexLock lock(&mu_);
  return WorkersLocked();
}

std::map<int64_t, std::string> Scheduler::PendingReasons() {
  absl::MutexLock lock(&mu_);
  const std::vector<WorkerCapacity> workers = WorkersLocked();
  std::map<int64_t, std::string> reasons;
  int ahead = 0;  // runs that no worker could hold block nothing
  for (const auto& [key, pending] : queue_) {
    reasons[pending.run_id] = PendingReason(pending.plan, ahead, workers);
    if (AnyWorkerCouldHold(pending.plan, workers)) ++ahead;
  }
  return reasons;
}

absl::StatusOr<HeartbeatResult> Scheduler::Heartbeat(std::string_view worker_id,
                                                     std::span<const LeaseHeartbeat> leases) {
  absl::MutexLock lock(&mu_);
  auto worker = workers_.find(worker_id);
  if (worker == workers_.end()) {
    return absl::NotFoundError(Cat("worker_id: unknown worker '", worker_id, "' (register again)"));
  }
  const int64_t now_ms = clock_();
  worker->second.last_heartbeat_ms = now_ms;
  HeartbeatResult result;
  result.draining = worker->second.draining;
  for (const LeaseHeartbeat& beat : leases) {
    LeaseVerdict verdict;
    verdict.lease_id = beat.lease_id;
    auto it = leases_.find(beat.lease_id);
    auto eval = eval_leases_.find(beat.lease_id);
    if (eval != eval_leases_.end() && eval->second.worker_id == worker_id &&
        eval->second.lease_attempt == beat.attempt) {
      eval->second.deadline_ms = now_ms + options_.lease_duration_ms;
      verdict.lease_deadline_ms = eval->second.deadline_ms;
    } else if (it == leases_.end() || it->second.worker_id != worker_id ||
               it->second.attempt != beat.attempt) {
      verdict.cancel = true;
      auto ended = store_->FindLease(beat.lease_id);
      auto ended_eval = store_->FindEvalLease(beat.lease_id);
      if (ended.ok() && ended->state != db::AttemptState::kActive) {
        verdict.reason = Cat("lease ended: ", db::AttemptStateName(ended->state),
                             ended->reason.empty() ? "" : " (" + ended->reason + ")");
      } else if (ended_eval.ok()) {
        verdict.reason = Cat("eval lease ended: eval job ", ended_eval->job_id, " is ",
                             db::EvalJobStateName(ended_eval->state));
      } else {
        verdict.reason = "unknown lease";
      }
    } else {
      ActiveLease& lease = it->second;
      lease.deadline_ms = now_ms + options_.lease_duration_ms;
      verdict.lease_deadline_ms = lease.deadline_ms;
      RunProgress& progress = progress_[lease.run_id];
      progress =
          RunProgress{lease.attempt,          beat.step, beat.tokens, beat.loss, beat.tokens_per_s,
                      std::string(worker_id), now_ms};
    }
    result.verdicts.push_back(std::move(verdict));
  }
  if (!leases.empty()) BumpLocked();
  return result;
}

absl::StatusOr<std::optional<LeaseGrant>> Scheduler::AcquireRun(std::string_view worker_id,
                                                                const FreeResources& free) {
  ASSIGN_OR_RETURN(WorkGrant grant, AcquireWork(worker_id, free, /*accepts_eval_jobs=*/false));
  return std::move(grant.run);
}

absl::StatusOr<WorkGrant> Scheduler::AcquireWork(std::string_view worker_id,
                                                 const FreeResources& free,
                                                 bool accepts_eval_jobs) {
  absl::MutexLock lock(&mu_);
  auto worker = workers_.find(worker_id);
  if (worker == workers_.end()) {
    return absl::NotFoundError(Cat("worker_id: unknown worker '", worker_id, "' (register first)"));
  }
  WorkGrant grant;
  if (worker->second.draining) return grant;
  const int64_t now_ms = clock_();
  while (true) {
    auto run = std::find_if(queue_.begin(), queue_.end(),
                            [&](const auto& entry) { return Fits(entry.second.plan, free); });
    auto eval = accepts_eval_jobs ? BestEvalLocked(free) : eval_queue_.end();
    const bool eval_first =
        eval != eval_queue_.end() &&
        (run == queue_.end() || eval->second.priority > run->second.plan.priority());
    if (eval_first) {
      ASSIGN_OR_RETURN(grant.eval, GrantEvalLocked(eval, worker_id, now_ms));
      if (grant.eval.has_value()) return grant;
    } else if (run != queue_.end()) {
      ASSIGN_OR_RETURN(grant.run, GrantRunLocked(run, worker_id, now_ms));
      if (grant.run.has_value()) return grant;
    } else {
      return grant;
    }
  }
}

absl::StatusOr<std::optional<LeaseGrant>> Scheduler::GrantRunLocked(
    std::map<QueueKey, PendingRun>::iterator it, std::string_view worker_id, int64_t now_ms) {
  const PendingRun& pending = it->second;
  LeaseGrant grant;
  if (pending.attempts > 0) {  // only attempts write checkpoints
    auto newest = store_->NewestCheckpoint(pending.run_id);
    if (newest.ok()) {
      grant.resume_checkpoint_path = newest->row.path;
      grant.resume_step = newest->row.step;
    } else if (!absl::IsNotFound(newest.status())) {
      return newest.status();
    }
  }
  db::NewAttempt attempt;
  attempt.run_id = pending.run_id;
  attempt.worker_id = std::string(worker_id);
  attempt.lease_id = NewLeaseId();
  attempt.lease_deadline_ms = now_ms + options_.lease_duration_ms;
  attempt.resumed_from_step = grant.resume_step;
  attempt.started_ms = now_ms;
  auto begun = store_->BeginAttempt(attempt);
  if (absl::IsFailedPrecondition(begun.status())) {
    // The run left the pending state behind the queue's back; forget it.
    spdlog::warn("run {} dropped from the queue: {}", pending.run_id, begun.status().ToString());
    queue_.erase(it);
    return std::nullopt;
  }
  if (!begun.ok()) return begun.status();
  grant.lease_id = attempt.lease_id;
  grant.run_id = pending.run_id;
  grant.attempt = begun->attempt;
  grant.lease_deadline_ms = attempt.lease_deadline_ms;
  grant.run_dir_name = RunDirName(pending.sweep_id, pending.run_id);
  grant.plan = pending.plan;
  ActiveLease lease;
  lease.run_id = pending.run_id;
  lease.sweep_id = pending.sweep_id;
  lease.attempt = begun->attempt;
  lease.released = pending.released;
  lease.max_attempts = pending.max_attempts;
  lease.worker_id = std::string(worker_id);
  lease.deadline_ms = attempt.lease_deadline_ms;
  lease.stored_deadline_ms = attempt.lease_deadline_ms;
  lease.resume_step = grant.resume_step;
  lease.plan = pending.plan;
  leases_.emplace(grant.lease_id, std::move(lease));
  queue_.erase(it);
  progress_[grant.run_id] = RunProgress{
      grant.attempt, std::max<int64_t>(grant.resume_step, 0), 0, 0, 0, std::string(worker_id),
      now_ms};
  BumpLocked();
  spdlog::info(
      "run {} ({}) attempt {} leased to {}{}", grant.run_id, grant.plan.name(), grant.attempt,
      worker_id,
      grant.resume_step >= 0 ? Cat(", resuming at step ", grant.resume_step) : std::string());
  return grant;
}

absl::StatusOr<Scheduler::ActiveLease*> Scheduler::FindActiveLocked(std::string_view lease_id,
                                                                    int attempt) {
  auto it = leases_.find(lease_id);
  if (it == leases_.end()) {
    auto ended = store_->FindLease(lease_id);
    if (absl::IsNotFound(ended.status())) {
      return absl::NotFoundError(Cat("lease_id: unknown lease '", lease_id, "'"));
    }
    if (!ended.ok()) return ended.status();
    return absl::FailedPreconditionError(
        Cat("lease ", lease_id, " has ended (", db::AttemptStateName(ended->state), ")"));
  }
  if (it->second.attempt != attempt) {
    return absl::FailedPreconditionError(
        Cat("attempt: lease ", lease_id, " holds attempt ", it->second.attempt, ", not ", attempt));
  }
  return &it->second;
}

absl::Status Scheduler::SupersedeEarlierLocked(ActiveLease* lease, int64_t resumed_from_step) {
  if (!lease->superseded_earlier && lease->attempt > 1) {
    const int64_t step = std::max<int64_t>(0, resumed_from_step);
    RETURN_IF_ERROR(store_->SupersedeAfter(lease->run_id, lease->attempt, step).status());
    DropSupersededEvalsLocked(lease->run_id, lease->attempt, step);
  }
  lease->superseded_earlier = true;
  return absl::OkStatus();
}

absl::StatusOr<int> Scheduler::ReportMetrics(std::string_view lease_id, int attempt,
                                             std::span<const db::MetricRow> rows,
                                             std::optional<int64_t> resumed_from_step) {
  int64_t run_id = 0;
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(ActiveLease * lease, FindActiveLocked(lease_id, attempt));
    for (size_t i = 0; i < rows.size(); ++i) {
      RETURN_IF_ERROR(
          CheckWithinPlan(lease->plan, Cat("rows[", i, "]"), rows[i].step, rows[i].tokens));
    }
    run_id = lease->run_id;
    RETURN_IF_ERROR(SupersedeEarlierLocked(lease, resumed_from_step.value_or(lease->resume_step)));
  }
  // The insert runs outside mu_: ingest must not stall heartbeats.
  ASSIGN_OR_RETURN(const int inserted, store_->RecordMetrics(run_id, attempt, rows));
  if (!rows.empty()) {
    absl::MutexLock lock(&mu_);
    metric_rows_ingested_ += static_cast<uint64_t>(inserted);
    const db::MetricRow& last = rows.back();
    RunProgress& progress = progress_[run_id];
    if (last.step >= progress.step || progress.attempt != attempt) {
      progress.attempt = attempt;
      progress.step = last.step;
      progress.tokens = last.tokens;
      progress.loss = last.loss;
      progress.tokens_per_s = last.tokens_per_s;
      progress.updated_ms = clock_();
    }
    BumpLocked();
  }
  return inserted;
}

absl::StatusOr<bool> Scheduler::ReportCheckpoint(std::string_view lease_id, int attempt,
                                                 const db::CheckpointRow& row) {
  int64_t run_id = 0;
  int64_t sweep_id = 0;
  std::optional<db::EvalJobSpec> eval;
  RunPlan plan;
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(ActiveLease * lease, FindActiveLocked(lease_id, attempt));
    RETURN_IF_ERROR(CheckWithinPlan(lease->plan, "checkpoint", row.step, row.tokens));
    run_id = lease->run_id;
    sweep_id = lease->sweep_id;
    eval = EvalJobFor(lease->plan, row, clock_());
    if (eval.has_value()) plan = lease->plan;
  }
  // The checkpoint and its eval job land in one transaction.
  ASSIGN_OR_RETURN(const db::CheckpointLanded landed,
                   store_->RecordCheckpoint(run_id, attempt, row, eval));
  absl::MutexLock lock(&mu_);
  if (landed.eval_job.has_value()) {
    EnqueueEvalLocked(PendingEval{*landed.eval_job, run_id, sweep_id, attempt, row.step,
                                  eval->priority, 0, 0, std::move(plan)});
    spdlog::info("run {} checkpoint at step {}: eval job {} queued", run_id, row.step,
                 *landed.eval_job);
  }
  BumpLocked();
  return landed.inserted;
}

absl::Status Scheduler::ReportLogPath(std::string_view lease_id, int attempt,
                                      std::string_view log_path) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(const ActiveLease* lease, FindActiveLocked(lease_id, attempt));
  return store_->SetAttemptLogPath(lease->run_id, attempt, log_path);
}

db::RunState Scheduler::RetryOrFail(const ActiveLease& lease) {
  const int counted = lease.attempt - lease.released;
  return counted >= lease.max_attempts ? db::RunState::kFailed : db::RunState::kPending;
}

absl::Status Scheduler::EndLocked(const std::string& lease_id, db::AttemptState outcome,
                                  std::string_view reason, db::RunState run_state) {
  auto it = leases_.find(lease_id);
  ActiveLease lease = std::move(it->second);
  leases_.erase(it);
  RETURN_IF_ERROR(
      store_->EndAttempt(lease.run_id, lease.attempt, outcome, reason, clock_(), run_state));
  spdlog::info("run {} attempt {} ended {}{}{} -> {}", lease.run_id, lease.attempt,
               db::AttemptStateName(outcome), reason.empty() ? "" : ": ", reason,
               db::RunStateName(run_state));
  if (run_state == db::RunState::kPending) {
    const int released = lease.released + (outcome == db::AttemptState::kStopped ? 1 : 0);
    EnqueueLocked(PendingRun{lease.run_id, lease.sweep_id, lease.attempt, released,
                             lease.max_attempts, std::move(lease.plan)});
  } else {
    RETURN_IF_ERROR(MaybeCompleteSweepLocked(lease.sweep_id));
  }
  BumpLocked();
  return absl::OkStatus();
}

absl::Status Scheduler::MaybeCompleteSweepLocked(int64_t sweep_id) {
  // The queue holds every pending run and the lease table every running one.
  for (const auto& [key, pending] : queue_) {
    if (pending.sweep_id == sweep_id) return absl::OkStatus();
  }
  for (const auto& [lease_id, lease] : leases_) {
    if (lease.sweep_id == sweep_id) return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const db::SweepRecord sweep, store_->GetSweep(sweep_id));
  if (sweep.state != db::SweepState::kActive) return absl::OkStatus();
  spdlog::info("sweep {} completed", sweep_id);
  return store_->SetSweepState(sweep_id, db::SweepState::kCompleted);
}

absl::Status Scheduler::CompleteRun(std::string_view lease_id, int attempt) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(ActiveLease * lease, FindActiveLocked(lease_id, attempt));
  // The run's newest effective rows: this attempt's, and the earlier ones'
  // up to the step it resumed from (settled here if it reported nothing).
  RETURN_IF_ERROR(SupersedeEarlierLocked(lease, lease->resume_step));
  ASSIGN_OR_RETURN(const db::RunRecord run, store_->GetRun(lease->run_id));
  int64_t step = 0;
  int64_t tokens = 0;
  if (run.newest_checkpoint) {
    step = run.newest_checkpoint->row.step;
    tokens = run.newest_checkpoint->row.tokens;
  }
  if (run.latest_metric && run.latest_metric->row.tokens > tokens) {
    step = run.latest_metric->row.step;
    tokens = run.latest_metric->row.tokens;
  }
  RETURN_IF_ERROR(CheckReachedEnd(lease->plan, lease->run_id, step, tokens));
  return EndLocked(std::string(lease_id), db::AttemptState::kSucceeded, "",
                   db::RunState::kSucceeded);
}

absl::StatusOr<db::RunState> Scheduler::FailRun(std::string_view lease_id, int attempt,
                                                std::string_view reason, bool diverged) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(ActiveLease * lease, FindActiveLocked(lease_id, attempt));
  const db::RunState run_state = diverged ? db::RunState::kDiverged : RetryOrFail(*lease);
  RETURN_IF_ERROR(EndLocked(std::string(lease_id),
                            diverged ? db::AttemptState::kDiverged : db::AttemptState::kFailed,
                            reason, run_state));
  return run_state;
}

absl::StatusOr<db::RunState> Scheduler::ReleaseRun(std::string_view lease_id, int attempt,
                                                   std::string_view reason) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(FindActiveLocked(lease_id, attempt).status());
  RETURN_IF_ERROR(
      EndLocked(std::string(lease_id), db::AttemptState::kStopped, reason, db::RunState::kPending));
  return db::RunState::kPending;
}

absl::StatusOr<int> Scheduler::ReapExpiredLeases() {
  absl::MutexLock lock(&mu_);
  const int64_t now_ms = clock_();
  std::vector<std::string> expired;
  for (const auto& [lease_id, lease] : leases_) {
    if (lease.deadline_ms < now_ms) expired.push_back(lease_id);
  }
  for (const std::string& lease_id : expired) {
    const ActiveLease& lease = leases_.find(lease_id)->second;
    const std::string reason =
        Cat("lease expired: no heartbeat from worker ", lease.worker_id, " for ",
            (now_ms - lease.deadline_ms + options_.lease_duration_ms) / 1000, " s");
    RETURN_IF_ERROR(EndLocked(lease_id, db::AttemptState::kExpired, reason, RetryOrFail(lease)));
  }
  ASSIGN_OR_RETURN(const int expired_evals, ReapExpiredEvalLeasesLocked(now_ms));
  return static_cast<int>(expired.size()) + expired_evals;
}

absl::Status Scheduler::StoreLiveness() {
  // One writer at a time, so an older deadline never lands after a newer one.
  absl::MutexLock writing(&liveness_mu_);
  std::vector<db::LeaseDeadline> leases;
  std::vector<db::WorkerHeartbeat> workers;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [lease_id, lease] : leases_) {
      if (lease.deadline_ms == lease.stored_deadline_ms) continue;
      leases.push_back(db::LeaseDeadline{lease_id, lease.deadline_ms});
      lease.stored_deadline_ms = lease.deadline_ms;
    }
    for (auto& [lease_id, eval] : eval_leases_) {
      if (eval.deadline_ms == eval.stored_deadline_ms) continue;
      leases.push_back(db::LeaseDeadline{lease_id, eval.deadline_ms});
      eval.stored_deadline_ms = eval.deadline_ms;
    }
    for (auto& [worker_id, worker] : workers_) {
      if (worker.last_heartbeat_ms == worker.stored_heartbeat_ms) continue;
      workers.push_back(db::WorkerHeartbeat{worker_id, worker.last_heartbeat_ms});
      worker.stored_heartbeat_ms = worker.last_heartbeat_ms;
    }
  }
  // The write runs outside mu_: heartbeats go on meanwhile. A deadline moved
  // again by now is simply written next time.
  absl::Status status = store_->StoreLiveness(leases, workers);
  if (status.ok()) return status;
  absl::MutexLock lock(&mu_);
  for (const db::LeaseDeadline& written : leases) {
    auto it = leases_.find(written.lease_id);
    if (it != leases_.end() && it->second.stored_deadline_ms == written.lease_deadline_ms) {
      it->second.stored_deadline_ms = 0;
    }
    auto eval = eval_leases_.find(written.lease_id);
    if (eval != eval_leases_.end() &&
        eval->second.stored_deadline_ms == written.lease_deadline_ms) {
      eval->second.stored_deadline_ms = 0;
    }
  }
  for (const db::WorkerHeartbeat& written : workers) {
    auto it = workers_.find(written.worker_id);
    if (it != workers_.end() && it->second.stored_heartbeat_ms == written.heartbeat_ms) {
      it->second.stored_heartbeat_ms = 0;
    }
  }
  return status;
}

std::optional<RunProgress> Scheduler::Progress(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  auto it = progress_.find(run_id);
  if (it == progress_.end()) return std::nullopt;
  return it->second;
}

uint64_t Scheduler::version() {
  absl::MutexLock lock(&mu_);
  return version_;
}

uint64_t Scheduler::WaitForChange(uint64_t seen, int64_t timeout_ms) {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + absl::Milliseconds(timeout_ms);
  while (version_ == seen && !shutdown_) {
    if (changed_.WaitWithDeadline(&mu_, deadline)) break;  // timed out
  }
  return version_;
}

void Scheduler::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
  changed_.SignalAll();
}

bool Scheduler::shutting_down() {
  absl::MutexLock lock(&mu_);
  return shutdown_;
}

}  // namespace flopwise::server
