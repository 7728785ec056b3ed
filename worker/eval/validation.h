// The validation task (docs/evaluation.md, "validation"): mean next-token
// loss, perplexity and bits per byte of a model on a fixed, seeded set of
// held-out windows at the run's context. Library flopwise_validation, below
// both the evaluator (a checkpoint's weights) and the trainer (its model at
// every checkpoint, docs/training.md "Validation").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/data/tokenizer.h"
#include "worker/eval/window_scorer.h"

namespace flopwise::eval {

// Default evaluation size: forward-only costs about 1/3 of a training step
// per token (2N against 6N FLOPs; measured 1/2.7 to 1/3.3 on the CPU,
// docs/perf.md), so evaluating 0.12 × the training tokens costs about 4% of
// the run's training compute, inside the 5% target with room for the
// measured spread; capped at kValidationTokenCap, at least one window of
// `context`.
inline constexpr int64_t kValidationTokenCap = int64_t{1} << 20;
int64_t DefaultValidationTokens(int64_t training_tokens, int context);

// The trainer's default at each checkpoint: all of a run's validations
// together within the same 5%, so the 0.12 × `total_tokens` are shared among
// the checkpoints the run writes (ceil(total / checkpoint_every_tokens), one
// when only the final checkpoint is written): DefaultValidationTokens of
// total_tokens / checkpoints.
int64_t CheckpointValidationTokens(int64_t total_tokens, int64_t checkpoint_every_tokens,
                                   int context);

// Windows of `context` that hold at least `tokens` targets (at least one).
int64_t ValidationWindowCount(int64_t tokens, int context);

// The split to read: a dataset folder written by `flopwise data prepare` gives
// its validation split (FailedPrecondition when it has none); anything else
// (a split folder, a shard, a raw token file) is read as it is.
absl::StatusOr<std::string> ValidationSplitPath(const std::string& data_path);

// The held-out split beside training data: the validation split of the
// dataset `training_data` is (a dataset folder) or belongs to (one of its
// split folders). nullopt when there is none: a dataset prepared without one,
// a shard or raw token file, or training data that is the validation split.
absl::StatusOr<std::optional<std::string>> ValidationSplitBeside(const std::string& training_data);

struct ValidationWindows {
  std::vector<int32_t> ids;  // windows × (context + 1): inputs, then the shifted target
  int64_t windows = 0;
  std::string tokenizer;  // from the shard header; "" for raw files
};

// The first `windows` windows of `path` in the seeded order of TokenStream
// (shuffle on), never more than one epoch of distinct windows.
absl::StatusOr<ValidationWindows> ReadValidationWindows(const std::string& path, int context,
                                                        uint64_t seed, int64_t windows);

struct ValidationResult {
  int64_t windows = 0;
  int64_t tokens = 0;     // targets scored
  double loss_nats = 0;   // mean cross-entropy per target
  double perplexity = 0;  // exp(loss_nats)
  int64_t bytes = 0;      // UTF-8 bytes of the decoded targets (end-of-text excluded); 0: unknown
  std::optional<double> bits_per_byte;  // Σ loss / (ln 2 · bytes), with a tokenizer
};

// Scores every window with `model`, batch() windows per forward. Without a
// tokenizer there are no bits per byte.
absl::StatusOr<ValidationResult> EvaluateValidation(WindowScorer* model,
                                                    const ValidationWindows& windows,
                                                    const data::Tokenizer* tokenizer);

}  // namespace flopwise::eval
