#include "models/activations.h"

namespace flopwise::models {

ActivationSizes ComputeActivationSizes(const ModelConfig& c, int64_t n) {
  const int64_t L = c.layers, d = c.d_model, g = c.ffn_dim, t = c.gate_rank;
  const int64_t nd = n * d;
  const bool llama = c.arch == Arch::kLlama;
  const bool linear = !llama;
  const bool hgrn2 = c.arch == Arch::kHgrn2;
  const bool cos2 = c.arch == Arch::kCos2;
  const bool gated = c.has_output_gate();
  const bool silu_qk = c.arch == Arch::kTnl || cos2;  // q, k = silu(x̄W_q), silu(x̄W_k)
  ActivationSizes s;
  s.embed_out = c.has_tpe() ? nd : 0;
  s.residual = (L + 1) * nd;
  s.mid = L * nd;
  s.norm1 = L * nd;
  s.rstd1 = L * n;
  s.norm2 = L * nd;
  s.rstd2 = L * n;
  s.q_pre = linear ? L * nd : 0;
  s.k_pre = silu_qk ? L * nd : 0;
  s.phi = hgrn2 ? L * nd : 0;
  s.q = L * nd;
  s.k = L * nd;
  s.v = L * nd;
  s.v_pre = c.has_v_silu() ? L * nd : 0;
  s.log_f = hgrn2 ? L * nd : 0;
  s.q_lrpe = cos2 ? 2 * L * nd : 0;
  s.k_lrpe = cos2 ? 2 * L * nd : 0;
  s.core = L * nd;
  s.lse = llama ? L * n * c.heads : 0;
  s.rstd_o = linear ? L * n : 0;
  s.u = linear ? L * nd : 0;
  s.gate_low = gated ? L * n * t : 0;
  s.gate_z = gated ? L * nd : 0;
  s.gated = gated ? L * nd : 0;
  s.ffn_u = L * n * g;
  s.ffn_v = L * n * g;
  s.ffn_h = L * n * g;
  s.lower_bound = hgrn2 ? L * d : 0;
  s.log_decay = c.arch == Arch::kTnl ? L * c.heads : 0;
  s.log_gamma = c.has_tpe() ? c.tpe_dim : 0;
  s.lrpe_theta = c.has_lrpe_theta_buffer() ? d : 0;
  s.final_norm = nd;
  s.rstd_f = n;
  s.losses = n;
  s.scratch = nd;
  s.d_residual = nd;
  s.d_norm = nd;
  s.d_q = nd;
  s.d_k = nd;
  s.d_v = nd;
  s.d_v_pre = c.has_v_silu() ? nd : 0;
  s.d_q_pre = linear ? nd : 0;
  s.d_k_pre = silu_qk ? nd : 0;
  s.d_phi = hgrn2 ? nd : 0;
  s.d_q_lrpe = cos2 ? 2 * nd : 0;
  s.d_k_lrpe = cos2 ? 2 * nd : 0;
  s.d_log_f = hgrn2 ? nd : 0;
  s.d_core = nd;
  s.d_u = linear ? nd : 0;
  s.d_gate_low = gated ? n * t : 0;
  s.d_gate_z = gated ? nd : 0;
  s.d_gated = gated ? nd : 0;
  s.d_ffn_u = n * g;
  s.d_ffn_v = n * g;
  s.d_ffn_h = n * g;
  s.d_lower_bound = hgrn2 ? L * d : 0;
  s.d_embed_out = c.has_tpe() ? nd : 0;
  return s;
}

}  // namespace flopwise::models
