// LLaMA's token mixer (docs/model-contract.md §2), forward and backward:
// q = RoPE(x̄W_q), k = RoPE(x̄W_k), v = x̄W_v; out = softmax-attention · W_o.
#include "models/model.h"
#include "models/model_constants.h"

namespace flopwise::models {

void Model::LlamaMixerForward(int l, const float* x_norm, float* out) {
  const ModelConfig& c = config_;
  const LayerTensors<float*>& w = param_views_.layers[l];
  const int n = tokens(), d = c.d_model;
  const int64_t nd = int64_t{n} * d;
  float* q = Slice(acts_.q, l, nd);
  float* k = Slice(acts_.k, l, nd);
  float* v = Slice(acts_.v, l, nd);
  float* core = Slice(acts_.core, l, nd);
  backend_->MatmulForward(q, x_norm, w.w_q, n, d, d);
  backend_->MatmulForward(k, x_norm, w.w_k, n, d, d);
  backend_->MatmulForward(v, x_norm, w.w_v, n, d, d);
  backend_->RopeForward(q, q, batch_, c.context, c.heads, c.head_dim, 0, kRopeBase);
  backend_->RopeForward(k, k, batch_, c.context, c.heads, c.head_dim, 0, kRopeBase);
  backend_->AttentionForward(core, Slice(acts_.lse, l, int64_t{n} * c.heads), q, k, v, batch_,
                             c.context, c.heads, c.head_dim);
  backend_->MatmulForward(out, core, w.w_o, n, d, d);
}

void Model::LlamaMixerBackward(int l, const float* d_out) {
  const ModelConfig& c = config_;
  kernels::Backend& be = *backend_;
  const LayerTensors<float*>& w = param_views_.layers[l];
  const LayerTensors<float*>& dw = grad_views_.layers[l];
  const int n = tokens(), d = c.d_model;
  const int64_t nd = int64_t{n} * d;
  const float* x_norm = Slice(acts_.norm1, l, nd);
  const float* q = Slice(acts_.q, l, nd);
  const float* k = Slice(acts_.k, l, nd);
  const float* v = Slice(acts_.v, l, nd);
  const float* core = Slice(acts_.core, l, nd);
  MatmulBackwardOverwritingInput(acts_.d_core, dw.w_o, d_out, core, w.w_o, n, d, d);
  be.AttentionBackward(acts_.d_q, acts_.d_k, acts_.d_v, acts_.d_core, q, k, v, core,
                       Slice(acts_.lse, l, int64_t{n} * c.heads), batch_, c.context, c.heads,
                       c.head_dim);
  // RoPE backward into d_core (free again) for q, then for k.
  be.RopeBackward(acts_.d_core, acts_.d_q, batch_, c.context, c.heads, c.head_dim, 0, kRopeBase);
  MatmulBackwardOverwritingInput(acts_.d_norm, dw.w_q, acts_.d_core, x_norm, w.w_q, n, d, d);
  be.RopeBackward(acts_.d_core, acts_.d_k, batch_, c.context, c.heads, c.head_dim, 0, kRopeBase);
  be.MatmulBackward(acts_.d_norm, dw.w_k, acts_.d_core, x_norm, w.w_k, n, d, d);
  be.MatmulBackward(acts_.d_norm, dw.w_v, acts_.d_v, x_norm, w.w_v, n, d, d);
}

}  // namespace flopwise::models
