// An in-memory coordinator for the worker daemon's tests: grants the leases
// it is given, records every report, and can play unreachable, forget the
// worker, or cancel a lease.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "worker/daemon/coordinator_link.h"

namespace flopwise::workerd::testing {

// Thread-safe.
class FakeLink : public CoordinatorLink {
 public:
  void AddLease(const v1::Lease& lease);
  void SetUnavailable(bool unavailable);
  // The next Heartbeat/AcquireRun answers NOT_FOUND (a restarted coordinator).
  void ForgetWorker();
  void CancelLease(const std::string& lease_id);

  struct Recorded {
    std::vector<v1::ReportMetricsRequest> metrics;
    std::vector<v1::ReportCheckpointRequest> checkpoints;
    std::vector<v1::CompleteRunRequest> completes;
    std::vector<v1::FailRunRequest> fails;
    std::vector<v1::ReleaseRunRequest> releases;
    std::vector<v1::AcquireRunRequest> acquires;
    std::vector<v1::ReportEvalResultRequest> eval_results;
    std::vector<v1::CompleteEvalJobRequest> eval_completes;
    std::vector<v1::FailEvalJobRequest> eval_fails;
    std::vector<v1::ReportLogPathRequest> log_paths;
    int registrations = 0;
    int heartbeats = 0;
    int failed_calls = 0;
  };
  Recorded recorded() const;
  // Metric rows of one lease as stored: deduplicated by seq, in seq order.
  std::vector<v1::MetricPoint> StoredRows(const std::string& lease_id) const;
  bool Ended(const std::string& lease_id) const;

  absl::StatusOr<v1::RegisterResponse> Register(const v1::RegisterRequest& request) override;
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request) override;
  absl::StatusOr<v1::AcquireRunResponse> AcquireRun(const v1::AcquireRunRequest& request) override;
  absl::Status ReportMetrics(const v1::ReportMetricsRequest& request) override;
  absl::Status ReportCheckpoint(const v1::ReportCheckpointRequest& request) override;
  absl::Status CompleteRun(const v1::CompleteRunRequest& request) override;
  absl::Status FailRun(const v1::FailRunRequest& request) override;
  absl::Status ReleaseRun(const v1::ReleaseRunRequest& request) override;
  absl::Status ReportEvalResult(const v1::ReportEvalResultRequest& request) override;
  absl::Status CompleteEvalJob(const v1::CompleteEvalJobRequest& request) override;
  absl::Status FailEvalJob(const v1::FailEvalJobRequest& request) override;
  absl::Status ReportLogPath(const v1::ReportLogPathRequest& request) override;

 private:
  // Unavailable while unreachable, FailedPrecondition for an ended lease.
  absl::Status Check(const std::string& lease_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<v1::Lease> pending_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> cancelled_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> ended_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<int64_t, v1::MetricPoint>> rows_ ABSL_GUARDED_BY(mu_);
  bool unavailable_ ABSL_GUARDED_BY(mu_) = false;
  bool forgotten_ ABSL_GUARDED_BY(mu_) = false;
  Recorded recorded_ ABSL_GUARDED_BY(mu_);
};

}  // namespace flopwise::workerd::testing
