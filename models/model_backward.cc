// Backward pass of Model (architectures.md §7): one running gradient of the
// residual stream (acts_.d_residual) flows from the final norm down to the
// embedding; every sub-block adds its input gradient into it.
#include <cmath>

#include "models/model.h"
#include "models/model_constants.h"

namespace flopwise::models {

// REQUIRES: ForwardPass ran with grad_scale > 0, leaving ∂loss/∂final_norm in
// acts_.d_norm and the LM-head part of ∂loss/∂E in the embedding's gradient.
void Model::Backward() {
  const ModelConfig& c = config_;
  kernels::Backend& be = *backend_;
  const int n = static_cast<int>(batch_tokens()), d = c.d_model, g = c.ffn_dim;
  const int64_t nd = int64_t{n} * d, ng = int64_t{n} * g;
  const int64_t nd_bytes = nd * sizeof(float), ng_bytes = ng * sizeof(float);
  float* d_res = acts_.d_residual;

  be.Zero(d_res, nd_bytes);
  be.RmsNormBackward(d_res, G(norm_f_offset_), acts_.d_norm, Slice(acts_.residual, c.layers, nd),
                     P(norm_f_offset_), acts_.rstd_f, n, d);
  if (acts_.d_lower_bound != nullptr) {
    be.Zero(acts_.d_lower_bound, int64_t{c.layers} * d * sizeof(float));
  }

  for (int l = c.layers - 1; l >= 0; --l) {
    const LayerOffsets& w = layer_offsets_[l];
    // X_{l+1} = A + (U ⊙ f(V)) W_down, U = x̄₂W_u, V = x̄₂W_v, x̄₂ = norm2(A).
    float* mid = Slice(acts_.mid, l, nd);
    float* x_norm2 = Slice(acts_.norm2, l, nd);
    float* ffn_u = Slice(acts_.ffn_u, l, ng);
    float* ffn_v = Slice(acts_.ffn_v, l, ng);
    be.Zero(acts_.d_ffn_h, ng_bytes);
    be.MatmulBackward(acts_.d_ffn_h, G(w.ffn_down), d_res, Slice(acts_.ffn_h, l, ng), P(w.ffn_down),
                      n, g, d);
    be.Zero(acts_.d_ffn_u, ng_bytes);
    be.Zero(acts_.d_ffn_v, ng_bytes);
    if (c.arch == Arch::kLlama) {
      be.SwigluBackward(acts_.d_ffn_u, acts_.d_ffn_v, acts_.d_ffn_h, ffn_u, ffn_v, ng);
    } else {
      be.GluBackward(acts_.d_ffn_u, acts_.d_ffn_v, acts_.d_ffn_h, ffn_u, ffn_v, ng);
    }
    be.Zero(acts_.d_norm, nd_bytes);
    be.MatmulBackward(acts_.d_norm, G(w.ffn_u), acts_.d_ffn_u, x_norm2, P(w.ffn_u), n, d, g);
    be.MatmulBackward(acts_.d_norm, G(w.ffn_v), acts_.d_ffn_v, x_norm2, P(w.ffn_v), n, d, g);
    be.RmsNormBackward(d_res, G(w.norm2), acts_.d_norm, mid, P(w.norm2), Slice(acts_.rstd2, l, n),
                       n, d);

    // A = X_l + mixer(x̄₁), x̄₁ = norm1(X_l); d_res now holds ∂loss/∂A.
    be.Zero(acts_.d_norm, nd_bytes);
    switch (c.arch) {
      case Arch::kLlama:
        LlamaMixerBackward(l, d_res);
        break;
      case Arch::kTnl:
      case Arch::kCos2:
        TnlCos2MixerBackward(l, d_res);
        break;
      case Arch::kHgrn2:
        Hgrn2MixerBackward(l, d_res);
        break;
    }
    be.RmsNormBackward(d_res, G(w.norm1), acts_.d_norm, Slice(acts_.residual, l, nd), P(w.norm1),
                       Slice(acts_.rstd1, l, n), n, d);
  }

  if (c.arch == Arch::kHgrn2) {
    be.Hgrn2LowerBoundBackward(G(lower_bound_offset_), acts_.d_lower_bound, P(lower_bound_offset_),
                               c.layers, d);
  }
  float* d_embedded = d_res;
  if (c.has_tpe()) {
    be.Zero(acts_.d_embed_out, nd_bytes);
    be.TpeBackward(acts_.d_embed_out, G(tpe_b_offset_), d_res, acts_.embed_out, P(tpe_b_offset_),
                   acts_.log_gamma, batch_, c.context, d, c.tpe_dim);
    d_embedded = acts_.d_embed_out;
  }
  if (c.embed_scale) be.Scale(d_embedded, std::sqrt(static_cast<float>(d)), nd);
  be.EmbeddingBackward(G(embed_offset_), d_embedded, inputs_, n, d);
}

void Model::LlamaMixerBackward(int l, const float* d_out) {
  const ModelConfig& c = config_;
  kernels::Backend& be = *backend_;
  const int n = static_cast<int>(batch_tokens()), d = c.d_model;
  const int64_t nd = int64_t{n} * d, nd_bytes = nd * sizeof(float);
  const LayerOffsets& w = layer_offsets_[l];
  const float* x_norm = Slice(acts_.norm1, l, nd);
  const float* q = Slice(acts_.q, l, nd);
  const float* k = Slice(acts_.k, l, nd);
  const float* v = Slice(acts_.v, l, nd);
  const float* core = Slice(acts_.core, l, nd);
  for (float* buf : {acts_.d_core, acts_.d_q, acts_.d_k, acts_.d_v, acts_.d_q_pre, acts_.d_k_pre}) {
    if (buf != nullptr) be.Zero(buf, nd_bytes);
  }
  be.MatmulBackward(acts_.d_core, G(w.wo), d_out, core, P(w.wo), n, d, d);
  be.AttentionBackward(acts_.d_q, acts_.d_k, acts_.d_v, acts_.d_core, q, k, v, core,
                       Slice(acts_.lse, l, int64_t{n} * c.heads), batch_, c.context, c.heads,
                       c.head_dim);
  // RoPE backward into d_core (free again) for q, then d_norm's inputs.
  be.Zero(acts_.d_core, nd_bytes);
  be.RopeBackward(acts_.d_core, acts_.d_q, batch_, c.context, c.heads, c.head_dim, 0, kRopeBase);
  be.MatmulBackward(acts_.d_norm, G(w.wq), acts_.d_core, x_norm, P(w.wq), n, d, d);
  be.Zero(acts_.d_core, nd_bytes);
  be.RopeBackward(acts_.d_core, acts_.d_k, batch_, c.context, c.heads, c.head_dim, 0, kRopeBase);
  be.MatmulBackward(acts_.d_norm, G(w.wk), acts_.d_core, x_norm, P(w.wk), n, d, d);
  be.MatmulBackward(acts_.d_norm, G(w.wv), acts_.d_v, x_norm, P(w.wv), n, d, d);
}

void Model::TnlCos2MixerBackward(int l, const float* d_out) {
  const ModelConfig& c = config_;
  kernels::Backend& be = *backend_;
  const int n = static_cast<int>(batch_tokens()), d = c.d_model, t = c.gate_rank;
  const int64_t nd = int64_t{n} * d, nd_bytes = nd * sizeof(float);
  const LayerOffsets& w = layer_offsets_[l];
  const float* x_norm = Slice(acts_.norm1, l, nd);
  const float* gate_low = Slice(acts_.gate_low, l, int64_t{n} * t);
  for (float* buf : {acts_.d_gated, acts_.d_u, acts_.d_gate_z, acts_.d_core, acts_.d_q, acts_.d_k,
                     acts_.d_v, acts_.d_q_pre, acts_.d_k_pre}) {
    be.Zero(buf, nd_bytes);
  }
  be.Zero(acts_.d_gate_low, int64_t{n} * t * sizeof(float));
  // out = (u ⊙ σ(z)) W_o, z = (x̄W_gd)W_gu.
  be.MatmulBackward(acts_.d_gated, G(w.wo), d_out, Slice(acts_.gated, l, nd), P(w.wo), n, d, d);
  be.SigmoidGateBackward(acts_.d_u, acts_.d_gate_z, acts_.d_gated, Slice(acts_.u, l, nd),
                         Slice(acts_.gate_z, l, nd), nd);
  be.MatmulBackward(acts_.d_gate_low, G(w.gate_up), acts_.d_gate_z, gate_low, P(w.gate_up), n, t,
                    d);
  be.MatmulBackward(acts_.d_norm, G(w.gate_down), acts_.d_gate_low, x_norm, P(w.gate_down), n, d,
                    t);
  // u = SRMSNorm(o).
  const float* core = Slice(acts_.core, l, nd);
  be.RmsNormBackward(acts_.d_core, nullptr, acts_.d_u, core, nullptr, Slice(acts_.rstd_o, l, n), n,
                     d);
  const float* q = Slice(acts_.q, l, nd);
  const float* k = Slice(acts_.k, l, nd);
  const float* v = Slice(acts_.v, l, nd);
  if (c.arch == Arch::kTnl) {
    be.LinearAttentionBackward(acts_.d_q, acts_.d_k, acts_.d_v, nullptr, acts_.d_core, nullptr, q,
                               k, v, Slice(acts_.log_decay, l, c.heads), nullptr, batch_, c.context,
                               c.heads, c.head_dim, c.head_dim,
                               backend_->PreferredChunk(/*gated=*/false));
  } else {
    const int64_t lrpe_bytes = 2 * nd_bytes;
    be.Zero(acts_.d_q_lrpe, lrpe_bytes);
    be.Zero(acts_.d_k_lrpe, lrpe_bytes);
    be.LinearAttentionBackward(
        acts_.d_q_lrpe, acts_.d_k_lrpe, acts_.d_v, nullptr, acts_.d_core, nullptr,
        Slice(acts_.q_lrpe, l, 2 * nd), Slice(acts_.k_lrpe, l, 2 * nd), v, nullptr, nullptr, batch_,
        c.context, c.heads, 2 * c.head_dim, c.head_dim, backend_->PreferredChunk(/*gated=*/false));
    // The fixed xmixers θ has no gradient (G(-1) is nullptr).
    const float* theta = LrpeTheta(l);
    be.LrpeBackward(acts_.d_q, G(w.theta), acts_.d_q_lrpe, q, theta, batch_, c.context, c.heads,
                    c.head_dim, 0);
    be.LrpeBackward(acts_.d_k, G(w.theta), acts_.d_k_lrpe, k, theta, batch_, c.context, c.heads,
                    c.head_dim, 0);
  }
  // q = silu(x̄W_q), k = silu(x̄W_k), v = x̄W_v (or silu(x̄W_v) with v_act silu).
  be.SiluBackward(acts_.d_q_pre, acts_.d_q, Slice(acts_.q_pre, l, nd), nd);
  be.SiluBackward(acts_.d_k_pre, acts_.d_k, Slice(acts_.k_pre, l, nd), nd);
  const float* d_v_pre = acts_.d_v;
  if (c.has_v_silu()) {
    be.Zero(acts_.d_v_pre, nd_bytes);
    be.SiluBackward(acts_.d_v_pre, acts_.d_v, Slice(acts_.v_pre, l, nd), nd);
    d_v_pre = acts_.d_v_pre;
  }
  be.MatmulBackward(acts_.d_norm, G(w.wq), acts_.d_q_pre, x_norm, P(w.wq), n, d, d);
  be.MatmulBackward(acts_.d_norm, G(w.wk), acts_.d_k_pre, x_norm, P(w.wk), n, d, d);
  be.MatmulBackward(acts_.d_norm, G(w.wv), d_v_pre, x_norm, P(w.wv), n, d, d);
}

void Model::Hgrn2MixerBackward(int l, const float* d_out) {
  const ModelConfig& c = config_;
  kernels::Backend& be = *backend_;
  const int n = static_cast<int>(batch_tokens()), d = c.d_model;
  const int64_t nd = int64_t{n} * d, nd_bytes = nd * sizeof(float);
  const LayerOffsets& w = layer_offsets_[l];
  const float* x_norm = Slice(acts_.norm1, l, nd);
  for (float* buf : {acts_.d_u, acts_.d_core, acts_.d_q, acts_.d_k, acts_.d_v, acts_.d_log_f,
                     acts_.d_q_pre, acts_.d_k_pre}) {
    be.Zero(buf, nd_bytes);
  }
  // out = SRMSNorm(o) W_o.
  be.MatmulBackward(acts_.d_u, G(w.wo), d_out, Slice(acts_.u, l, nd), P(w.wo), n, d, d);
  be.RmsNormBackward(acts_.d_core, nullptr, acts_.d_u, Slice(acts_.core, l, nd), nullptr,
                     Slice(acts_.rstd_o, l, n), n, d);
  const float* q = Slice(acts_.q, l, nd);
  const float* k = Slice(acts_.k, l, nd);
  const float* v = Slice(acts_.v, l, nd);
  const float* log_f = Slice(acts_.log_f, l, nd);
  be.GatedLinearAttentionBackward(acts_.d_q, acts_.d_k, acts_.d_v, acts_.d_log_f, nullptr,
                                  acts_.d_core, nullptr, q, k, v, log_f, nullptr, batch_, c.context,
                                  c.heads, c.head_dim, c.head_dim,
                                  backend_->PreferredChunk(/*gated=*/true));
  // Gate: d_k_pre holds ∂loss/∂φ; layer 0's bound is the constant 0.
  float* d_lower_bound = l == 0 ? nullptr : Slice(acts_.d_lower_bound, l, d);
  be.Hgrn2GateBackward(acts_.d_k_pre, d_lower_bound, acts_.d_log_f, acts_.d_k,
                       Slice(acts_.k_pre, l, nd), Slice(acts_.lower_bound, l, d), n, d);
  be.SiluBackward(acts_.d_q_pre, acts_.d_q, Slice(acts_.q_pre, l, nd), nd);
  be.MatmulBackward(acts_.d_norm, G(w.wq), acts_.d_q_pre, x_norm, P(w.wq), n, d, d);
  be.MatmulBackward(acts_.d_norm, G(w.wk), acts_.d_k_pre, x_norm, P(w.wk), n, d, d);
  be.MatmulBackward(acts_.d_norm, G(w.wv), acts_.d_v, x_norm, P(w.wv), n, d, d);
}

}  // namespace flopwise::models
