// The trainer's stdout protocol (flopwise-train, docs/training.md "Progress
// protocol"), and the "eval" lines of flopwise-train eval (docs/evaluation.md):
// one JSON object per line. ParseTrainerLine turns one line into a TrainerEvent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace flopwise::workerd {

enum class TrainerEventKind {
  kStart,
  kProgress,
  kCheckpoint,
  kDone,
  kDiverged,
  kStopped,
  kError,
  kEval,
};

struct TrainerEvent {
  TrainerEventKind kind = TrainerEventKind::kProgress;
  int64_t step = 0;
  int64_t tokens = 0;
  double flops = 0;
  double loss = 0;  // NaN when the trainer wrote null, "nan" or "inf"
  double lr = 0;
  double grad_norm = 0;
  double tokens_per_s = 0;
  int64_t resumed_from_step = -1;  // start: -1 for a fresh run
  int64_t total_tokens = 0;        // start
  std::string path;                // checkpoint directory
  std::string sha256;              // checkpoint: hex of model.safetensors
  // checkpoint: the trainer's validation (validation_tokens 0: none ran; the
  // two values NaN then, and bits per byte NaN without a tokenizer).
  double validation_loss = 0;
  double validation_bits_per_byte = 0;
  int64_t validation_tokens = 0;
  std::string message;  // error
  // eval: the task, its metrics flattened to numbers ("loss",
  // "accuracy_at_length[2]", "scores[1][0]", plus "forward_tokens" and
  // "seconds"; text values are left out) and the files it wrote.
  std::string task;
  std::vector<std::pair<std::string, double>> metrics;
  std::vector<std::string> figures;
};

// InvalidArgument naming the problem (not JSON, unknown event, a required
// field missing or of the wrong type) for a line that is not a valid event.
absl::StatusOr<TrainerEvent> ParseTrainerLine(std::string_view line);

}  // namespace flopwise::workerd
