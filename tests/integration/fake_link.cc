#include "tests/integration/fake_link.h"

namespace flopwise::workerd::testing {

void FakeLink::AddLease(const v1::Lease& lease) {
  absl::MutexLock lock(&mu_);
  pending_.push_back(lease);
}

void FakeLink::SetUnavailable(bool unavailable) {
  absl::MutexLock lock(&mu_);
  unavailable_ = unavailable;
}

void FakeLink::ForgetWorker() {
  absl::MutexLock lock(&mu_);
  forgotten_ = true;
}

void FakeLink::CancelLease(const std::string& lease_id) {
  absl::MutexLock lock(&mu_);
  cancelled_.insert(lease_id);
}

FakeLink::Recorded FakeLink::recorded() const {
  absl::MutexLock lock(&mu_);
  return recorded_;
}

std::vector<v1::MetricPoint> FakeLink::StoredRows(const std::string& lease_id) const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::MetricPoint> out;
  auto it = rows_.find(lease_id);
  if (it == rows_.end()) return out;
  for (const auto& [seq, row] : it->second) out.push_back(row);
  return out;
}

bool FakeLink::Ended(const std::string& lease_id) const {
  absl::MutexLock lock(&mu_);
  return ended_.count(lease_id) > 0;
}

absl::Status FakeLink::Check(const std::string& lease_id) {
  if (unavailable_) {
    ++recorded_.failed_calls;
    return absl::UnavailableError("fake coordinator unreachable");
  }
  if (ended_.count(lease_id) || cancelled_.count(lease_id)) {
    return absl::FailedPreconditionError("lease " + lease_id + ": ended");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::RegisterResponse> FakeLink::Register(const v1::RegisterRequest& request) {
  absl::MutexLock lock(&mu_);
  if (unavailable_) {
    ++recorded_.failed_calls;
    return absl::UnavailableError("fake coordinator unreachable");
  }
  forgotten_ = false;
  ++recorded_.registrations;
  v1::RegisterResponse response;
  response.set_worker_id(request.worker_id().empty() ? "fake-1" : request.worker_id());
  response.set_heartbeat_interval_ms(100);
  response.set_lease_duration_ms(1000);
  return response;
}

absl::StatusOr<v1::HeartbeatResponse> FakeLink::Heartbeat(const v1::HeartbeatRequest& request) {
  absl::MutexLock lock(&mu_);
  if (unavailable_) {
    ++recorded_.failed_calls;
    return absl::UnavailableError("fake coordinator unreachable");
  }
  if (forgotten_) return absl::NotFoundError("worker " + request.worker_id() + ": unknown");
  ++recorded_.heartbeats;
  v1::HeartbeatResponse response;
  for (const v1::LeaseProgress& lease : request.leases()) {
    v1::LeaseInstruction* instruction = response.add_instructions();
    instruction->set_lease_id(lease.lease_id());
    if (cancelled_.count(lease.lease_id())) {
      instruction->set_action(v1::LeaseInstruction::ACTION_CANCEL);
      instruction->set_reason("cancelled by the test");
      ended_.insert(lease.lease_id());
    } else {
      instruction->set_action(v1::LeaseInstruction::ACTION_CONTINUE);
    }
  }
  return response;
}

absl::StatusOr<v1::AcquireRunResponse> FakeLink::AcquireRun(const v1::AcquireRunRequest& request) {
  absl::MutexLock lock(&mu_);
  if (unavailable_) {
    ++recorded_.failed_calls;
    return absl::UnavailableError("fake coordinator unreachable");
  }
  if (forgotten_) return absl::NotFoundError("worker " + request.worker_id() + ": unknown");
  recorded_.acquires.push_back(request);
  v1::AcquireRunResponse response;
  if (pending_.empty()) {
    response.set_retry_after_ms(100);
    return response;
  }
  *response.mutable_lease() = pending_.front();
  pending_.erase(pending_.begin());
  return response;
}

absl::Status FakeLink::ReportMetrics(const v1::ReportMetricsRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Check(request.lease_id()); !s.ok()) return s;
  recorded_.metrics.push_back(request);
  for (const v1::MetricPoint& row : request.rows()) rows_[request.lease_id()][row.seq()] = row;
  return absl::OkStatus();
}

absl::Status FakeLink::ReportCheckpoint(const v1::ReportCheckpointRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Check(request.lease_id()); !s.ok()) return s;
  recorded_.checkpoints.push_back(request);
  return absl::OkStatus();
}

absl::Status FakeLink::CompleteRun(const v1::CompleteRunRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Check(request.lease_id()); !s.ok()) return s;
  recorded_.completes.push_back(request);
  ended_.insert(request.lease_id());
  return absl::OkStatus();
}

absl::Status FakeLink::FailRun(const v1::FailRunRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Check(request.lease_id()); !s.ok()) return s;
  recorded_.fails.push_back(request);
  ended_.insert(request.lease_id());
  return absl::OkStatus();
}

absl::Status FakeLink::ReleaseRun(const v1::ReleaseRunRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Check(request.lease_id()); !s.ok()) return s;
  recorded_.releases.push_back(request);
  ended_.insert(request.lease_id());
  return absl::OkStatus();
}

absl::Status FakeLink::ReportEvalResult(const v1::ReportEvalResultRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Check(request.lease_id()); !s.ok()) return s;
  recorded_.eval_results.push_back(request);
  return absl::OkStatus();
}

absl::Status FakeLink::CompleteEvalJob(const v1::CompleteEvalJobRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Check(request.lease_id()); !s.ok()) return s;
  recorded_.eval_completes.push_back(request);
  ended_.insert(request.lease_id());
  return absl::OkStatus();
}

absl::Status FakeLink::FailEvalJob(const v1::FailEvalJobRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Check(request.lease_id()); !s.ok()) return s;
  recorded_.eval_fails.push_back(request);
  ended_.insert(request.lease_id());
  return absl::OkStatus();
}

absl::Status FakeLink::ReportLogPath(const v1::ReportLogPathRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Check(request.lease_id()); !s.ok()) return s;
  recorded_.log_paths.push_back(request);
  return absl::OkStatus();
}

}  // namespace flopwise::workerd::testing
