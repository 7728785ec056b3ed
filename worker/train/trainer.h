// The training loop behind `flopwise-train` (docs/training.md): builds the
// model, resumes from RUN_DIR's newest checkpoint, trains with AdamW and
// reports progress as JSON events.
#pragma once

#include <atomic>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"

#include "worker/train/options.h"

namespace flopwise::train {

// Exit codes of flopwise-train.
inline constexpr int kExitDone = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitDiverged = 3;
inline constexpr int kExitStopped = 4;
inline constexpr int kExitOutOfMemory = 5;

// The exit code of a run or command that failed with `status`:
// kExitOutOfMemory for ResourceExhausted (the model does not fit the
// machine's memory), kExitError otherwise.
int ExitCodeOf(const absl::Status& status);

// Receives each event ("start", "progress", "checkpoint", "done", "diverged",
// "stopped", "error") as one JSON object.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Emit(const nlohmann::json& event) = 0;
};

// Runs (or resumes) the training run of `options`; returns one of the exit
// codes above after emitting the matching final event. `stop_requested` is
// polled after every optimizer step (set it from a signal handler).
int RunTraining(const TrainOptions& options, EventSink* sink,
                const std::atomic<bool>* stop_requested);

}  // namespace flopwise::train
