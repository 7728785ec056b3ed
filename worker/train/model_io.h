// Moving a Model's arenas to and from safetensors files with the tensor names
// of docs/model-contract.md §12 (model weights, gradients, AdamW moments).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/config.h"
#include "models/model.h"
#include "worker/train/safetensors.h"

namespace flopwise::train {

// "arch" and "config" (JSON: the seven integer keys layers, d_model, heads,
// ffn_dim, vocab, gate_rank, tpe_dim, plus every model flag that applies to
// the architecture and differs from its default, models/model_flags.h).
Metadata ModelMetadata(const models::ModelConfig& config);

// The model config a weights file describes, with `context` set. Returns
// InvalidArgument naming the file and the missing or bad key.
absl::StatusOr<models::ModelConfig> ConfigFromMetadata(const SafetensorsFile& file, int context);

enum class Arena { kParams, kGrads, kAdamM, kAdamV };

struct ArenaPart {
  Arena arena;
  std::string prefix;  // prepended to every tensor name, e.g. "adam_m."
};

// Writes every §12 tensor of each part's arena to one file at `path` (the
// embedding with `vocab` rows), with ModelMetadata.
absl::Status WriteArenas(models::Model& model, const std::vector<ArenaPart>& parts,
                         const std::string& path);

// Loads every §12 tensor (names prefixed by `prefix`) from `file` into
// `arena`. Returns InvalidArgument naming the tensor for a missing tensor, a
// shape mismatch or an unexpected extra tensor (among the names that start
// with `prefix`; other names belong to another arena and are skipped).
absl::Status ReadArena(const SafetensorsFile& file, const std::string& prefix, Arena arena,
                       models::Model* model);

}  // namespace flopwise::train
