#include "client/workers.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/format.h"
#include "client/pages.h"

namespace flopwise::client {

namespace v1 = ::flopwise::v1;

absl::StatusOr<std::vector<v1::Worker>> ListWorkers(const UserConnection& connection) {
  std::vector<v1::Worker> workers;
  const absl::Status status =
      ForEachPage(connection, &v1::UserService::StubInterface::ListWorkers,
                  v1::ListWorkersRequest(), [&](v1::ListWorkersResponse& page) {
                    for (v1::Worker& worker : *page.mutable_workers()) {
                      workers.push_back(std::move(worker));
                    }
                    return absl::OkStatus();
                  });
  if (!status.ok()) return status;
  return workers;
}

absl::StatusOr<v1::Worker> SetDraining(const UserConnection& connection,
                                       const std::string& worker_id, bool draining) {
  v1::SetDrainingRequest request;
  request.set_worker_id(worker_id);
  request.set_draining(draining);
  auto response = Call(connection, &v1::UserService::Stub::SetDraining, request);
  if (!response.ok()) return response.status();
  return response->worker();
}

std::string WorkerTable(std::span<const v1::Worker> workers, int64_t now_ms) {
  std::string out = absl::StrFormat("%-24s %-20s %5s %9s %5s %-9s %9s %s\n", "worker", "host",
                                    "cores", "memory", "gpus", "state", "heartbeat", "runs");
  for (const v1::Worker& worker : workers) {
    const char* state = !worker.alive() ? "lost" : worker.draining() ? "draining" : "alive";
    const std::string runs = absl::StrJoin(worker.running_run_ids(), ",");
    absl::StrAppendFormat(&out, "%-24s %-20s %5d %8.1fG %5d %-9s %9s %s\n", worker.worker_id(),
                          worker.hostname(), worker.inventory().cpu_cores(),
                          static_cast<double>(worker.inventory().memory_bytes()) / (1 << 30),
                          worker.gpus_size(), state,
                          ShortDuration((now_ms - worker.last_heartbeat_ms()) / 1000.0) + " ago",
                          runs.empty() ? "-" : runs);
  }
  return out;
}

std::string DrainText(const v1::Worker& worker) {
  return absl::StrFormat("worker %s: %s (%d runs still running)\n", worker.worker_id(),
                         worker.draining() ? "draining, takes no new runs" : "takes runs again",
                         worker.running_run_ids_size());
}

}  // namespace flopwise::client
