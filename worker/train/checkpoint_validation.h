// Validation at every checkpoint (docs/training.md "Validation"): the run's
// held-out windows, chosen once when the run starts, scored with the model
// being trained through the evaluator's validation code (worker/eval/
// validation.h), forward only. Every checkpoint of every run of a context
// scores the same windows (a fixed seed, not the training seed), so the
// validation curve and the runs of a sweep compare like with like.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "models/model.h"
#include "worker/data/tokenizer.h"
#include "worker/eval/validation.h"
#include "worker/eval/window_scorer.h"
#include "worker/train/options.h"

namespace flopwise::train {

// The validation windows' seed: the evaluator's default --seed, so that
// `flopwise-train eval --tasks validation` scores the same windows.
inline constexpr uint64_t kCheckpointValidationSeed = 1;

class CheckpointValidation {
 public:
  // Reads the held-out windows for `model` (the trainer's; it must outlive the
  // result): --validation-data, else the validation split beside --data;
  // --validation-tokens, else CheckpointValidationTokens(total_tokens, ...).
  // Returns nullptr, with one warning line on stderr, when --data has no
  // validation split beside it (or --no-validation): the run trains without
  // validation. A --validation-data that cannot be read, or ids outside the
  // model's vocabulary, are errors naming the flag.
  static absl::StatusOr<std::unique_ptr<CheckpointValidation>> Open(const TrainOptions& options,
                                                                    int64_t total_tokens,
                                                                    models::Model* model);

  // Scores every window with the model's current weights. Leaves parameters,
  // gradients, AdamW moments, the data position and the RNG as they were.
  absl::StatusOr<eval::ValidationResult> Evaluate();

 private:
  CheckpointValidation(eval::ValidationWindows windows, std::unique_ptr<data::Tokenizer> tokenizer,
                       models::Model* model)
      : windows_(std::move(windows)), tokenizer_(std::move(tokenizer)), scorer_(model) {}

  eval::ValidationWindows windows_;
  std::unique_ptr<data::Tokenizer> tokenizer_;  // nullptr: no bits per byte
  eval::WindowScorer scorer_;
};

}  // namespace flopwise::train
