// TNL's token mixer (docs/model-contract.md §3), forward and backward:
// silu q, k and plain v (mixer_tnl_cos2_parts.cc), per head lightning
// attention with the fixed decay λ_l (§3.2, acts_.log_decay), then the
// SRMSNorm'd, gated output projection.
#include "models/model.h"

namespace flopwise::models {

void Model::TnlMixerForward(int l, const float* x_norm, float* out) {
  const ModelConfig& c = config_;
  const int64_t nd = int64_t{tokens()} * c.d_model;
  SiluQkvForward(l, x_norm);
  backend_->LinearAttentionForward(
      Slice(acts_.core, l, nd), nullptr, Slice(acts_.q, l, nd), Slice(acts_.k, l, nd),
      Slice(acts_.v, l, nd), Slice(acts_.log_decay, l, c.heads), nullptr, batch_, c.context,
      c.heads, c.head_dim, c.head_dim, backend_->PreferredChunk(/*gated=*/false));
  GatedOutputForward(l, x_norm, out);
}

void Model::TnlMixerBackward(int l, const float* d_out) {
  const ModelConfig& c = config_;
  kernels::Backend& be = *backend_;
  const int64_t nd = int64_t{tokens()} * c.d_model, nd_bytes = nd * sizeof(float);
  GatedOutputBackward(l, d_out);
  for (float* buf : {acts_.d_q, acts_.d_k, acts_.d_v}) be.Zero(buf, nd_bytes);
  be.LinearAttentionBackward(acts_.d_q, acts_.d_k, acts_.d_v, nullptr, acts_.d_core, nullptr,
                             Slice(acts_.q, l, nd), Slice(acts_.k, l, nd), Slice(acts_.v, l, nd),
                             Slice(acts_.log_decay, l, c.heads), nullptr, batch_, c.context,
                             c.heads, c.head_dim, c.head_dim, be.PreferredChunk(/*gated=*/false));
  SiluQkvBackward(l);
}

}  // namespace flopwise::models
