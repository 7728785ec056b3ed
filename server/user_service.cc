#include "server/user_service.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "base/str_cat.h"
#include "server/fit_handler.h"
#include "server/pending_reason.h"
#include "server/proto_convert.h"
#include "server/sweep_expand.h"
#include "server/sweep_summary.h"
#include "server/worker_inventory.h"

namespace flopwise::server {
namespace {

constexpr int kDefaultPageSize = 10'000;
constexpr int kMaxPageSize = 100'000;
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

// Run.pending_reason of a pending run, from Scheduler::PendingReasons().
void SetPendingReason(const std::map<int64_t, std::string>& waiting, v1::Run* run) {
  if (run->state() != v1::RUN_STATE_PENDING) return;
  auto it = waiting.find(run->run_id());
  if (it != waiting.end()) run->set_pending_reason(it->second);
}

}  // namespace

UserServiceImpl::UserServiceImpl(Scheduler* scheduler) : scheduler_(scheduler) {}

grpc::Status UserServiceImpl::SubmitSweep(grpc::ServerContext* context,
                                          const v1::SubmitSweepRequest* request,
                                          v1::SubmitSweepResponse* response) {
  if (request->spec_yaml().empty()) return Invalid("spec_yaml: required");
  auto compiled = CompileSweep(request->spec_yaml());
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
  auto records = scheduler_->store()->ListSweeps();
  if (!records.ok()) return ToGrpcStatus(records.status());
  for (const db::SweepRecord& record : *records) {
    response->set_last_sweep_id(std::max(response->last_sweep_id(), record.sweep_id));
    const bool submitted_after =
        request->after_sweep_id() > 0 && record.sweep_id > request->after_sweep_id();
    if (!request->include_finished() && !submitted_after &&
        record.state != db::SweepState::kActive) {
      continue;
    }
    if (absl::Status status = FillSweep(*scheduler_, record, response->add_sweeps());
        !status.ok()) {
      return ToGrpcStatus(status);
    }
  }
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
  std::set<db::RunState> states;
  for (int state : request->states()) {
    auto parsed = RunStateFromProto(static_cast<v1::RunState>(state));
    if (!parsed.ok()) return ToGrpcStatus(parsed.status());
    states.insert(*parsed);
  }
  db::RunFilter filter;
  if (request->sweep_id() > 0) filter.sweep_id = request->sweep_id();
  if (states.size() == 1) filter.state = *states.begin();
  auto runs = scheduler_->store()->ListRuns(filter);
  if (!runs.ok()) return ToGrpcStatus(runs.status());
  const std::map<int64_t, std::string> waiting = scheduler_->PendingReasons();
  for (const db::RunRecord& record : *runs) {
    if (!states.empty() && !states.contains(record.state)) continue;
    const std::optional<RunProgress> progress = scheduler_->Progress(record.run_id);
    v1::Run* run = response->add_runs();
    absl::Status status = RunRecordToRun(record, progress ? &*progress : nullptr, run);
    if (!status.ok()) return ToGrpcStatus(status);
    SetPendingReason(waiting, run);
  }
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
  if (request->run_id() <= 0 && request->sweep_id() <= 0) {
    return Invalid("run_id: one of run_id or sweep_id is required");
  }
  if (request->page_size() < 0 || request->page_size() > kMaxPageSize) {
    return Invalid(Cat("page_size: must be in [0, ", kMaxPageSize, "]"));
  }
  size_t offset = 0;
  const std::string& token = request->page_token();
  if (!token.empty()) {
    auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), offset);
    if (error != std::errc() || end != token.data() + token.size()) {
      return Invalid("page_token: not a token from a previous response");
    }
  }
  db::RowFilter filter;
  if (request->run_id() > 0) filter.run_id = request->run_id();
  if (request->sweep_id() > 0) filter.sweep_id = request->sweep_id();
  filter.include_superseded = request->include_superseded();
  auto rows = scheduler_->store()->ListMetrics(filter);
  if (!rows.ok()) return ToGrpcStatus(rows.status());
  const size_t page_size = request->page_size() > 0 ? request->page_size() : kDefaultPageSize;
  const size_t end = std::min(rows->size(), offset + page_size);
  for (size_t i = offset; i < end; ++i) {
    const db::MetricRecord& record = (*rows)[i];
    v1::MetricRow* row = response->add_rows();
    row->set_run_id(record.run_id);
    row->set_attempt(record.attempt);
    row->set_superseded(record.superseded);
    MetricRowToProto(record.row, row->mutable_point());
  }
  if (end < rows->size()) response->set_next_page_token(std::to_string(end));
  return grpc::Status::OK;
}

grpc::Status UserServiceImpl::GetCheckpoints(grpc::ServerContext* context,
                                             const v1::GetCheckpointsRequest* request,
                                             v1::GetCheckpointsResponse* response) {
  if (request->run_id() <= 0 && request->sweep_id() <= 0) {
    return Invalid("run_id: one of run_id or sweep_id is required");
  }
  db::RowFilter filter;
  if (request->run_id() > 0) filter.run_id = request->run_id();
  if (request->sweep_id() > 0) filter.sweep_id = request->sweep_id();
  filter.include_superseded = request->include_superseded();
  auto rows = scheduler_->store()->ListCheckpoints(filter);
  if (!rows.ok()) return ToGrpcStatus(rows.status());
  std::map<int64_t, RunPlan> plans;
  for (const db::CheckpointRecord& record : *rows) {
    auto plan = plans.find(record.run_id);
    if (plan == plans.end()) {
      auto run = scheduler_->store()->GetRun(record.run_id);
      if (!run.ok()) return ToGrpcStatus(run.status());
      auto parsed = RunPlanFromJson(run->config_json);
      if (!parsed.ok()) return ToGrpcStatus(parsed.status());
      plan = plans.emplace(record.run_id, std::move(*parsed)).first;
    }
    v1::CheckpointRow* row = response->add_checkpoints();
    row->set_run_id(record.run_id);
    row->set_attempt(record.attempt);
    row->set_superseded(record.superseded);
    row->set_params_non_embedding(plan->second.params_non_embedding());
    row->set_arch(plan->second.config().model().arch());
    CheckpointRowToProto(record.row, row->mutable_checkpoint());
  }
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
  auto workers = scheduler_->store()->ListWorkers();
  if (!workers.ok()) return ToGrpcStatus(workers.status());
  for (const db::WorkerRecord& record : *workers) {
    if (absl::Status status = FillWorker(record, response->add_workers()); !status.ok()) {
      return ToGrpcStatus(status);
    }
  }
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
