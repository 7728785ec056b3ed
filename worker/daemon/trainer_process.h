// One running trainer: the child process plus a thread that reads its stdout
// and parses every line into a TrainerEvent for the worker's main loop.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "worker/daemon/child_process.h"
#include "worker/daemon/trainer_event.h"

namespace flopwise::workerd {

// Thread-safe.
class TrainerProcess {
 public:
  // Spawns the trainer (stdout captured). `on_event` is called from the
  // reader thread after each new event and at end of output (to wake the
  // caller's loop); it must not call back into this object.
  static absl::StatusOr<std::unique_ptr<TrainerProcess>> Start(SpawnOptions options,
                                                               std::function<void()> on_event);

  // Kills the process group if the trainer still runs, joins the reader.
  ~TrainerProcess();

  // Events parsed since the last call, in order. Lines that are not valid
  // events are logged and skipped.
  std::vector<TrainerEvent> TakeEvents() ABSL_LOCKS_EXCLUDED(mu_);
  // True once the trainer closed its stdout and every event was read.
  bool output_closed() const ABSL_LOCKS_EXCLUDED(mu_);

  void Signal(int signal) ABSL_LOCKS_EXCLUDED(child_mu_);
  std::optional<ExitStatus> TryWait() ABSL_LOCKS_EXCLUDED(child_mu_);
  pid_t pid() const { return child_->pid(); }

 private:
  TrainerProcess(std::unique_ptr<ChildProcess> child, std::function<void()> on_event);
  void ReadLoop() ABSL_LOCKS_EXCLUDED(mu_);

  std::unique_ptr<ChildProcess> child_;
  std::function<void()> on_event_;
  mutable absl::Mutex mu_;
  std::vector<TrainerEvent> events_ ABSL_GUARDED_BY(mu_);
  bool output_closed_ ABSL_GUARDED_BY(mu_) = false;
  // Serialises child_'s Signal() and TryWait() (a reaped pid must not be
  // signalled); its pid and output need no lock.
  absl::Mutex child_mu_;
  std::thread reader_;
};

}  // namespace flopwise::workerd
