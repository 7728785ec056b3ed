// Scheduler: eval jobs (docs/evaluation.md, "Scheduling"). They are queued
// and leased like runs, in the same lock, and stored through db::Store.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "server/scheduler.h"

namespace flopwise::server {

absl::Status Scheduler::EnqueueStoredEvalLocked(const db::EvalJobRecord& job) {
  ASSIGN_OR_RETURN(const db::RunRecord run, store_->GetRun(job.run_id));
  ASSIGN_OR_RETURN(RunPlan plan, RunPlanFromJson(run.config_json));
  EnqueueEvalLocked(PendingEval{job.job_id, job.run_id, run.sweep_id, job.attempt,
                                job.checkpoint_step, job.priority, job.attempts, 0,
                                std::move(plan)});
  return absl::OkStatus();
}

absl::Status Scheduler::LoadEvalJobsLocked() {
  ASSIGN_OR_RETURN(const std::vector<db::EvalJobRecord> pending,
                   store_->ListEvalJobs(db::EvalJobFilter{.state = db::EvalJobState::kPending}));
  for (const db::EvalJobRecord& job : pending) RETURN_IF_ERROR(EnqueueStoredEvalLocked(job));
  ASSIGN_OR_RETURN(const std::vector<db::EvalJobRecord> running,
                   store_->ListEvalJobs(db::EvalJobFilter{.state = db::EvalJobState::kRunning}));
  const int64_t grace_deadline_ms = clock_() + options_.restart_grace_ms;
  for (const db::EvalJobRecord& job : running) {
    ASSIGN_OR_RETURN(const db::RunRecord run, store_->GetRun(job.run_id));
    ActiveEval eval;
    eval.job = PendingEval{
        job.job_id,   job.run_id, run.sweep_id, job.attempt, job.checkpoint_step, job.priority,
        job.attempts, 0,          RunPlan()};
    ASSIGN_OR_RETURN(eval.job.plan, RunPlanFromJson(run.config_json));
    eval.lease_attempt = job.attempts;
    eval.worker_id = job.worker_id;
    eval.deadline_ms = std::max(job.lease_deadline_ms, grace_deadline_ms);
    eval.stored_deadline_ms = job.lease_deadline_ms;  // StoreLiveness writes the extension
    eval_leases_.emplace(job.lease_id, std::move(eval));
  }
  return absl::OkStatus();
}

void Scheduler::EnqueueEvalLocked(PendingEval job) {
  const QueueKey key{-job.priority, job.job_id};
  eval_queue_.emplace(key, std::move(job));
}

std::map<Scheduler::QueueKey, Scheduler::PendingEval>::iterator Scheduler::BestEvalLocked(
    const FreeResources& free) {
  return std::find_if(eval_queue_.begin(), eval_queue_.end(),
                      [&](const auto& entry) { return Fits(entry.second.plan, free); });
}

absl::StatusOr<std::optional<EvalLeaseGrant>> Scheduler::GrantEvalLocked(
    std::map<QueueKey, PendingEval>::iterator it, std::string_view worker_id, int64_t now_ms) {
  PendingEval job = it->second;
  const std::string lease_id = NewLeaseId();
  const int64_t deadline_ms = now_ms + options_.lease_duration_ms;
  auto begun = store_->BeginEvalJob(job.job_id, worker_id, lease_id, deadline_ms, now_ms);
  if (absl::IsFailedPrecondition(begun.status())) {
    // Superseded (or ended) behind the queue's back; forget it.
    spdlog::warn("eval job {} dropped from the queue: {}", job.job_id, begun.status().ToString());
    eval_queue_.erase(it);
    return std::nullopt;
  }
  if (!begun.ok()) return begun.status();
  eval_queue_.erase(it);
  EvalLeaseGrant grant;
  grant.lease_id = lease_id;
  grant.attempt = begun->attempts;
  grant.lease_deadline_ms = deadline_ms;
  grant.job = *begun;
  grant.plan = job.plan;
  grant.run_dir_name = RunDirName(job.sweep_id, job.run_id);
  job.leases = begun->attempts;
  eval_leases_.emplace(lease_id, ActiveEval{std::move(job), begun->attempts, std::string(worker_id),
                                            deadline_ms, deadline_ms});
  BumpLocked();
  spdlog::info("eval job {} (run {}, step {}) lease {} granted to {}", grant.job.job_id,
               grant.job.run_id, grant.job.checkpoint_step, grant.attempt, worker_id);
  return grant;
}

absl::StatusOr<Scheduler::ActiveEval*> Scheduler::FindActiveEvalLocked(std::string_view lease_id,
                                                                       int attempt) {
  auto it = eval_leases_.find(lease_id);
  if (it == eval_leases_.end()) {
    auto ended = store_->FindEvalLease(lease_id);
    if (absl::IsNotFound(ended.status())) {
      return absl::NotFoundError(Cat("lease_id: unknown eval lease '", lease_id, "'"));
    }
    if (!ended.ok()) return ended.status();
    return absl::FailedPreconditionError(Cat("eval lease ", lease_id, " has ended (eval job ",
                                             ended->job_id, " is ",
                                             db::EvalJobStateName(ended->state), ")"));
  }
  if (it->second.lease_attempt != attempt) {
    return absl::FailedPreconditionError(Cat("attempt: eval lease ", lease_id, " holds attempt ",
                                             it->second.lease_attempt, ", not ", attempt));
  }
  return &it->second;
}

absl::Status Scheduler::EndEvalLocked(const std::string& lease_id, db::EvalJobState state,
                                      std::string_view error, bool counted) {
  auto it = eval_leases_.find(lease_id);
  ActiveEval eval = std::move(it->second);
  eval_leases_.erase(it);
  RETURN_IF_ERROR(store_->EndEvalJob(lease_id, state, error, clock_()));
  spdlog::info("eval job {} lease {} ended: {}{}{}", eval.job.job_id, eval.lease_attempt,
               db::EvalJobStateName(state), error.empty() ? "" : ": ", error);
  if (state == db::EvalJobState::kPending) {
    if (!counted) ++eval.job.retried;
    EnqueueEvalLocked(std::move(eval.job));
  }
  BumpLocked();
  return absl::OkStatus();
}

void Scheduler::DropSupersededEvalsLocked(int64_t run_id, int attempt, int64_t step) {
  auto replaced = [&](const PendingEval& job) {
    return job.run_id == run_id && job.attempt < attempt && job.checkpoint_step > step;
  };
  std::erase_if(eval_queue_, [&](const auto& entry) { return replaced(entry.second); });
  // Their workers hear of it at the next heartbeat or report.
  std::erase_if(eval_leases_, [&](const auto& entry) { return replaced(entry.second.job); });
}

absl::StatusOr<int> Scheduler::ReapExpiredEvalLeasesLocked(int64_t now_ms) {
  std::vector<std::string> expired;
  for (const auto& [lease_id, eval] : eval_leases_) {
    if (eval.deadline_ms < now_ms) expired.push_back(lease_id);
  }
  for (const std::string& lease_id : expired) {
    const ActiveEval& eval = eval_leases_.find(lease_id)->second;
    const bool exhausted = eval.job.leases - eval.job.retried >= options_.eval_max_attempts;
    const std::string error =
        Cat("lease expired: no heartbeat from worker ", eval.worker_id, " for ",
            (now_ms - eval.deadline_ms + options_.lease_duration_ms) / 1000, " s");
    RETURN_IF_ERROR(EndEvalLocked(
        lease_id, exhausted ? db::EvalJobState::kFailed : db::EvalJobState::kPending, error,
        /*counted=*/true));
  }
  return static_cast<int>(expired.size());
}

absl::StatusOr<std::vector<int64_t>> Scheduler::CreateEvalJobs(
    std::span<const db::NewEvalJob> jobs) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, store_->CreateEvalJobs(jobs));
  for (const int64_t id : ids) {
    ASSIGN_OR_RETURN(const db::EvalJobRecord job, store_->GetEvalJob(id));
    RETURN_IF_ERROR(EnqueueStoredEvalLocked(job));
  }
  BumpLocked();
  return ids;
}

absl::StatusOr<int> Scheduler::ReportEvalResult(std::string_view lease_id, int attempt,
                                                std::span<const db::EvalRow> rows) {
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(FindActiveEvalLocked(lease_id, attempt).status());
  }
  // The insert runs outside mu_ (the store checks the lease again).
  ASSIGN_OR_RETURN(const int inserted, store_->RecordEvals(lease_id, rows, clock_()));
  absl::MutexLock lock(&mu_);
  BumpLocked();
  return inserted;
}

absl::Status Scheduler::CompleteEvalJob(std::string_view lease_id, int attempt) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(FindActiveEvalLocked(lease_id, attempt).status());
  return EndEvalLocked(std::string(lease_id), db::EvalJobState::kSucceeded, "", true);
}

absl::Status Scheduler::FailEvalJob(std::string_view lease_id, int attempt, std::string_view reason,
                                    bool retry) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(FindActiveEvalLocked(lease_id, attempt).status());
  return EndEvalLocked(std::string(lease_id),
                       retry ? db::EvalJobState::kPending : db::EvalJobState::kFailed, reason,
                       /*counted=*/!retry);
}

}  // namespace flopwise::server
