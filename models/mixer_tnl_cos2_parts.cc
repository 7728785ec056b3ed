// The two pieces TNL's and cosFormer2's token mixers share (docs/model-contract.md
// §3.1, §5.1), forward and backward: the input projections
//   q = silu(x̄W_q), k = silu(x̄W_k), v = x̄W_v (silu(x̄W_v) with v_act silu)
// and the gated output
//   u = SRMSNorm(core), out = (u ⊙ σ((x̄W_gd)W_gu)) W_o.
#include "models/model.h"
#include "models/model_constants.h"

namespace flopwise::models {

void Model::SiluQkvForward(int l, const float* x_norm) {
  const ModelConfig& c = config_;
  const LayerTensors<float*>& w = param_views_.layers[l];
  const int n = tokens(), d = c.d_model;
  const int64_t nd = int64_t{n} * d;
  float* q_pre = Slice(acts_.q_pre, l, nd);
  float* k_pre = Slice(acts_.k_pre, l, nd);
  float* v = Slice(acts_.v, l, nd);
  backend_->MatmulForward(q_pre, x_norm, w.w_q, n, d, d);
  backend_->MatmulForward(k_pre, x_norm, w.w_k, n, d, d);
  backend_->SiluForward(Slice(acts_.q, l, nd), q_pre, nd);
  backend_->SiluForward(Slice(acts_.k, l, nd), k_pre, nd);
  if (c.has_v_silu()) {
    float* v_pre = Slice(acts_.v_pre, l, nd);
    backend_->MatmulForward(v_pre, x_norm, w.w_v, n, d, d);
    backend_->SiluForward(v, v_pre, nd);
  } else {
    backend_->MatmulForward(v, x_norm, w.w_v, n, d, d);
  }
}

void Model::SiluQkvBackward(int l) {
  const ModelConfig& c = config_;
  kernels::Backend& be = *backend_;
  const LayerTensors<float*>& w = param_views_.layers[l];
  const LayerTensors<float*>& dw = grad_views_.layers[l];
  const int n = tokens(), d = c.d_model;
  const int64_t nd = int64_t{n} * d;
  const float* x_norm = Slice(acts_.norm1, l, nd);
  be.SiluBackward(acts_.d_q_pre, acts_.d_q, Slice(acts_.q_pre, l, nd), nd);
  be.SiluBackward(acts_.d_k_pre, acts_.d_k, Slice(acts_.k_pre, l, nd), nd);
  const float* d_v_pre = acts_.d_v;
  if (c.has_v_silu()) {
    be.SiluBackward(acts_.d_v_pre, acts_.d_v, Slice(acts_.v_pre, l, nd), nd);
    d_v_pre = acts_.d_v_pre;
  }
  be.MatmulBackward(acts_.d_norm, dw.w_q, acts_.d_q_pre, x_norm, w.w_q, n, d, d);
  be.MatmulBackward(acts_.d_norm, dw.w_k, acts_.d_k_pre, x_norm, w.w_k, n, d, d);
  be.MatmulBackward(acts_.d_norm, dw.w_v, d_v_pre, x_norm, w.w_v, n, d, d);
}

void Model::GatedOutputForward(int l, const float* x_norm, float* out) {
  const ModelConfig& c = config_;
  const LayerTensors<float*>& w = param_views_.layers[l];
  const int n = tokens(), d = c.d_model, t = c.gate_rank;
  const int64_t nd = int64_t{n} * d;
  float* u = Slice(acts_.u, l, nd);
  float* gate_low = Slice(acts_.gate_low, l, int64_t{n} * t);
  float* gate_z = Slice(acts_.gate_z, l, nd);
  float* gated = Slice(acts_.gated, l, nd);
  backend_->RmsNormForward(u, Slice(acts_.rstd_o, l, n), Slice(acts_.core, l, nd), nullptr, n, d,
                           kNormEps);
  backend_->MatmulForward(gate_low, x_norm, w.gate_down, n, d, t);
  backend_->MatmulForward(gate_z, gate_low, w.gate_up, n, t, d);
  backend_->SigmoidGateForward(gated, u, gate_z, nd);
  backend_->MatmulForward(out, gated, w.w_o, n, d, d);
}

void Model::GatedOutputBackward(int l, const float* d_out) {
  const ModelConfig& c = config_;
  kernels::Backend& be = *backend_;
  const LayerTensors<float*>& w = param_views_.layers[l];
  const LayerTensors<float*>& dw = grad_views_.layers[l];
  const int n = tokens(), d = c.d_model, t = c.gate_rank;
  const int64_t nd = int64_t{n} * d, nd_bytes = nd * sizeof(float);
  const float* x_norm = Slice(acts_.norm1, l, nd);
  be.Zero(acts_.d_core, nd_bytes);
  // out = (u ⊙ σ(z)) W_o, z = (x̄W_gd)W_gu.
  MatmulBackwardOverwritingInput(acts_.d_gated, dw.w_o, d_out, Slice(acts_.gated, l, nd), w.w_o, n,
                                 d, d);
  be.SigmoidGateBackward(acts_.d_u, acts_.d_gate_z, acts_.d_gated, Slice(acts_.u, l, nd),
                         Slice(acts_.gate_z, l, nd), nd);
  MatmulBackwardOverwritingInput(acts_.d_gate_low, dw.gate_up, acts_.d_gate_z,
                                 Slice(acts_.gate_low, l, int64_t{n} * t), w.gate_up, n, t, d);
  // The mixer's first product into d_norm (SiluQkvBackward adds the rest).
  MatmulBackwardOverwritingInput(acts_.d_norm, dw.gate_down, acts_.d_gate_low, x_norm, w.gate_down,
                                 n, d, t);
  // u = SRMSNorm(core).
  be.RmsNormBackward(acts_.d_core, nullptr, acts_.d_u, Slice(acts_.core, l, nd), nullptr,
                     Slice(acts_.rstd_o, l, n), n, d);
}

}  // namespace flopwise::models
