// HGRN2's token mixer (docs/model-contract.md §4), forward and backward:
// q = silu(x̄W_q), φ = x̄W_f, v = x̄W_i; f = LB + (1-LB)σ(φ) kept as log f,
// k = (1-LB)σ(-φ); o = GLA(q, k, v; log f) per head; out = SRMSNorm(o) W_o.
#include "models/model.h"
#include "models/model_constants.h"

namespace flopwise::models {

void Model::Hgrn2MixerForward(int l, const float* x_norm, float* out) {
  const ModelConfig& c = config_;
  const LayerTensors<float*>& w = param_views_.layers[l];
  const int n = tokens(), d = c.d_model;
  const int64_t nd = int64_t{n} * d;
  float* q_pre = Slice(acts_.q_pre, l, nd);
  float* phi = Slice(acts_.phi, l, nd);
  float* q = Slice(acts_.q, l, nd);
  float* k = Slice(acts_.k, l, nd);
  float* v = Slice(acts_.v, l, nd);
  float* log_f = Slice(acts_.log_f, l, nd);
  float* core = Slice(acts_.core, l, nd);
  float* u = Slice(acts_.u, l, nd);
  backend_->MatmulForward(q_pre, x_norm, w.w_q, n, d, d);
  backend_->MatmulForward(phi, x_norm, w.w_f, n, d, d);
  backend_->MatmulForward(v, x_norm, w.w_i, n, d, d);
  backend_->SiluForward(q, q_pre, nd);
  backend_->Hgrn2GateForward(log_f, k, phi, Slice(acts_.lower_bound, l, d), n, d);
  backend_->GatedLinearAttentionForward(core, nullptr, q, k, v, log_f, nullptr, batch_, c.context,
                                        c.heads, c.head_dim, c.head_dim,
                                        backend_->PreferredChunk(/*gated=*/true));
  backend_->RmsNormForward(u, Slice(acts_.rstd_o, l, n), core, nullptr, n, d, kNormEps);
  backend_->MatmulForward(out, u, w.w_o, n, d, d);
}

void Model::Hgrn2MixerBackward(int l, const float* d_out) {
  const ModelConfig& c = config_;
  kernels::Backend& be = *backend_;
  const LayerTensors<float*>& w = param_views_.layers[l];
  const LayerTensors<float*>& dw = grad_views_.layers[l];
  const int n = tokens(), d = c.d_model;
  const int64_t nd = int64_t{n} * d, nd_bytes = nd * sizeof(float);
  const float* x_norm = Slice(acts_.norm1, l, nd);
  for (float* buf : {acts_.d_core, acts_.d_q, acts_.d_k, acts_.d_v, acts_.d_log_f}) {
    be.Zero(buf, nd_bytes);
  }
  // out = SRMSNorm(o) W_o.
  MatmulBackwardOverwritingInput(acts_.d_u, dw.w_o, d_out, Slice(acts_.u, l, nd), w.w_o, n, d, d);
  be.RmsNormBackward(acts_.d_core, nullptr, acts_.d_u, Slice(acts_.core, l, nd), nullptr,
                     Slice(acts_.rstd_o, l, n), n, d);
  be.GatedLinearAttentionBackward(acts_.d_q, acts_.d_k, acts_.d_v, acts_.d_log_f, nullptr,
                                  acts_.d_core, nullptr, Slice(acts_.q, l, nd),
                                  Slice(acts_.k, l, nd), Slice(acts_.v, l, nd),
                                  Slice(acts_.log_f, l, nd), nullptr, batch_, c.context, c.heads,
                                  c.head_dim, c.head_dim, be.PreferredChunk(/*gated=*/true));
  // Gate: ∂loss/∂φ from ∂loss/∂log f and ∂loss/∂k; layer 0's bound is the constant 0.
  float* d_lower_bound = l == 0 ? nullptr : Slice(acts_.d_lower_bound, l, d);
  be.Hgrn2GateBackward(acts_.d_phi, d_lower_bound, acts_.d_log_f, acts_.d_k,
                       Slice(acts_.phi, l, nd), Slice(acts_.lower_bound, l, d), n, d);
  be.SiluBackward(acts_.d_q_pre, acts_.d_q, Slice(acts_.q_pre, l, nd), nd);
  MatmulBackwardOverwritingInput(acts_.d_norm, dw.w_q, acts_.d_q_pre, x_norm, w.w_q, n, d, d);
  be.MatmulBackward(acts_.d_norm, dw.w_f, acts_.d_phi, x_norm, w.w_f, n, d, d);
  be.MatmulBackward(acts_.d_norm, dw.w_i, acts_.d_v, x_norm, w.w_i, n, d, d);
}

}  // namespace flopwise::models
