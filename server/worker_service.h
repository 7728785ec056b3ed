// flopwise.v1.WorkerService over the Scheduler: request checks and status
// translation only (AuthorizedService checks the caller's token, so no
// handler reads its ServerContext). Thread-safe.
#pragma once

#include <string>

#include "flopwise/v1/worker_service.grpc.pb.h"
#include "server/authorized_service.h"
#include "server/scheduler.h"

namespace flopwise::server {

class WorkerServiceImpl final : public HandlersOf<v1::WorkerService::Service> {
 public:
  // `scheduler` must outlive the service.
  WorkerServiceImpl(Scheduler* scheduler, std::string checkpoint_root);

  // Membership: the worker's id, then liveness of it and of its leases.
  grpc::Status Register(grpc::ServerContext*, const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  // A run or an eval job that fits the free resources, or nothing.
  grpc::Status AcquireRun(grpc::ServerContext*, const v1::AcquireRunRequest* request,
                          v1::AcquireRunResponse* response) override;
  // A run's reports and its end; each checks the lease and its attempt.
  grpc::Status ReportMetrics(grpc::ServerContext*, const v1::ReportMetricsRequest* request,
                             v1::ReportMetricsResponse* response) override;
  grpc::Status ReportCheckpoint(grpc::ServerContext*, const v1::ReportCheckpointRequest* request,
                                v1::ReportCheckpointResponse* response) override;
  grpc::Status CompleteRun(grpc::ServerContext*, const v1::CompleteRunRequest* request,
                           v1::CompleteRunResponse* response) override;
  grpc::Status FailRun(grpc::ServerContext*, const v1::FailRunRequest* request,
                       v1::FailRunResponse* response) override;
  grpc::Status ReleaseRun(grpc::ServerContext*, const v1::ReleaseRunRequest* request,
                          v1::ReleaseRunResponse* response) override;
  // An eval job's reports and its end, checked as a run's are.
  grpc::Status ReportEvalResult(grpc::ServerContext*, const v1::ReportEvalResultRequest* request,
                                v1::ReportEvalResultResponse* response) override;
  grpc::Status CompleteEvalJob(grpc::ServerContext*, const v1::CompleteEvalJobRequest* request,
                               v1::CompleteEvalJobResponse* response) override;
  grpc::Status FailEvalJob(grpc::ServerContext*, const v1::FailEvalJobRequest* request,
                           v1::FailEvalJobResponse* response) override;
  grpc::Status ReportLogPath(grpc::ServerContext* context, const v1::ReportLogPathRequest* request,
                             v1::ReportLogPathResponse* response) override;
  // The rendezvous of a data-parallel attempt (Scheduler::rendezvous()).
  grpc::Status RendezvousSet(grpc::ServerContext*, const v1::RendezvousSetRequest* request,
                             v1::RendezvousSetResponse* response) override;
  grpc::Status RendezvousGet(grpc::ServerContext* context, const v1::RendezvousGetRequest* request,
                             v1::RendezvousGetResponse* response) override;

 private:
  Scheduler* scheduler_;
  std::string checkpoint_root_;
};

}  // namespace flopwise::server
