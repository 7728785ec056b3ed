// flopwise.v1.UserService over the Scheduler and the Store: request checks and
// status translation (AuthorizedService checks the caller's token). Thread-safe.
#pragma once

#include "flopwise/v1/user_service.grpc.pb.h"
#include "server/authorized_service.h"
#include "server/limits.h"
#include "server/scheduler.h"
#include "server/submit_limiter.h"

namespace flopwise::server {

// The bounds of SubmitSweep (docs/operations.md, "Limits"; the pending runs
// are bounded by SchedulerOptions::max_pending_runs).
struct SubmitLimits {
  // Sweeps stored per client address and minute (SubmitLimiter); 0: no limit.
  int max_submits_per_minute = kDefaultMaxSubmitsPerMinute;
  size_t max_runs_per_sweep = kMaxRunsPerSweep;  // in [1, kMaxRunsPerSweep]
};

class UserServiceImpl final : public HandlersOf<v1::UserService::Service> {
 public:
  // `scheduler` must outlive the service; `clock` times the submit limit.
  explicit UserServiceImpl(Scheduler* scheduler, const SubmitLimits& limits = {},
                           Clock clock = SystemNowMs);

  // RESOURCE_EXHAUSTED when the client is over its submit limit or the runs would exceed
  // max_pending_runs, each saying the limit and when to retry; INVALID_ARGUMENT when the spec
  // expands to more than max_runs_per_sweep runs. The list calls are paged (server/paging.h).
  grpc::Status SubmitSweep(grpc::ServerContext* context, const v1::SubmitSweepRequest* request,
                           v1::SubmitSweepResponse* response) override;
  grpc::Status GetSweep(grpc::ServerContext* context, const v1::GetSweepRequest* request,
                        v1::GetSweepResponse* response) override;
  grpc::Status ListSweeps(grpc::ServerContext* context, const v1::ListSweepsRequest* request,
                          v1::ListSweepsResponse* response) override;
  grpc::Status CancelSweep(grpc::ServerContext* context, const v1::CancelSweepRequest* request,
                           v1::CancelSweepResponse* response) override;
  grpc::Status ListRuns(grpc::ServerContext* context, const v1::ListRunsRequest* request,
                        v1::ListRunsResponse* response) override;
  grpc::Status GetRun(grpc::ServerContext* context, const v1::GetRunRequest* request,
                      v1::GetRunResponse* response) override;
  // Polls the store whenever the scheduler reports a change (at least every
  // second) and sends the runs whose state or progress moved, each with its
  // sweep's summary (sweep_summary.h).
  grpc::Status WatchRuns(grpc::ServerContext* context, const v1::WatchRunsRequest* request,
                         grpc::ServerWriter<v1::RunUpdate>* writer) override;
  grpc::Status GetMetrics(grpc::ServerContext* context, const v1::GetMetricsRequest* request,
                          v1::GetMetricsResponse* response) override;
  grpc::Status GetCheckpoints(grpc::ServerContext* context,
                              const v1::GetCheckpointsRequest* request,
                              v1::GetCheckpointsResponse* response) override;
  grpc::Status ListWorkers(grpc::ServerContext* context, const v1::ListWorkersRequest* request,
                           v1::ListWorkersResponse* response) override;
  grpc::Status SetDraining(grpc::ServerContext* context, const v1::SetDrainingRequest* request,
                           v1::SetDrainingResponse* response) override;
  // Fits over the sweep's effective checkpoints, cached in the store (FitHandler).
  grpc::Status FitScalingLaw(grpc::ServerContext* context, const v1::FitScalingLawRequest* request,
                             v1::FitScalingLawResponse* response) override;
  grpc::Status QueryOptimal(grpc::ServerContext* context, const v1::QueryOptimalRequest* request,
                            v1::QueryOptimalResponse* response) override;
  // Eval jobs and results (eval_service.cc).
  grpc::Status CreateEvalJobs(grpc::ServerContext* context,
                              const v1::CreateEvalJobsRequest* request,
                              v1::CreateEvalJobsResponse* response) override;
  grpc::Status ListEvalJobs(grpc::ServerContext* context, const v1::ListEvalJobsRequest* request,
                            v1::ListEvalJobsResponse* response) override;
  grpc::Status ListEvals(grpc::ServerContext* context, const v1::ListEvalsRequest* request,
                         v1::ListEvalsResponse* response) override;
  // Failed and diverged runs back to pending (retry_service.cc).
  grpc::Status RetryRuns(grpc::ServerContext* context, const v1::RetryRunsRequest* request,
                         v1::RetryRunsResponse* response) override;

 private:
  absl::Status FillWorker(const db::WorkerRecord& record, v1::Worker* worker);

  Scheduler* scheduler_;
  const size_t max_runs_per_sweep_;
  SubmitLimiter submit_limiter_;
};

}  // namespace flopwise::server
