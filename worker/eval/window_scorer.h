// Per-target losses of whole windows through a model's forward pass only (no
// backward, no optimizer step): what validation sums. The model is borrowed,
// so the trainer can score held-out windows with the model it is training
// (worker/train) and the evaluator with one loaded from a checkpoint
// (CheckpointModel).
//
// A forward overwrites only the model's activations and token_losses(), which
// the next training step recomputes from scratch: parameters, gradients and
// AdamW moments are left as they were.
//
// Not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "models/model.h"

namespace flopwise::eval {

class WindowScorer {
 public:
  // `model` must outlive the scorer.
  explicit WindowScorer(models::Model* model);

  int context() const { return model_->config().context; }
  int batch() const { return model_->batch(); }
  // Token positions forwarded so far, padding included: the evaluation's cost.
  int64_t forward_tokens() const { return forward_tokens_; }

  // `windows` holds up to batch() rows of context + 1 ids (inputs, then the
  // shifted target, as `flopwise-train check` reads them). Replaces `losses`
  // with the per-target cross-entropy (nats), rows × context. Rows short of
  // batch() are padded with id 0 and cost a full forward.
  absl::Status WindowLosses(std::span<const int32_t> windows, std::vector<float>* losses);

 private:
  models::Model* model_;
  int64_t forward_tokens_ = 0;
  std::vector<int32_t> inputs_, targets_;  // [batch, context] host staging
};

}  // namespace flopwise::eval
