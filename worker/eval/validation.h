// The validation task (docs/evaluation.md, "validation"): mean next-token
// loss, perplexity and bits per byte of a checkpoint on a fixed, seeded set of
// held-out windows at the run's context.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/data/tokenizer.h"
#include "worker/eval/checkpoint_model.h"

namespace flopwise::eval {

// Default evaluation size: forward-only costs about 1/3 of a training step
// per token (2N against 6N FLOPs), so evaluating 0.15 × the training tokens
// costs 5% of the run's training compute; capped at kValidationTokenCap, at
// least one window of `context`.
inline constexpr int64_t kValidationTokenCap = int64_t{1} << 20;
int64_t DefaultValidationTokens(int64_t training_tokens, int context);

// The split to read: a dataset folder written by `flopwise data prepare` gives
// its validation split (FailedPrecondition when it has none); anything else
// (a split folder, a shard, a raw token file) is read as it is.
absl::StatusOr<std::string> ValidationSplitPath(const std::string& data_path);

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
absl::StatusOr<ValidationResult> EvaluateValidation(CheckpointModel* model,
                                                    const ValidationWindows& windows,
                                                    const data::Tokenizer* tokenizer);

}  // namespace flopwise::eval
