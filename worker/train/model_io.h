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

// The model config a weights file describes, with `context` set. The one
// place every loader (check, eval, resume) reads a config from a file: the
// metadata is held to the file's tensor table (layer count, the dimensions
// the tensors show, then every tensor and shape) before anything is sized
// from it. Returns InvalidArgument naming the file and the missing or bad key
// (`__metadata__.config.layers: 1000000000 but the file has 2 layers of
// tensors`) or tensor.
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
// shape mismatch, an unexpected extra tensor (among the names that start
// with `prefix`; other names belong to another arena and are skipped) or a
// value that is NaN or infinite.
absl::Status ReadArena(const SafetensorsFile& file, const std::string& prefix, Arena arena,
                       models::Model* model);

}  // namespace flopwise::train
