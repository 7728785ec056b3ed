// Scheduler::Gauges: what the coordinator's metrics read of the scheduler.
#include <algorithm>
#include <utility>

#include "server/scheduler.h"

namespace flopwise::server {

SchedulerGauges Scheduler::Gauges() {
  absl::MutexLock lock(&mu_);
  SchedulerGauges gauges;
  gauges.queued_runs = queue_.size();
  gauges.queued_eval_jobs = eval_queue_.size();
  gauges.run_leases = leases_.size();
  gauges.eval_leases = eval_leases_.size();
  gauges.metric_rows_ingested = metric_rows_ingested_;
  for (const auto& [lease_id, lease] : leases_) {
    RunningRun run{
        .run_id = lease.run_id, .sweep_id = lease.sweep_id, .worker_id = lease.worker_id};
    auto progress = progress_.find(lease.run_id);
    if (progress != progress_.end() && progress->second.attempt == lease.attempt) {
      run.tokens = progress->second.tokens;
      run.tokens_per_s = progress->second.tokens_per_s;
    }
    gauges.running.push_back(std::move(run));
  }
  std::sort(gauges.running.begin(), gauges.running.end(),
            [](const RunningRun& a, const RunningRun& b) { return a.run_id < b.run_id; });
  return gauges;
}

}  // namespace flopwise::server
