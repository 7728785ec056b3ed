// The channel mixer of docs/model-contract.md §1.3, forward and backward:
// out = (U ⊙ f(V)) W_down, U = x̄W_u, V = x̄W_v, f = silu for LLaMA (SwiGLU)
// and the identity for the linear models (SGLU).
#include "models/model.h"

namespace flopwise::models {

void Model::ChannelMixerForward(int l, const float* x_norm, float* out) {
  const ModelConfig& c = config_;
  const LayerTensors<float*>& w = param_views_.layers[l];
  const int n = tokens(), d = c.d_model, g = c.ffn_dim;
  const int64_t ng = int64_t{n} * g;
  float* ffn_u = Slice(acts_.ffn_u, l, ng);
  float* ffn_v = Slice(acts_.ffn_v, l, ng);
  float* ffn_h = Slice(acts_.ffn_h, l, ng);
  backend_->MatmulForward(ffn_u, x_norm, w.ffn_u, n, d, g);
  backend_->MatmulForward(ffn_v, x_norm, w.ffn_v, n, d, g);
  if (c.arch == Arch::kLlama) {
    backend_->SwigluForward(ffn_h, ffn_u, ffn_v, ng);
  } else {
    backend_->GluForward(ffn_h, ffn_u, ffn_v, ng);
  }
  backend_->MatmulForward(out, ffn_h, w.ffn_down, n, g, d);
}

void Model::ChannelMixerBackward(int l, const float* d_out) {
  const ModelConfig& c = config_;
  kernels::Backend& be = *backend_;
  const LayerTensors<float*>& w = param_views_.layers[l];
  const LayerTensors<float*>& dw = grad_views_.layers[l];
  const int n = tokens(), d = c.d_model, g = c.ffn_dim;
  const int64_t nd = int64_t{n} * d, ng = int64_t{n} * g;
  const float* x_norm = Slice(acts_.norm2, l, nd);
  const float* ffn_u = Slice(acts_.ffn_u, l, ng);
  const float* ffn_v = Slice(acts_.ffn_v, l, ng);
  MatmulBackwardOverwritingInput(acts_.d_ffn_h, dw.ffn_down, d_out, Slice(acts_.ffn_h, l, ng),
                                 w.ffn_down, n, g, d);
  if (c.arch == Arch::kLlama) {
    be.SwigluBackward(acts_.d_ffn_u, acts_.d_ffn_v, acts_.d_ffn_h, ffn_u, ffn_v, ng);
  } else {
    be.GluBackward(acts_.d_ffn_u, acts_.d_ffn_v, acts_.d_ffn_h, ffn_u, ffn_v, ng);
  }
  MatmulBackwardOverwritingInput(acts_.d_norm, dw.ffn_u, acts_.d_ffn_u, x_norm, w.ffn_u, n, d, g);
  be.MatmulBackward(acts_.d_norm, dw.ffn_v, acts_.d_ffn_v, x_norm, w.ffn_v, n, d, g);
}

}  // namespace flopwise::models
