// UserService's eval calls (docs/api.md, "Evaluations"): re-evaluating a
// finished sweep's checkpoints, and reading eval jobs and results.
#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "server/paging.h"
#include "server/proto_convert.h"
#include "server/spec_paths.h"
#include "server/user_service.h"
#include "worker/eval/task_names.h"

namespace flopwise::server {
namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// The checkpoints (effective, by step) of one run that `request` selects.
std::vector<db::CheckpointRecord> Selected(const std::vector<db::CheckpointRecord>& checkpoints,
                                           const v1::CreateEvalJobsRequest& request) {
  switch (request.checkpoints()) {
    case v1::CreateEvalJobsRequest::CHECKPOINTS_ALL:
      return checkpoints;
    case v1::CreateEvalJobsRequest::CHECKPOINTS_EVERY_K: {
      std::vector<db::CheckpointRecord> every;
      for (size_t i = 0; i < checkpoints.size(); ++i) {
        if ((i + 1) % static_cast<size_t>(request.every_k()) == 0) every.push_back(checkpoints[i]);
      }
      return every;
    }
    default:
      if (checkpoints.empty()) return {};
      return {checkpoints.back()};
  }
}

}  // namespace

grpc::Status UserServiceImpl::CreateEvalJobs(grpc::ServerContext* context,
                                             const v1::CreateEvalJobsRequest* request,
                                             v1::CreateEvalJobsResponse* response) {
  if (request->sweep_id() <= 0) return Invalid("sweep_id: required");
  if (request->tasks().empty()) return Invalid("tasks: required");
  if (!request->base_dir().empty() && !request->base_dir().starts_with("/")) {
    return Invalid(Cat("base_dir: must be an absolute path (got \"", request->base_dir(), "\")"));
  }
  std::set<std::string> seen;
  std::vector<std::string> tasks;
  for (int i = 0; i < request->tasks_size(); ++i) {
    std::string task = request->tasks(i);
    if (absl::Status known = eval::CheckTaskName(task); !known.ok()) {
      return Invalid(Cat("tasks[", i, "]: ", known.message()));
    }
    // A task file is read by whichever worker runs the job: made absolute here.
    if (eval::IsTaskFile(task)) {
      absl::StatusOr<std::string> resolved = ResolveSpecPath(task, request->base_dir());
      if (!resolved.ok()) return Invalid(Cat("tasks[", i, "]: ", resolved.status().message()));
      task = *std::move(resolved);
    }
    tasks.push_back(task);
    if (!seen.insert(task).second)
      return Invalid(Cat("tasks[", i, "]: duplicate task \"", task, "\""));
  }
  if (request->checkpoints() == v1::CreateEvalJobsRequest::CHECKPOINTS_EVERY_K &&
      request->every_k() < 1) {
    return Invalid("every_k: must be at least 1");
  }
  db::Store* store = scheduler_->store();
  auto sweep = store->GetSweep(request->sweep_id());
  if (!sweep.ok()) return ToGrpcStatus(sweep.status());
  if (sweep->state == db::SweepState::kActive) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        Cat("sweep ", request->sweep_id(),
                            " is still active: evaluate it again once it has finished"));
  }
  auto runs = store->ListRuns(
      db::RunFilter{.sweep_id = request->sweep_id(), .states = {db::RunState::kSucceeded}});
  if (!runs.ok()) return ToGrpcStatus(runs.status());
  auto checkpoints = store->ListCheckpoints(db::RowFilter{.sweep_id = request->sweep_id()});
  if (!checkpoints.ok()) return ToGrpcStatus(checkpoints.status());
  std::map<int64_t, std::vector<db::CheckpointRecord>> by_run;  // by step (the effective view)
  for (const db::CheckpointRecord& checkpoint : *checkpoints) {
    by_run[checkpoint.run_id].push_back(checkpoint);
  }
  db::EvalJobSpec spec;
  spec.tasks = std::move(tasks);
  spec.priority = request->has_priority() ? request->priority() : sweep->priority;
  spec.created_ms = SystemNowMs();
  std::vector<db::NewEvalJob> jobs;
  for (const db::RunRecord& run : *runs) {
    for (const db::CheckpointRecord& checkpoint : Selected(by_run[run.run_id], *request)) {
      jobs.push_back(db::NewEvalJob{run.run_id, checkpoint.attempt, checkpoint.row.seq, spec});
    }
  }
  if (jobs.empty()) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        Cat("sweep ", request->sweep_id(), " has no checkpoint of a succeeded run to evaluate"));
  }
  auto ids = scheduler_->CreateEvalJobs(jobs);
  if (!ids.ok()) return ToGrpcStatus(ids.status());
  for (const int64_t id : *ids) response->add_job_ids(id);
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::ListEvalJobs(grpc::ServerContext* context,
                                           const v1::ListEvalJobsRequest* request,
                                           v1::ListEvalJobsResponse* response) {
  auto page = ParsePageRequest(request->page_size(), request->page_token(), "i");
  RETURN_IF_ERROR(ToGrpcStatus(page.status()));
  db::EvalJobFilter filter;
  if (request->sweep_id() != 0) filter.sweep_id = request->sweep_id();
  filter.job_ids.assign(request->job_ids().begin(), request->job_ids().end());
  std::map<int64_t, std::string> run_names;
  auto next = FillPage(
      *page,
      [&](const std::optional<PageKey>& after, size_t limit) {
        filter.after_job_id = after ? std::optional(std::get<int64_t>((*after)[0])) : std::nullopt;
        filter.limit = limit;
        return scheduler_->store()->ListEvalJobs(filter);
      },
      [&](const db::EvalJobRecord& job) -> absl::StatusOr<size_t> {
        auto name = run_names.find(job.run_id);
        if (name == run_names.end()) {
          ASSIGN_OR_RETURN(const db::RunRecord run, scheduler_->store()->GetRun(job.run_id));
          name = run_names.emplace(job.run_id, run.name).first;
        }
        v1::EvalJob* out = response->add_jobs();
        out->set_job_id(job.job_id);
        out->set_run_id(job.run_id);
        out->set_run_name(name->second);
        out->set_checkpoint_step(job.checkpoint_step);
        for (const std::string& task : job.tasks) out->add_tasks(task);
        out->set_state(EvalJobStateToProto(job.state));
        out->set_attempts(job.attempts);
        out->set_error(job.error);
        out->set_worker_id(job.worker_id);
        out->set_priority(job.priority);
        return out->ByteSizeLong();
      },
      [](const db::EvalJobRecord& job) { return PageKey{job.job_id}; });
  RETURN_IF_ERROR(ToGrpcStatus(next.status()));
  response->set_next_page_token(*std::move(next));
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::ListEvals(grpc::ServerContext* context,
                                        const v1::ListEvalsRequest* request,
                                        v1::ListEvalsResponse* response) {
  auto page = ParsePageRequest(request->page_size(), request->page_token(), "iiiss");
  RETURN_IF_ERROR(ToGrpcStatus(page.status()));
  db::EvalFilter filter;
  if (request->sweep_id() != 0) filter.sweep_id = request->sweep_id();
  if (request->run_id() != 0) filter.run_id = request->run_id();
  if (!request->task().empty()) filter.task = request->task();
  filter.job_ids.assign(request->job_ids().begin(), request->job_ids().end());
  std::map<int64_t, db::RunRecord> runs;
  auto next = FillPage(
      *page,
      [&](const std::optional<PageKey>& after, size_t limit) {
        filter.after = std::nullopt;
        if (after) {
          const PageKey& key = *after;
          filter.after = db::EvalKey{std::get<int64_t>(key[0]), std::get<int64_t>(key[1]),
                                     std::get<int64_t>(key[2]), std::get<std::string>(key[3]),
                                     std::get<std::string>(key[4])};
        }
        filter.limit = limit;
        return scheduler_->store()->ListEvals(filter);
      },
      [&](const db::EvalRecord& eval) -> absl::StatusOr<size_t> {
        auto run = runs.find(eval.run_id);
        if (run == runs.end()) {
          ASSIGN_OR_RETURN(db::RunRecord record, scheduler_->store()->GetRun(eval.run_id));
          run = runs.emplace(eval.run_id, std::move(record)).first;
        }
        v1::EvalResult* row = response->add_rows();
        row->set_sweep_id(run->second.sweep_id);
        row->set_run_name(run->second.name);
        row->set_arch(run->second.arch);
        row->set_job_id(eval.job_id);
        row->set_run_id(eval.run_id);
        row->set_attempt(eval.attempt);
        row->set_checkpoint_step(eval.checkpoint_step);
        row->set_task(eval.row.task);
        row->set_metric(eval.row.metric);
        row->set_value(eval.row.value);
        row->set_text(eval.row.text);
        return row->ByteSizeLong();
      },
      [](const db::EvalRecord& eval) {
        return PageKey{eval.run_id, eval.checkpoint_step, eval.job_id, eval.row.task,
                       eval.row.metric};
      });
  RETURN_IF_ERROR(ToGrpcStatus(next.status()));
  response->set_next_page_token(*std::move(next));
  return grpc::Status::OK;
}

}  // namespace flopwise::server
