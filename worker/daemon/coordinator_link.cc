#include "worker/daemon/coordinator_link.h"

#include "client/channel.h"
#include "client/errors.h"

namespace flopwise::workerd {
namespace {

class GrpcCoordinatorLink : public CoordinatorLink {
 public:
  GrpcCoordinatorLink(std::shared_ptr<grpc::Channel> channel, std::string token, int64_t timeout_ms)
      : stub_(v1::WorkerService::NewStub(channel)),
        token_(std::move(token)),
        timeout_ms_(timeout_ms) {}

  absl::StatusOr<v1::RegisterResponse> Register(const v1::RegisterRequest& request) override {
    return Call(&v1::WorkerService::Stub::Register, request);
  }
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request) override {
    return Call(&v1::WorkerService::Stub::Heartbeat, request);
  }
  absl::StatusOr<v1::AcquireRunResponse> AcquireRun(const v1::AcquireRunRequest& request) override {
    return Call(&v1::WorkerService::Stub::AcquireRun, request);
  }
  absl::Status ReportMetrics(const v1::ReportMetricsRequest& request) override {
    return Call(&v1::WorkerService::Stub::ReportMetrics, request).status();
  }
  absl::Status ReportCheckpoint(const v1::ReportCheckpointRequest& request) override {
    return Call(&v1::WorkerService::Stub::ReportCheckpoint, request).status();
  }
  absl::Status CompleteRun(const v1::CompleteRunRequest& request) override {
    return Call(&v1::WorkerService::Stub::CompleteRun, request).status();
  }
  absl::Status FailRun(const v1::FailRunRequest& request) override {
    return Call(&v1::WorkerService::Stub::FailRun, request).status();
  }
  absl::Status ReleaseRun(const v1::ReleaseRunRequest& request) override {
    return Call(&v1::WorkerService::Stub::ReleaseRun, request).status();
  }
  absl::Status ReportEvalResult(const v1::ReportEvalResultRequest& request) override {
    return Call(&v1::WorkerService::Stub::ReportEvalResult, request).status();
  }
  absl::Status CompleteEvalJob(const v1::CompleteEvalJobRequest& request) override {
    return Call(&v1::WorkerService::Stub::CompleteEvalJob, request).status();
  }
  absl::Status FailEvalJob(const v1::FailEvalJobRequest& request) override {
    return Call(&v1::WorkerService::Stub::FailEvalJob, request).status();
  }
  absl::Status ReportLogPath(const v1::ReportLogPathRequest& request) override {
    return Call(&v1::WorkerService::Stub::ReportLogPath, request).status();
  }

 private:
  // Calls one unary method of the stub: Method is a pointer to
  // Stub::Name(ClientContext*, const Request&, Response*).
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (v1::WorkerService::Stub::*method)(
                                    grpc::ClientContext*, const Request&, Response*),
                                const Request& request) {
    grpc::ClientContext context;
    client::PrepareContext(&context, token_, timeout_ms_);
    Response response;
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) return client::FromGrpc(status);
    return response;
  }

  std::unique_ptr<v1::WorkerService::Stub> stub_;
  const std::string token_;
  const int64_t timeout_ms_;
};

}  // namespace

std::unique_ptr<CoordinatorLink> NewGrpcCoordinatorLink(std::shared_ptr<grpc::Channel> channel,
                                                        std::string token, int64_t timeout_ms) {
  return std::make_unique<GrpcCoordinatorLink>(std::move(channel), std::move(token), timeout_ms);
}

}  // namespace flopwise::workerd
