// CoordinatorMetrics: the coordinator's /metrics page in the Prometheus text
// format (docs/operations.md, "Metrics"): runs and sweeps by state, queue
// depth, leases, workers by condition, metric rows ingested and stored, RPC
// latency per method, database size, tokens/s per worker and running run,
// and the GPUs' memory workers registered. Thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "server/rpc_latencies.h"
#include "server/scheduler.h"

namespace flopwise::server {

class CoordinatorMetrics {
 public:
  // Reads `scheduler` (and its store), the database file at `db_path` and
  // `latencies`; all must outlive this.
  CoordinatorMetrics(Scheduler* scheduler, std::string db_path, const RpcLatencies* latencies);

  // The page as of now; the store's error when it cannot be read.
  absl::StatusOr<std::string> Render() const;

 private:
  Scheduler* const scheduler_;
  const std::string db_path_;
  const RpcLatencies* const latencies_;
};

}  // namespace flopwise::server
