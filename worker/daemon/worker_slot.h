// Private to the worker daemon: one lease the worker holds (a run, or an eval
// job), its child process, its reports and what the worker knows of it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "worker/daemon/report_queue.h"
#include "worker/daemon/trainer_process.h"
#include "worker/daemon/worker.h"

namespace flopwise::workerd {

struct Worker::Slot {
  Slot(const v1::Lease& l, const BackoffOptions& backoff)
      : lease(l), queue(l.lease_id(), l.attempt(), backoff) {}
  Slot(const v1::EvalLease& e, const BackoffOptions& backoff)
      : eval(e), queue(e.lease_id(), e.attempt(), backoff) {}

  // For logs: "run 3 (llama-cpu-1-ctx64) attempt 1" or "eval job 7 (run 3,
  // step 40) lease 1".
  std::string Describe() const {
    if (eval.has_value()) {
      return absl::StrCat("eval job ", eval->job_id(), " (run ", eval->run_id(), ", step ",
                          eval->checkpoint_step(), ") lease ", eval->attempt());
    }
    return absl::StrCat("run ", lease.run_id(), " (", lease.run_name(), ") attempt ",
                        lease.attempt());
  }

  v1::Lease lease;                    // a run's lease (empty for an eval job)
  std::optional<v1::EvalLease> eval;  // an eval job's lease
  ReportQueue queue;
  std::unique_ptr<TrainerProcess> trainer;  // null when it could not start
  std::string log_path;                     // the child's stderr
  int threads = 0;                          // the trainer's --threads
  int cores = 0;                            // counted as taken: the threads or the cores granted
  int64_t memory_bytes = 0;                 // host memory counted as taken
  std::vector<int> gpu_indices;

  v1::LeaseProgress progress;
  std::optional<TrainerEvent> done;
  bool diverged = false;
  int64_t diverged_step = 0;
  bool stopped_event = false;
  std::string error_message;

  std::string stop_reason;   // why the worker sent SIGTERM (empty: it did not)
  bool lease_ended = false;  // the coordinator ended the lease: report nothing more
  bool exited = false;       // the child ended and its final report is queued
  bool reported = false;     // the final report was accepted
};

}  // namespace flopwise::workerd
