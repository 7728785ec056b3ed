// What the evaluation tasks need from a model: the log-likelihood of a
// continuation given a context, as lm-evaluation-harness's `loglikelihood`
// request. CheckpointModel (checkpoint_model.h) implements it with a trained
// model; tests use stand-ins.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace flopwise::eval {

struct LoglikelihoodRequest {
  std::vector<int32_t> context;       // conditioning ids; not empty
  std::vector<int32_t> continuation;  // scored ids; not empty
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;

  // For each request, Σ_i log p(continuation[i] | context, continuation[<i])
  // in nats. A request longer than the model's window keeps its last tokens
  // (the context is cut from the left, as the harness does).
  virtual absl::StatusOr<std::vector<double>> Loglikelihoods(
      std::span<const LoglikelihoodRequest> requests) = 0;
};

}  // namespace flopwise::eval
