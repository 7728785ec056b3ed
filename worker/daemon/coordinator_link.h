// The worker's view of the coordinator's WorkerService: one method per RPC,
// errors as absl::Status. The gRPC implementation adds the bearer token and a
// deadline to every call; tests substitute a fake.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "grpcpp/channel.h"

namespace flopwise::workerd {

namespace v1 = ::flopwise::v1;

// Implementations are thread-safe.
class CoordinatorLink {
 public:
  virtual ~CoordinatorLink() = default;
  virtual absl::StatusOr<v1::RegisterResponse> Register(const v1::RegisterRequest& request) = 0;
  virtual absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request) = 0;
  virtual absl::StatusOr<v1::AcquireRunResponse> AcquireRun(
      const v1::AcquireRunRequest& request) = 0;
  virtual absl::Status ReportMetrics(const v1::ReportMetricsRequest& request) = 0;
  virtual absl::Status ReportCheckpoint(const v1::ReportCheckpointRequest& request) = 0;
  virtual absl::Status CompleteRun(const v1::CompleteRunRequest& request) = 0;
  virtual absl::Status FailRun(const v1::FailRunRequest& request) = 0;
  virtual absl::Status ReleaseRun(const v1::ReleaseRunRequest& request) = 0;
  virtual absl::Status ReportEvalResult(const v1::ReportEvalResultRequest& request) = 0;
  virtual absl::Status CompleteEvalJob(const v1::CompleteEvalJobRequest& request) = 0;
  virtual absl::Status FailEvalJob(const v1::FailEvalJobRequest& request) = 0;
  virtual absl::Status ReportLogPath(const v1::ReportLogPathRequest& request) = 0;
};

// Every call carries `authorization: Bearer <token>` and a deadline of
// timeout_ms.
std::unique_ptr<CoordinatorLink> NewGrpcCoordinatorLink(std::shared_ptr<grpc::Channel> channel,
                                                        std::string token, int64_t timeout_ms);

}  // namespace flopwise::workerd
