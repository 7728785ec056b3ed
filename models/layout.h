// Where each parameter lives in a model's flat parameter arena, and how many
// floats the trainer's arenas take. Pure arithmetic on a ModelConfig.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/config.h"

namespace flopwise::models {

// One named tensor of architectures.md §12. `shape` is the checkpoint shape;
// `offset` counts floats from the start of the parameter arena. The embedding
// occupies padded_vocab() rows in memory (the extra rows stay zero) and is
// stored with `vocab` rows.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset = 0;
  bool weight_decay = true;  // false for norm gains, lower_bound, theta, tpe.B
  int64_t numel() const;
};

// All parameter tensors in arena order; the embedding comes first.
std::vector<TensorSpec> ParamTensors(const ModelConfig& config);

// Floats in the parameter arena (embedding with padded rows).
int64_t ParamFloats(const ModelConfig& config);

// Floats in the activation arena for `batch_tokens` tokens per micro-step
// (what forward stores for backward plus backward's scratch and the loss
// slices), as the CPU Model allocates it.
int64_t ActivationFloats(const ModelConfig& config, int64_t batch_tokens);

}  // namespace flopwise::models
