// UserService's RetryRuns (docs/api.md, "UserService"): a sweep's failed and
// diverged runs back to pending with a fresh attempt budget.
#include <algorithm>
#include <set>
#include <vector>

#include "base/str_cat.h"
#include "server/proto_convert.h"
#include "server/user_service.h"

namespace flopwise::server {

grpc::Status UserServiceImpl::RetryRuns(grpc::ServerContext* context,
                                        const v1::RetryRunsRequest* request,
                                        v1::RetryRunsResponse* response) {
  if (request->sweep_id() <= 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "sweep_id: required");
  }
  std::set<int64_t> listed;
  for (int i = 0; i < request->run_ids_size(); ++i) {
    const int64_t run_id = request->run_ids(i);
    if (run_id <= 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          Cat("run_ids[", i, "]: must be a run id (> 0), got ", run_id));
    }
    if (!listed.insert(run_id).second) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          Cat("run_ids[", i, "]: run ", run_id, " is listed twice"));
    }
  }
  const std::vector<int64_t> run_ids(request->run_ids().begin(), request->run_ids().end());
  auto retried = scheduler_->RetryRuns(request->sweep_id(), run_ids);
  if (!retried.ok()) return ToGrpcStatus(retried.status());
  std::vector<db::RunRecord> runs = std::move(retried->runs);
  std::sort(runs.begin(), runs.end(),
            [](const db::RunRecord& a, const db::RunRecord& b) { return a.run_id < b.run_id; });
  response->set_sweep_id(request->sweep_id());
  response->set_sweep_reopened(retried->sweep_reopened);
  for (const db::RunRecord& record : runs) {
    // Pending again: no live progress to overlay.
    if (absl::Status status = RunRecordToRun(record, nullptr, response->add_runs()); !status.ok()) {
      return ToGrpcStatus(status);
    }
  }
  return grpc::Status::OK;
}

}  // namespace flopwise::server
