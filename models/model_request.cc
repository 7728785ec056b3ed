#include "models/model_request.h"

#include "models/presets.h"

namespace flopwise::models {

absl::StatusOr<ModelConfig> ResolveModel(const ModelRequest& r) {
  if (r.arch.empty()) return absl::InvalidArgumentError("arch: required (llama, tnl, hgrn2, cos2)");
  absl::StatusOr<Arch> arch = ParseArch(r.arch);
  if (!arch.ok()) return arch.status();
  if (r.vocab <= 0) return absl::InvalidArgumentError("vocab: required and positive");
  if (r.context <= 0) return absl::InvalidArgumentError("context: required and positive");
  ModelConfig c;
  if (!r.preset.empty()) {
    absl::StatusOr<ModelConfig> preset = FindPreset(*arch, r.preset, r.vocab, r.context);
    if (!preset.ok()) return preset.status();
    c = *preset;
  } else if (r.layers == 0 || r.d_model == 0 || r.heads == 0 || r.ffn_dim == 0) {
    return absl::InvalidArgumentError(
        "preset: required unless layers, d_model, heads and ffn_dim are all given");
  } else {
    c.arch = *arch;
    c.vocab = r.vocab;
    c.context = r.context;
  }
  if (absl::Status s = ApplyModelFlags(r.flags, &c); !s.ok()) return s;
  if (r.layers) c.layers = r.layers;
  if (r.d_model || r.heads) {
    if (r.d_model) c.d_model = r.d_model;
    if (r.heads) c.heads = r.heads;
    c.head_dim = 0;
    c.gate_rank = 0;
    c.tpe_dim = 0;
  }
  if (r.ffn_dim) c.ffn_dim = r.ffn_dim;
  if (r.head_dim) c.head_dim = r.head_dim;
  if (r.gate_rank) c.gate_rank = r.gate_rank;
  if (r.tpe_dim) c.tpe_dim = r.tpe_dim;
  // Not divisible: Validate names d_model rather than a derived field.
  if (c.heads > 0 && c.d_model % c.heads == 0) FillDerivedFields(&c);
  if (absl::Status s = c.Validate(); !s.ok()) return s;
  return c;
}

ModelRequest RequestFor(const ModelConfig& c, std::string preset) {
  ModelRequest r;
  r.arch = std::string(ArchName(c.arch));
  r.preset = std::move(preset);
  r.layers = c.layers;
  r.d_model = c.d_model;
  r.heads = c.heads;
  r.head_dim = c.head_dim;
  r.ffn_dim = c.ffn_dim;
  r.gate_rank = c.gate_rank;
  r.tpe_dim = c.tpe_dim;
  r.vocab = c.vocab;
  r.context = c.context;
  r.flags = NonDefaultModelFlags(c);
  return r;
}

}  // namespace flopwise::models
