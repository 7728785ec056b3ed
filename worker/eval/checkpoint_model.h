// A trained model loaded from model.safetensors for evaluation: forward only
// (Model::Forward; no backward, no optimizer step), CPU backend, a fixed
// window of `context` tokens and `batch` windows per forward.
//
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "models/model.h"
#include "worker/eval/language_model.h"

namespace flopwise::eval {

class CheckpointModel final : public LanguageModel {
 public:
  // Reads the weights and their arch/config metadata (docs/checkpoints.md).
  // InvalidArgument/NotFound name the file.
  static absl::StatusOr<std::unique_ptr<CheckpointModel>> Load(const std::string& weights_path,
                                                               int context, int batch, int threads);

  const models::ModelConfig& config() const { return model_->config(); }
  int context() const { return model_->config().context; }
  int batch() const { return model_->batch(); }
  // Token positions forwarded so far, padding included: the evaluation's cost.
  int64_t forward_tokens() const { return forward_tokens_; }

  // `windows` holds up to batch() rows of context + 1 ids (inputs, then the
  // shifted target, as `flopwise-train check` reads them). Replaces `losses`
  // with the per-target cross-entropy (nats), rows × context.
  absl::Status WindowLosses(std::span<const int32_t> windows, std::vector<float>* losses);

  absl::StatusOr<std::vector<double>> Loglikelihoods(
      std::span<const LoglikelihoodRequest> requests) override;

 private:
  CheckpointModel(std::unique_ptr<kernels::Backend> backend, std::unique_ptr<models::Model> model)
      : backend_(std::move(backend)), model_(std::move(model)) {}

  std::unique_ptr<kernels::Backend> backend_;
  std::unique_ptr<models::Model> model_;
  int64_t forward_tokens_ = 0;
  std::vector<int32_t> inputs_, targets_;  // [batch, context] host staging
};

}  // namespace flopwise::eval
