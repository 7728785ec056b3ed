// A model as a user asks for it: an architecture, a preset and/or explicit
// shape fields, and model flags. The trainer's command line, the sweep spec and
// the run config (proto ModelShape) all describe a model this way, and this is
// the one place that turns such a description into a ModelConfig.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "models/config.h"
#include "models/model_flags.h"

namespace flopwise::models {

struct ModelRequest {
  std::string arch;    // "llama", "tnl", "hgrn2", "cos2"
  std::string preset;  // empty: an explicit shape (layers, d_model, heads, ffn_dim required)
  // Explicit fields; 0 keeps the preset's value. A new d_model or heads
  // re-derives head_dim, gate_rank and tpe_dim unless they are given too.
  int layers = 0, d_model = 0, heads = 0, head_dim = 0, ffn_dim = 0, gate_rank = 0, tpe_dim = 0;
  int vocab = 0, context = 0;  // required
  ModelFlagValues flags;       // by name; unset flags keep their defaults
};

// The validated config. Errors name the field as "field: reason"
// (InvalidArgument), except an unknown preset: NotFound "preset: ...".
absl::StatusOr<ModelConfig> ResolveModel(const ModelRequest& request);

// The request that resolves to `config` exactly (explicit fields, every flag
// that differs from its default), with `preset` recorded as its origin.
ModelRequest RequestFor(const ModelConfig& config, std::string preset);

}  // namespace flopwise::models
