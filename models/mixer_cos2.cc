// cosFormer2's token mixer (docs/model-contract.md §5.1), forward and
// backward: silu q, k and plain v (mixer_tnl_cos2_parts.cc) lifted by LRPE to
// 2D key channels per head, linear attention without decay, then the
// SRMSNorm'd, gated output projection. θ is the layer's parameter or, with
// lrpe_variant xmixers, the fixed shared buffer (no gradient).
#include "models/model.h"

namespace flopwise::models {

void Model::Cos2MixerForward(int l, const float* x_norm, float* out) {
  const ModelConfig& c = config_;
  const int64_t nd = int64_t{tokens()} * c.d_model;
  SiluQkvForward(l, x_norm);
  float* q_lrpe = Slice(acts_.q_lrpe, l, 2 * nd);
  float* k_lrpe = Slice(acts_.k_lrpe, l, 2 * nd);
  const float* theta = LrpeTheta(l);
  backend_->LrpeForward(q_lrpe, Slice(acts_.q, l, nd), theta, batch_, c.context, c.heads,
                        c.head_dim, 0);
  backend_->LrpeForward(k_lrpe, Slice(acts_.k, l, nd), theta, batch_, c.context, c.heads,
                        c.head_dim, 0);
  backend_->LinearAttentionForward(Slice(acts_.core, l, nd), nullptr, q_lrpe, k_lrpe,
                                   Slice(acts_.v, l, nd), nullptr, nullptr, batch_, c.context,
                                   c.heads, 2 * c.head_dim, c.head_dim,
                                   backend_->PreferredChunk(/*gated=*/false));
  GatedOutputForward(l, x_norm, out);
}

void Model::Cos2MixerBackward(int l, const float* d_out) {
  const ModelConfig& c = config_;
  kernels::Backend& be = *backend_;
  const int64_t nd = int64_t{tokens()} * c.d_model, nd_bytes = nd * sizeof(float);
  float* d_theta = grad_views_.layers[l].theta;  // nullptr for the fixed xmixers θ
  const float* theta = LrpeTheta(l);
  GatedOutputBackward(l, d_out);
  be.Zero(acts_.d_v, nd_bytes);
  be.Zero(acts_.d_q_lrpe, 2 * nd_bytes);
  be.Zero(acts_.d_k_lrpe, 2 * nd_bytes);
  be.LinearAttentionBackward(acts_.d_q_lrpe, acts_.d_k_lrpe, acts_.d_v, nullptr, acts_.d_core,
                             nullptr, Slice(acts_.q_lrpe, l, 2 * nd),
                             Slice(acts_.k_lrpe, l, 2 * nd), Slice(acts_.v, l, nd), nullptr,
                             nullptr, batch_, c.context, c.heads, 2 * c.head_dim, c.head_dim,
                             be.PreferredChunk(/*gated=*/false));
  be.LrpeBackward(acts_.d_q, d_theta, acts_.d_q_lrpe, Slice(acts_.q, l, nd), theta, batch_,
                  c.context, c.heads, c.head_dim, 0);
  be.LrpeBackward(acts_.d_k, d_theta, acts_.d_k_lrpe, Slice(acts_.k, l, nd), theta, batch_,
                  c.context, c.heads, c.head_dim, 0);
  SiluQkvBackward(l);
}

}  // namespace flopwise::models
