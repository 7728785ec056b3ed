// A trained model loaded from model.safetensors for evaluation: forward only
// (WindowScorer over Model::Forward; no backward, no optimizer step), CPU
// backend, a fixed window of `context` tokens and `batch` windows per forward.
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
#include "worker/eval/window_scorer.h"

namespace flopwise::eval {

class CheckpointModel final : public WindowScorer, public LanguageModel {
 public:
  // Reads the weights and their arch/config metadata (docs/checkpoints.md).
  // InvalidArgument/NotFound name the file.
  static absl::StatusOr<std::unique_ptr<CheckpointModel>> Load(const std::string& weights_path,
                                                               int context, int batch, int threads);

  const models::ModelConfig& config() const { return model_->config(); }

  absl::StatusOr<std::vector<double>> Loglikelihoods(
      std::span<const LoglikelihoodRequest> requests) override;

 private:
  // The scorer borrows `model` before the members take it over.
  CheckpointModel(std::unique_ptr<kernels::Backend> backend, std::unique_ptr<models::Model> model)
      : WindowScorer(model.get()), backend_(std::move(backend)), model_(std::move(model)) {}

  std::unique_ptr<kernels::Backend> backend_;
  std::unique_ptr<models::Model> model_;
};

}  // namespace flopwise::eval
