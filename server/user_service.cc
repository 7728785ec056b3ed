#include "server/user_service.h"

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "server/fit_handler.h"
#include "server/paging.h"
#include "server/pending_reason.h"
#include "server/proto_convert.h"
#include "server/sweep_expand.h"
#include "server/sweep_summary.h"
#include "server/worker_inventory.h"

namespace flopwise::server {
namespace {

// WatchRuns re-reads the store at least this often.
constexpr int64_t kWatchPollMs = 1'000;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// What a watcher compares to decide whether a run changed.
struct WatchKey {
  v1::RunState state;
  int32_t attempt;
  int64_t step;
  int64_t tokens;
  std::string worker_id;
  std::optional<double> validation_loss;  // lands with a checkpoint, after its step
  bool operator==(const WatchKey&) const = default;
};

int64_t IntPart(const PageKey& key, size_t i) { return std::get<int64_t>(key[i]); }

// The page key of a metric or checkpoint row: (run, step, attempt, seq), the
// effective view's order key and then the stored one's.
template <typename Record>
PageKey RowPageKey(const Record& record) {
  return {record.run_id, record.row.step, static_cast<int64_t>(record.attempt), record.row.seq};
}

// The rows of `filter` after a RowPageKey, at most `limit`.
db::RowFilter RowsAfter(db::RowFilter filter, const std::optional<PageKey>& after, size_t limit) {
  if (after) {
    filter.after = db::RowKey{IntPart(*after, 0), IntPart(*after, 1),
                              static_cast<int>(IntPart(*after, 2)), IntPart(*after, 3)};
  }
  filter.limit = limit;
  return filter;
}

// The filter and page of a GetMetrics or GetCheckpoints request: its run or
// sweep, whether superseded rows are wanted, and a RowPageKey token.
template <typename Request>
absl::StatusOr<PageRequest> ParseRowsRequest(const Request& request, db::RowFilter* filter) {
  if (request.run_id() <= 0 && request.sweep_id() <= 0) {
    return absl::InvalidArgumentError("run_id: one of run_id or sweep_id is required");
  }
  if (request.run_id() > 0) filter->run_id = request.run_id();
  if (request.sweep_id() > 0) filter->sweep_id = request.sweep_id();
  filter->include_superseded = request.include_superseded();
  return ParsePageRequest(request.page_size(), request.page_token(), "iiii");
}

// Run.pending_reason of a pending run, from Scheduler::PendingReasons().
void SetPendingReason(const std::map<int64_t, std::string>& waiting, v1::Run* run) {
  if (run->state() != v1::RUN_STATE_PENDING) return;
  auto it = waiting.find(run->run_id());
  if (it != waiting.end()) run->set_pending_reason(it->second);
}

}  // namespace

UserServiceImpl::UserServiceImpl(Scheduler* scheduler, const SubmitLimits& limits, Clock clock)
    : scheduler_(scheduler),
      max_runs_per_sweep_(limits.max_runs_per_sweep),
      submit_limiter_(limits.max_submits_per_minute, std::move(clock)) {}

grpc::Status UserServiceImpl::SubmitSweep(grpc::ServerContext* context,
                                          const v1::SubmitSweepRequest* request,
                                          v1::SubmitSweepResponse* response) {
  if (request->spec_yaml().empty()) return Invalid("spec_yaml: required");
  if (!request->base_dir().empty() && !request->base_dir().starts_with("/")) {
    return Invalid(Cat("base_dir: must be an absolute path (got \"", request->base_dir(), "\")"));
  }
  if (!request->dry_run()) {
    RETURN_IF_ERROR(ToGrpcStatus(submit_limiter_.Admit(ClientAddress(context->peer()))));
  }
  auto compiled = CompileSweep(request->spec_yaml(), request->base_dir(), max_runs_per_sweep_);
  if (!compiled.ok()) return ToGrpcStatus(compiled.status());
  response->set_name(compiled->spec.name);
  double total_flops = 0;
  for (const RunPlan& plan : compiled->runs) {
    v1::Run* run = response->add_runs();
    *run = plan;
    run->set_state(v1::RUN_STATE_PENDING);
    total_flops += plan.estimated_flops();
  }
  response->set_total_estimated_flops(total_flops);
  for (std::string& warning : SubmitWarnings(compiled->runs, scheduler_->Workers())) {
    response->add_warnings(std::move(warning));
  }
  if (request->dry_run()) return grpc::Status::OK;
  if (response->warnings_size() > 0 && !request->allow_unplaceable()) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        Cat(response->warnings_size(), " of ", response->runs_size(),
            " runs no registered worker could ever hold (first: ", response->warnings(0),
            "); change the spec's resources or model sizes, register a larger worker, or "
            "submit with --allow-unplaceable to queue them until one registers"));
  }

  db::NewSweep sweep;
  sweep.name = compiled->spec.name;
  sweep.spec_yaml = request->spec_yaml();
  sweep.priority = compiled->spec.priority;
  sweep.created_ms = SystemNowMs();
  auto created = scheduler_->SubmitSweep(sweep, compiled->runs);
  if (!created.ok()) return ToGrpcStatus(created.status());
  response->set_sweep_id(created->sweep_id);
  for (int i = 0; i < response->runs_size(); ++i) {
    response->mutable_runs(i)->set_run_id(created->run_ids[i]);
    response->mutable_runs(i)->set_sweep_id(created->sweep_id);
  }
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::GetSweep(grpc::ServerContext* context,
                                       const v1::GetSweepRequest* request,
                                       v1::GetSweepResponse* response) {
  if (request->sweep_id() <= 0) return Invalid("sweep_id: required");
  auto record = scheduler_->store()->GetSweep(request->sweep_id());
  if (!record.ok()) return ToGrpcStatus(record.status());
  return ToGrpcStatus(FillSweep(*scheduler_, *record, response->mutable_sweep()));
}

grpc::Status UserServiceImpl::ListSweeps(grpc::ServerContext* context,
                                         const v1::ListSweepsRequest* request,
                                         v1::ListSweepsResponse* response) {
  auto page = ParsePageRequest(request->page_size(), request->page_token(), "i");
  RETURN_IF_ERROR(ToGrpcStatus(page.status()));
  auto last = scheduler_->store()->LastSweepId();  // before the page: no sweep is missed
  RETURN_IF_ERROR(ToGrpcStatus(last.status()));
  response->set_last_sweep_id(*last);
  db::SweepFilter filter;
  filter.active_only = !request->include_finished();
  filter.finished_after_sweep_id = std::max<int64_t>(0, request->after_sweep_id());
  auto next = FillPage(
      *page,
      [&](const std::optional<PageKey>& after, size_t limit) {
        filter.after_sweep_id = after ? std::optional(IntPart(*after, 0)) : std::nullopt;
        filter.limit = limit;
        return scheduler_->store()->ListSweeps(filter);
      },
      [&](const db::SweepRecord& record) -> absl::StatusOr<size_t> {
        v1::Sweep* sweep = response->add_sweeps();
        RETURN_IF_ERROR(FillSweep(*scheduler_, record, sweep));
        return sweep->ByteSizeLong();
      },
      [](const db::SweepRecord& record) { return PageKey{record.sweep_id}; });
  RETURN_IF_ERROR(ToGrpcStatus(next.status()));
  response->set_next_page_token(*std::move(next));
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::CancelSweep(grpc::ServerContext* context,
                                          const v1::CancelSweepRequest* request,
                                          v1::CancelSweepResponse* response) {
  if (request->sweep_id() <= 0) return Invalid("sweep_id: required");
  auto cancelled = scheduler_->CancelSweep(request->sweep_id());
  if (!cancelled.ok()) return ToGrpcStatus(cancelled.status());
  response->set_runs_cancelled(*cancelled);
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::ListRuns(grpc::ServerContext* context,
                                       const v1::ListRunsRequest* request,
                                       v1::ListRunsResponse* response) {
  if (request->sweep_id() < 0) return Invalid("sweep_id: must not be negative");
  db::RunFilter filter;
  if (request->sweep_id() > 0) filter.sweep_id = request->sweep_id();
  for (int state : request->states()) {
    auto parsed = RunStateFromProto(static_cast<v1::RunState>(state));
    RETURN_IF_ERROR(ToGrpcStatus(parsed.status()));
    filter.states.push_back(*parsed);
  }
  auto page = ParsePageRequest(request->page_size(), request->page_token(), "ii");
  RETURN_IF_ERROR(ToGrpcStatus(page.status()));
  const std::map<int64_t, std::string> waiting = scheduler_->PendingReasons();
  auto next = FillPage(
      *page,
      [&](const std::optional<PageKey>& after, size_t limit) {
        filter.after = after ? std::optional(db::RunKey{static_cast<int>(IntPart(*after, 0)),
                                                        IntPart(*after, 1)})
                             : std::nullopt;
        filter.limit = limit;
        return scheduler_->store()->ListRuns(filter);
      },
      [&](const db::RunRecord& record) -> absl::StatusOr<size_t> {
        const std::optional<RunProgress> progress = scheduler_->Progress(record.run_id);
        v1::Run* run = response->add_runs();
        RETURN_IF_ERROR(RunRecordToRun(record, progress ? &*progress : nullptr, run));
        SetPendingReason(waiting, run);
        return run->ByteSizeLong();
      },
      [](const db::RunRecord& record) {
        return PageKey{static_cast<int64_t>(record.priority), record.run_id};
      });
  RETURN_IF_ERROR(ToGrpcStatus(next.status()));
  response->set_next_page_token(*std::move(next));
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::GetRun(grpc::ServerContext* context, const v1::GetRunRequest* request,
                                     v1::GetRunResponse* response) {
  if (request->run_id() <= 0) return Invalid("run_id: required");
  auto record = scheduler_->store()->GetRun(request->run_id());
  if (!record.ok()) return ToGrpcStatus(record.status());
  const std::optional<RunProgress> progress = scheduler_->Progress(record->run_id);
  v1::Run* run = response->mutable_run();
  if (absl::Status status = RunRecordToRun(*record, progress ? &*progress : nullptr, run);
      !status.ok()) {
    return ToGrpcStatus(status);
  }
  SetPendingReason(scheduler_->PendingReasons(), run);
  db::AttemptFilter filter;
  filter.run_id = request->run_id();
  auto attempts = scheduler_->store()->ListAttempts(filter);
  if (!attempts.ok()) return ToGrpcStatus(attempts.status());
  std::map<std::string, std::string> hostnames;  // by worker id
  for (const db::AttemptRecord& attempt : *attempts) {
    auto host = hostnames.find(attempt.worker_id);
    if (host == hostnames.end()) {
      auto worker = scheduler_->store()->GetWorker(attempt.worker_id);
      if (!worker.ok()) return ToGrpcStatus(worker.status());
      host = hostnames.emplace(attempt.worker_id, worker->hostname).first;
    }
    v1::Attempt* out = run->add_attempt_history();
    out->set_log_path(attempt.log_path);
    out->set_worker_hostname(host->second);
    out->set_attempt(attempt.attempt);
    out->set_worker_id(attempt.worker_id);
    out->set_outcome(AttemptOutcomeToProto(attempt.state));
    out->set_reason(attempt.reason);
    out->set_started_ms(attempt.started_ms);
    out->set_ended_ms(attempt.ended_ms);
    out->set_lease_deadline_ms(attempt.lease_deadline_ms);
    out->set_resumed_from_step(attempt.resumed_from_step);
    if (attempt.state == db::AttemptState::kActive) run->set_worker_id(attempt.worker_id);
  }
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::WatchRuns(grpc::ServerContext* context,
                                        const v1::WatchRunsRequest* request,
                                        grpc::ServerWriter<v1::RunUpdate>* writer) {
  if (request->sweep_id() < 0) return Invalid("sweep_id: must not be negative");
  std::map<int64_t, WatchKey> sent;
  while (!context->IsCancelled() && !scheduler_->shutting_down()) {
    const uint64_t version = scheduler_->version();
    std::vector<db::RunRecord> runs;
    if (request->run_ids_size() > 0) {
      for (int64_t run_id : request->run_ids()) {
        auto record = scheduler_->store()->GetRun(run_id);
        if (!record.ok()) return ToGrpcStatus(record.status());
        runs.push_back(std::move(*record));
      }
    } else {
      db::RunFilter filter;
      if (request->sweep_id() > 0) filter.sweep_id = request->sweep_id();
      auto listed = scheduler_->store()->ListRuns(filter);
      if (!listed.ok()) return ToGrpcStatus(listed.status());
      runs = std::move(*listed);
    }
    bool all_terminal = true;
    std::map<int64_t, v1::Sweep> sweeps;  // this round's summaries, by sweep id
    for (const db::RunRecord& record : runs) {
      all_terminal = all_terminal && db::IsTerminal(record.state);
      const std::optional<RunProgress> progress = scheduler_->Progress(record.run_id);
      v1::Run run;
      if (absl::Status status = RunRecordToRun(record, progress ? &*progress : nullptr, &run);
          !status.ok()) {
        return ToGrpcStatus(status);
      }
      const int32_t attempt = progress ? progress->attempt : record.attempts;
      WatchKey key{
          run.state(),
          attempt,
          run.step(),
          run.tokens(),
          run.worker_id(),
          run.has_validation_loss() ? std::optional<double>(run.validation_loss()) : std::nullopt};
      auto it = sent.find(record.run_id);
      if (it != sent.end() && it->second == key) continue;
      v1::RunUpdate update;
      update.set_run_id(record.run_id);
      update.set_sweep_id(record.sweep_id);
      update.set_name(record.name);
      update.set_state(run.state());
      update.set_attempt(attempt);
      update.set_step(run.step());
      update.set_tokens(run.tokens());
      update.set_total_tokens(run.config().total_tokens());
      update.set_loss(run.loss());
      if (run.has_validation_loss()) update.set_validation_loss(run.validation_loss());
      update.set_progress_fraction(run.progress_fraction());
      const double tokens_per_s =
          progress ? progress->tokens_per_s
                   : (record.latest_metric ? record.latest_metric->row.tokens_per_s : 0);
      update.set_tokens_per_s(tokens_per_s);
      const int64_t remaining = std::max<int64_t>(0, run.config().total_tokens() - run.tokens());
      update.set_eta_seconds(db::IsTerminal(record.state) ? 0
                             : tokens_per_s > 0 ? static_cast<double>(remaining) / tokens_per_s
                                                : -1);
      update.set_worker_id(run.worker_id());
      update.set_updated_ms(progress ? progress->updated_ms : SystemNowMs());
      auto sweep = sweeps.find(record.sweep_id);
      if (sweep == sweeps.end()) {
        auto sweep_record = scheduler_->store()->GetSweep(record.sweep_id);
        if (!sweep_record.ok()) return ToGrpcStatus(sweep_record.status());
        v1::Sweep summary;
        if (absl::Status status = FillSweep(*scheduler_, *sweep_record, &summary); !status.ok()) {
          return ToGrpcStatus(status);
        }
        summary.clear_spec_yaml();
        sweep = sweeps.emplace(record.sweep_id, std::move(summary)).first;
      }
      *update.mutable_sweep() = sweep->second;
      if (!writer->Write(update)) return grpc::Status::OK;  // the client went away
      sent[record.run_id] = key;
    }
    if (all_terminal && !request->follow()) return grpc::Status::OK;
    scheduler_->WaitForChange(version, kWatchPollMs);
  }
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::GetMetrics(grpc::ServerContext* context,
                                         const v1::GetMetricsRequest* request,
                                         v1::GetMetricsResponse* response) {
  db::RowFilter filter;
  auto page = ParseRowsRequest(*request, &filter);
  RETURN_IF_ERROR(ToGrpcStatus(page.status()));
  auto next = FillPage(
      *page,
      [&](const std::optional<PageKey>& after, size_t limit) {
        return scheduler_->store()->ListMetrics(RowsAfter(filter, after, limit));
      },
      [&](const db::MetricRecord& record) -> absl::StatusOr<size_t> {
        v1::MetricRow* row = response->add_rows();
        row->set_run_id(record.run_id);
        row->set_attempt(record.attempt);
        row->set_superseded(record.superseded);
        MetricRowToProto(record.row, row->mutable_point());
        return row->ByteSizeLong();
      },
      RowPageKey<db::MetricRecord>);
  RETURN_IF_ERROR(ToGrpcStatus(next.status()));
  response->set_next_page_token(*std::move(next));
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::GetCheckpoints(grpc::ServerContext* context,
                                             const v1::GetCheckpointsRequest* request,
                                             v1::GetCheckpointsResponse* response) {
  db::RowFilter filter;
  auto page = ParseRowsRequest(*request, &filter);
  RETURN_IF_ERROR(ToGrpcStatus(page.status()));
  std::map<int64_t, RunPlan> plans;
  auto next = FillPage(
      *page,
      [&](const std::optional<PageKey>& after, size_t limit) {
        return scheduler_->store()->ListCheckpoints(RowsAfter(filter, after, limit));
      },
      [&](const db::CheckpointRecord& record) -> absl::StatusOr<size_t> {
        auto plan = plans.find(record.run_id);
        if (plan == plans.end()) {
          ASSIGN_OR_RETURN(const db::RunRecord run, scheduler_->store()->GetRun(record.run_id));
          ASSIGN_OR_RETURN(RunPlan parsed, RunPlanFromJson(run.config_json));
          plan = plans.emplace(record.run_id, std::move(parsed)).first;
        }
        v1::CheckpointRow* row = response->add_checkpoints();
        row->set_run_id(record.run_id);
        row->set_attempt(record.attempt);
        row->set_superseded(record.superseded);
        row->set_params_non_embedding(plan->second.params_non_embedding());
        row->set_arch(plan->second.config().model().arch());
        CheckpointRowToProto(record.row, row->mutable_checkpoint());
        return row->ByteSizeLong();
      },
      RowPageKey<db::CheckpointRecord>);
  RETURN_IF_ERROR(ToGrpcStatus(next.status()));
  response->set_next_page_token(*std::move(next));
  return grpc::Status::OK;
}

absl::Status UserServiceImpl::FillWorker(const db::WorkerRecord& record, v1::Worker* worker) {
  worker->set_worker_id(record.worker_id);
  worker->set_hostname(record.hostname);
  worker->set_registered_ms(record.registered_ms);
  worker->set_last_heartbeat_ms(record.last_heartbeat_ms);
  worker->set_draining(record.draining);
  worker->set_alive(
      IsAlive(record.last_heartbeat_ms, SystemNowMs(), scheduler_->options().lease_duration_ms));
  WorkerInventory inventory = InventoryFromJson(record.inventory_json);
  *worker->mutable_inventory() = std::move(inventory.resources);
  for (v1::Gpu& gpu : inventory.gpus) *worker->add_gpus() = std::move(gpu);
  db::AttemptFilter filter;
  filter.worker_id = record.worker_id;
  filter.active_only = true;
  auto attempts = scheduler_->store()->ListAttempts(filter);
  if (!attempts.ok()) return attempts.status();
  for (const db::AttemptRecord& attempt : *attempts) worker->add_running_run_ids(attempt.run_id);
  return absl::OkStatus();
}

grpc::Status UserServiceImpl::ListWorkers(grpc::ServerContext* context,
                                          const v1::ListWorkersRequest* request,
                                          v1::ListWorkersResponse* response) {
  auto page = ParsePageRequest(request->page_size(), request->page_token(), "s");
  RETURN_IF_ERROR(ToGrpcStatus(page.status()));
  auto next = FillPage(
      *page,
      [&](const std::optional<PageKey>& after, size_t limit) {
        db::WorkerFilter filter;
        if (after) filter.after_worker_id = std::get<std::string>((*after)[0]);
        filter.limit = limit;
        return scheduler_->store()->ListWorkers(filter);
      },
      [&](const db::WorkerRecord& record) -> absl::StatusOr<size_t> {
        v1::Worker* worker = response->add_workers();
        RETURN_IF_ERROR(FillWorker(record, worker));
        return worker->ByteSizeLong();
      },
      [](const db::WorkerRecord& record) { return PageKey{record.worker_id}; });
  RETURN_IF_ERROR(ToGrpcStatus(next.status()));
  response->set_next_page_token(*std::move(next));
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::SetDraining(grpc::ServerContext* context,
                                          const v1::SetDrainingRequest* request,
                                          v1::SetDrainingResponse* response) {
  if (request->worker_id().empty()) return Invalid("worker_id: required");
  if (absl::Status status = scheduler_->SetDraining(request->worker_id(), request->draining());
      !status.ok()) {
    return ToGrpcStatus(status);
  }
  auto record = scheduler_->store()->GetWorker(request->worker_id());
  if (!record.ok()) return ToGrpcStatus(record.status());
  return ToGrpcStatus(FillWorker(*record, response->mutable_worker()));
}

grpc::Status UserServiceImpl::FitScalingLaw(grpc::ServerContext* context,
                                            const v1::FitScalingLawRequest* request,
                                            v1::FitScalingLawResponse* response) {
  return ToGrpcStatus(FitHandler(scheduler_->store()).FitScalingLaw(*request, response));
}

grpc::Status UserServiceImpl::QueryOptimal(grpc::ServerContext* context,
                                           const v1::QueryOptimalRequest* request,
                                           v1::QueryOptimalResponse* response) {
  return ToGrpcStatus(FitHandler(scheduler_->store()).QueryOptimal(*request, response));
}

}  // namespace flopwise::server
