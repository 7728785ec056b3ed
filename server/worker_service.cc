#include "server/worker_service.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "server/limits.h"
#include "server/proto_convert.h"

namespace flopwise::server {
namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// The most metric rows one ReportMetrics call may carry.
constexpr int kMaxRowsPerReport = 100'000;
// Bounds on what a worker reports (docs/api.md, "Limits of worker reports");
// steps and tokens share server/limits.h's kMaxTokens with the spec.
constexpr size_t kMaxHostnameBytes = 253;  // a DNS name's limit
constexpr size_t kMaxLabelBytes = 256;     // version, GPU names
constexpr size_t kMaxCheckpointPathBytes = 4096;
constexpr int kMaxEvalMetricsPerReport = 100'000;
constexpr size_t kMaxEvalNameBytes = 4096;  // task names may be task file paths

// Text a worker reports that commands print (hostname, version, GPU names):
// printable ASCII only, every other byte (control characters, escapes, UTF-8)
// becomes '?', cut to `max_bytes`. Done once at Register so that everything
// downstream (the database, `flopwise workers`, logs) is safe to print.
std::string Printable(std::string_view text, size_t max_bytes) {
  std::string out(text.substr(0, max_bytes));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

grpc::Status CheckStepAndTokens(std::string_view what, int64_t step, int64_t tokens) {
  if (step < 0 || step > kMaxTokens || tokens < 0 || tokens > kMaxTokens) {
    return Invalid(Cat(what, ": step and tokens must be in 0..", kMaxTokens, " (got ", step, ", ",
                       tokens, ")"));
  }
  return grpc::Status::OK;
}

// A path a worker reports (`field`): at most kMaxCheckpointPathBytes, and no
// control character or NUL byte, so that the commands that print it cannot be
// made to emit terminal escapes.
grpc::Status CheckReportedPath(std::string_view field, std::string_view path) {
  if (path.size() > kMaxCheckpointPathBytes) {
    return Invalid(Cat(field, ": longer than ", kMaxCheckpointPathBytes, " bytes"));
  }
  for (const char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Invalid(Cat(field, ": contains a control character or NUL byte"));
    }
  }
  return grpc::Status::OK;
}

// A checkpoint path is a directory the trainer wrote: RUN_DIR/step-NNNNNNNN.
// Its last component must start with "step-", and it has no "." or ".."
// component and no control character, so that a report cannot point an
// export or a resume at an arbitrary file such as /etc/passwd.
grpc::Status CheckCheckpointPath(std::string_view path) {
  if (path.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Invalid("checkpoint.path: required (the checkpoint's directory)");
  }
  RETURN_IF_ERROR(CheckReportedPath("checkpoint.path", path));
  std::string_view rest = path;
  std::string_view last;
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    last = rest.substr(0, slash);
    if (last == "." || last == "..") return Invalid("checkpoint.path: has a . or .. component");
    rest = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  }
  if (!last.starts_with("step-")) {
    return Invalid(Cat("checkpoint.path: \"", path,
                       "\" is not a checkpoint directory (RUN_DIR/step-NNNNNNNN)"));
  }
  return grpc::Status::OK;
}

grpc::Status CheckRendezvousScope(int64_t run_id, int attempt) {
  if (run_id < 1) return Invalid("run_id: must be at least 1");
  if (attempt < 1) return Invalid("attempt: must be at least 1");
  return grpc::Status::OK;
}

grpc::Status CheckLease(const std::string& lease_id, int attempt) {
  if (lease_id.empty()) return Invalid("lease_id: required");
  if (attempt < 1) return Invalid("attempt: must be at least 1");
  return grpc::Status::OK;
}

// Lease.resources: what the run was scheduled against (see Fits()).
void GrantedResources(const RunPlan& plan, v1::Resources* resources) {
  const v1::Resources& need = plan.resources();
  resources->set_cpu_cores(need.cpu_cores());
  resources->set_gpus(need.gpus());
  if (need.gpus() > 0) {
    resources->set_gpu_memory_bytes((need.memory_bytes() + need.gpus() - 1) / need.gpus());
  } else {
    resources->set_memory_bytes(need.memory_bytes());
  }
}

void FillEvalLease(const EvalLeaseGrant& granted, v1::EvalLease* lease) {
  lease->set_lease_id(granted.lease_id);
  lease->set_job_id(granted.job.job_id);
  lease->set_attempt(granted.attempt);
  lease->set_lease_deadline_ms(granted.lease_deadline_ms);
  lease->set_run_id(granted.job.run_id);
  lease->set_run_name(granted.plan.name());
  lease->set_run_dir_name(granted.run_dir_name);
  lease->set_checkpoint_path(granted.job.checkpoint_path);
  lease->set_checkpoint_step(granted.job.checkpoint_step);
  *lease->mutable_config() = granted.plan.config();
  *lease->mutable_evaluation() = granted.plan.evaluation();
  lease->mutable_evaluation()->clear_tasks();
  for (const std::string& task : granted.job.tasks) lease->mutable_evaluation()->add_tasks(task);
  GrantedResources(granted.plan, lease->mutable_resources());
}

}  // namespace

WorkerServiceImpl::WorkerServiceImpl(Scheduler* scheduler, std::string checkpoint_root)
    : scheduler_(scheduler), checkpoint_root_(std::move(checkpoint_root)) {}

grpc::Status WorkerServiceImpl::Register(grpc::ServerContext*, const v1::RegisterRequest* request,
                                         v1::RegisterResponse* response) {
  if (request->hostname().empty()) return Invalid("hostname: required");
  if (request->cpu_cores() < 1) return Invalid("cpu_cores: must be at least 1");
  if (request->memory_bytes() < 1) return Invalid("memory_bytes: must be positive");
  nlohmann::json inventory = {{"cpu_cores", request->cpu_cores()},
                              {"memory_bytes", request->memory_bytes()},
                              {"version", Printable(request->version(), kMaxLabelBytes)},
                              {"gpus", nlohmann::json::array()}};
  for (const v1::Gpu& gpu : request->gpus()) {
    inventory["gpus"].push_back({{"index", gpu.index()},
                                 {"name", Printable(gpu.name(), kMaxLabelBytes)},
                                 {"memory_bytes", gpu.memory_bytes()}});
  }
  auto worker_id = scheduler_->RegisterWorker(
      request->worker_id(), Printable(request->hostname(), kMaxHostnameBytes), inventory.dump(),
      {request->held_lease_ids().begin(), request->held_lease_ids().end()});
  if (!worker_id.ok()) return ToGrpcStatus(worker_id.status());
  response->set_worker_id(*worker_id);
  response->set_checkpoint_root(checkpoint_root_);
  response->set_heartbeat_interval_ms(
      static_cast<int32_t>(scheduler_->options().heartbeat_interval_ms));
  response->set_lease_duration_ms(static_cast<int32_t>(scheduler_->options().lease_duration_ms));
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* request,
                                          v1::HeartbeatResponse* response) {
  if (request->worker_id().empty()) return Invalid("worker_id: required");
  std::vector<LeaseHeartbeat> leases;
  leases.reserve(request->leases_size());
  for (const v1::LeaseProgress& lease : request->leases()) {
    leases.push_back(LeaseHeartbeat{lease.lease_id(), lease.attempt(), lease.step(), lease.tokens(),
                                    lease.loss(), lease.tokens_per_s()});
  }
  auto result = scheduler_->Heartbeat(request->worker_id(), leases);
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_draining(result->draining);
  for (const LeaseVerdict& verdict : result->verdicts) {
    v1::LeaseInstruction* instruction = response->add_instructions();
    instruction->set_lease_id(verdict.lease_id);
    if (verdict.cancel) {
      instruction->set_action(v1::LeaseInstruction::ACTION_CANCEL);
      instruction->set_reason(verdict.reason);
    } else {
      instruction->set_action(v1::LeaseInstruction::ACTION_CONTINUE);
      instruction->set_lease_deadline_ms(verdict.lease_deadline_ms);
    }
  }
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::AcquireRun(grpc::ServerContext*,
                                           const v1::AcquireRunRequest* request,
                                           v1::AcquireRunResponse* response) {
  if (request->worker_id().empty()) return Invalid("worker_id: required");
  if (request->free_cpu_cores() < 0) return Invalid("free_cpu_cores: must not be negative");
  if (request->free_memory_bytes() < 0) return Invalid("free_memory_bytes: must not be negative");
  if (request->free_gpus() < 0) return Invalid("free_gpus: must not be negative");
  if (request->free_slots() < 0) return Invalid("free_slots: must not be negative");
  FreeResources free{request->free_cpu_cores(), request->free_memory_bytes(), request->free_gpus(),
                     request->free_gpu_memory_bytes()};
  auto grant = scheduler_->AcquireWork(request->worker_id(), free, request->accepts_eval_jobs(),
                                       std::max(1, request->free_slots()));
  if (!grant.ok()) return ToGrpcStatus(grant.status());
  if (grant->eval.has_value()) {
    FillEvalLease(*grant->eval, response->mutable_eval_lease());
    return grpc::Status::OK;
  }
  if (!grant->run.has_value()) {
    response->set_retry_after_ms(static_cast<int32_t>(scheduler_->options().retry_after_ms));
    response->set_draining(scheduler_->IsDraining(request->worker_id()));
    return grpc::Status::OK;
  }
  const LeaseGrant& granted = *grant->run;
  v1::Lease* lease = response->mutable_lease();
  lease->set_lease_id(granted.lease_id);
  lease->set_run_id(granted.run_id);
  lease->set_attempt(granted.attempt);
  lease->set_lease_deadline_ms(granted.lease_deadline_ms);
  *lease->mutable_config() = granted.plan.config();
  lease->set_run_name(granted.plan.name());
  lease->set_run_dir_name(granted.run_dir_name);
  lease->set_resume_checkpoint_path(granted.resume_checkpoint_path);
  lease->set_resume_step(granted.resume_step);
  GrantedResources(granted.plan, lease->mutable_resources());
  if (granted.world_size > 1) {
    lease->set_rank(granted.rank);
    lease->set_world_size(granted.world_size);
  }
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::ReportMetrics(grpc::ServerContext*,
                                              const v1::ReportMetricsRequest* request,
                                              v1::ReportMetricsResponse* response) {
  RETURN_IF_ERROR(CheckLease(request->lease_id(), request->attempt()));
  if (request->rows_size() > kMaxRowsPerReport) {
    return Invalid(
        Cat("rows: at most ", kMaxRowsPerReport, " per call (got ", request->rows_size(), ")"));
  }
  std::vector<db::MetricRow> rows;
  rows.reserve(request->rows_size());
  for (const v1::MetricPoint& point : request->rows()) {
    RETURN_IF_ERROR(CheckStepAndTokens("rows", point.step(), point.tokens()));
    rows.push_back(MetricRowFromProto(point));
  }
  std::optional<int64_t> resumed_from_step;
  if (request->has_resumed_from_step()) resumed_from_step = request->resumed_from_step();
  auto inserted =
      scheduler_->ReportMetrics(request->lease_id(), request->attempt(), rows, resumed_from_step);
  if (!inserted.ok()) return ToGrpcStatus(inserted.status());
  response->set_rows_new(*inserted);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::ReportCheckpoint(grpc::ServerContext*,
                                                 const v1::ReportCheckpointRequest* request,
                                                 v1::ReportCheckpointResponse* response) {
  RETURN_IF_ERROR(CheckLease(request->lease_id(), request->attempt()));
  if (!request->has_checkpoint()) return Invalid("checkpoint: required");
  RETURN_IF_ERROR(CheckCheckpointPath(request->checkpoint().path()));
  RETURN_IF_ERROR(CheckStepAndTokens("checkpoint", request->checkpoint().step(),
                                     request->checkpoint().tokens()));
  auto inserted = scheduler_->ReportCheckpoint(request->lease_id(), request->attempt(),
                                               CheckpointRowFromProto(request->checkpoint()));
  if (!inserted.ok()) return ToGrpcStatus(inserted.status());
  response->set_inserted(*inserted);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::CompleteRun(grpc::ServerContext*,
                                            const v1::CompleteRunRequest* request,
                                            v1::CompleteRunResponse* response) {
  RETURN_IF_ERROR(CheckLease(request->lease_id(), request->attempt()));
  return ToGrpcStatus(scheduler_->CompleteRun(request->lease_id(), request->attempt()));
}

grpc::Status WorkerServiceImpl::FailRun(grpc::ServerContext*, const v1::FailRunRequest* request,
                                        v1::FailRunResponse* response) {
  RETURN_IF_ERROR(CheckLease(request->lease_id(), request->attempt()));
  if (request->reason().empty()) return Invalid("reason: required");
  auto state = scheduler_->FailRun(request->lease_id(), request->attempt(), request->reason(),
                                   request->diverged());
  if (!state.ok()) return ToGrpcStatus(state.status());
  response->set_run_state(RunStateToProto(*state));
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::ReleaseRun(grpc::ServerContext*,
                                           const v1::ReleaseRunRequest* request,
                                           v1::ReleaseRunResponse* response) {
  RETURN_IF_ERROR(CheckLease(request->lease_id(), request->attempt()));
  auto state = scheduler_->ReleaseRun(
      request->lease_id(), request->attempt(),
      request->reason().empty() ? std::string("released by the worker") : request->reason());
  return ToGrpcStatus(state.status());
}

grpc::Status WorkerServiceImpl::ReportEvalResult(grpc::ServerContext*,
                                                 const v1::ReportEvalResultRequest* request,
                                                 v1::ReportEvalResultResponse* response) {
  RETURN_IF_ERROR(CheckLease(request->lease_id(), request->attempt()));
  if (request->task().empty()) return Invalid("task: required");
  if (request->task().size() > kMaxEvalNameBytes) {
    return Invalid(Cat("task: longer than ", kMaxEvalNameBytes, " bytes"));
  }
  if (request->metrics_size() > kMaxEvalMetricsPerReport) {
    return Invalid(Cat("metrics: at most ", kMaxEvalMetricsPerReport, " per call (got ",
                       request->metrics_size(), ")"));
  }
  std::vector<db::EvalRow> rows;
  rows.reserve(request->metrics_size());
  for (int i = 0; i < request->metrics_size(); ++i) {
    const v1::EvalMetric& metric = request->metrics(i);
    if (metric.name().empty() || metric.name().size() > kMaxEvalNameBytes) {
      return Invalid(Cat("metrics[", i, "].name: required, at most ", kMaxEvalNameBytes, " bytes"));
    }
    if (metric.text().size() > kMaxCheckpointPathBytes) {
      return Invalid(Cat("metrics[", i, "].text: longer than ", kMaxCheckpointPathBytes, " bytes"));
    }
    // A text row (a figure's path) has no value.
    const double value =
        metric.text().empty() ? metric.value() : std::numeric_limits<double>::quiet_NaN();
    rows.push_back(db::EvalRow{request->task(), metric.name(), value,
                               Printable(metric.text(), kMaxCheckpointPathBytes)});
  }
  auto inserted = scheduler_->ReportEvalResult(request->lease_id(), request->attempt(), rows);
  if (!inserted.ok()) return ToGrpcStatus(inserted.status());
  response->set_rows_new(*inserted);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::CompleteEvalJob(grpc::ServerContext*,
                                                const v1::CompleteEvalJobRequest* request,
                                                v1::CompleteEvalJobResponse* response) {
  RETURN_IF_ERROR(CheckLease(request->lease_id(), request->attempt()));
  return ToGrpcStatus(scheduler_->CompleteEvalJob(request->lease_id(), request->attempt()));
}

grpc::Status WorkerServiceImpl::FailEvalJob(grpc::ServerContext*,
                                            const v1::FailEvalJobRequest* request,
                                            v1::FailEvalJobResponse* response) {
  RETURN_IF_ERROR(CheckLease(request->lease_id(), request->attempt()));
  if (request->reason().empty()) return Invalid("reason: required");
  return ToGrpcStatus(scheduler_->FailEvalJob(
      request->lease_id(), request->attempt(),
      Printable(request->reason(), kMaxCheckpointPathBytes * 2), request->retry()));
}

grpc::Status WorkerServiceImpl::ReportLogPath(grpc::ServerContext*,
                                              const v1::ReportLogPathRequest* request,
                                              v1::ReportLogPathResponse* response) {
  RETURN_IF_ERROR(CheckLease(request->lease_id(), request->attempt()));
  if (request->log_path().empty()) return Invalid("log_path: required");
  RETURN_IF_ERROR(CheckReportedPath("log_path", request->log_path()));
  return ToGrpcStatus(
      scheduler_->ReportLogPath(request->lease_id(), request->attempt(), request->log_path()));
}

grpc::Status WorkerServiceImpl::RendezvousSet(grpc::ServerContext*,
                                              const v1::RendezvousSetRequest* request,
                                              v1::RendezvousSetResponse* response) {
  RETURN_IF_ERROR(CheckRendezvousScope(request->run_id(), request->attempt()));
  return ToGrpcStatus(scheduler_->rendezvous().Set(request->run_id(), request->attempt(),
                                                   request->key(), request->value()));
}

grpc::Status WorkerServiceImpl::RendezvousGet(grpc::ServerContext* context,
                                              const v1::RendezvousGetRequest* request,
                                              v1::RendezvousGetResponse* response) {
  RETURN_IF_ERROR(CheckRendezvousScope(request->run_id(), request->attempt()));
  if (request->wait_ms() < 0) return Invalid("wait_ms: must not be negative");
  // The wait ends before the caller's deadline, so that it hears "not yet".
  absl::Duration wait = absl::Milliseconds(request->wait_ms());
  if (context->deadline() != std::chrono::system_clock::time_point::max()) {
    wait = std::min(wait,
                    absl::FromChrono(context->deadline()) - absl::Now() - absl::Milliseconds(100));
  }
  auto value = scheduler_->rendezvous().Get(request->run_id(), request->attempt(), request->key(),
                                            std::max(wait, absl::ZeroDuration()));
  if (!value.ok()) return ToGrpcStatus(value.status());
  response->set_found(value->has_value());
  if (value->has_value()) response->set_value(**value);
  return grpc::Status::OK;
}

}  // namespace flopwise::server
