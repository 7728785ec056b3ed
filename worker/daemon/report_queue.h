// The reports of one lease, in the order the trainer produced them, waiting
// to reach the coordinator. Progress rows are batched; a failed send is
// retried with exponential backoff and nothing is dropped while the
// coordinator is unreachable. Sequence numbers are per attempt: metric rows and
// checkpoints each count from 0.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "worker/daemon/backoff.h"
#include "worker/daemon/coordinator_link.h"
#include "worker/daemon/trainer_event.h"

namespace flopwise::workerd {

// Not thread-safe: owned by the worker's main loop.
class ReportQueue {
 public:
  ReportQueue(std::string lease_id, int attempt, const BackoffOptions& backoff,
              int max_rows_per_batch = 500);

  // Enqueue the trainer's events (start, progress, checkpoint) and the final
  // report of the attempt. Nothing is enqueued after a final report.
  // Where the trainer's log is (a path on this machine): the first report.
  void AddLogPath(const std::string& log_path);
  void AddStart(int64_t resumed_from_step);
  void AddProgress(const TrainerEvent& event);
  void AddCheckpoint(const TrainerEvent& event);
  void AddComplete(const TrainerEvent& done);
  void AddFail(const std::string& reason, bool diverged);
  void AddRelease(const std::string& reason);
  // An eval lease's reports: one per task, then one final report.
  void AddEvalResult(const TrainerEvent& eval);
  void AddEvalComplete();
  void AddEvalFail(const std::string& reason, bool retry);

  enum class FlushResult {
    kIdle,        // everything sent (or nothing to send yet)
    kWaiting,     // a send failed transiently; retry at retry_at_ms()
    kLeaseEnded,  // the coordinator no longer knows the lease: stop the run
    kFinished,    // the final report was accepted
  };
  // Sends queued reports in order until one fails or the queue is empty.
  // Does nothing (returns kWaiting) before retry_at_ms.
  FlushResult Flush(CoordinatorLink& link, int64_t now_ms);

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  int64_t retry_at_ms() const { return retry_at_ms_; }
  bool final_queued() const { return final_queued_; }
  // The status of the last failed send (OK when the last send succeeded).
  const absl::Status& last_error() const { return last_error_; }

 private:
  using Item =
      std::variant<v1::ReportMetricsRequest, v1::ReportCheckpointRequest, v1::CompleteRunRequest,
                   v1::FailRunRequest, v1::ReleaseRunRequest, v1::ReportEvalResultRequest,
                   v1::CompleteEvalJobRequest, v1::FailEvalJobRequest, v1::ReportLogPathRequest>;

  v1::ReportMetricsRequest& OpenMetricsBatch();
  absl::Status Send(CoordinatorLink& link, const Item& item);

  const std::string lease_id_;
  const int attempt_;
  const int max_rows_per_batch_;
  std::deque<Item> items_;
  int64_t next_metric_seq_ = 0;
  int64_t next_checkpoint_seq_ = 0;
  bool final_queued_ = false;
  bool finished_ = false;
  Backoff backoff_;
  int64_t retry_at_ms_ = 0;
  absl::Status last_error_;
};

}  // namespace flopwise::workerd
