// The activation arena of one Model (llm.c style): what forward stores for
// backward, plus one layer's worth of scratch that every layer reuses.
// ActivationBuffers<int64_t> holds sizes in floats, ActivationBuffers<float*>
// the carved pointers; a buffer an architecture does not use has size 0.
// N = batch tokens (batch × context).
#pragma once

#include <cstdint>

#include "models/config.h"

namespace flopwise::models {

template <typename T>
struct ActivationBuffers {
  // Stored by forward; per-layer buffers hold `layers` consecutive slices.
  T embed_out{};    // [N,d] embedding lookup before TPE (cos2 with TPE)
  T residual{};     // [L+1,N,d] block inputs X_l; X_L feeds the final norm
  T mid{};          // [L,N,d] A_l = X_l + mixer(norm1(X_l))
  T norm1{};        // [L,N,d]
  T rstd1{};        // [L,N]
  T norm2{};        // [L,N,d]
  T rstd2{};        // [L,N]
  T q_pre{};        // [L,N,d] x̄W_q before silu (linear models)
  T k_pre{};        // [L,N,d] x̄W_k before silu (tnl, cos2)
  T phi{};          // [L,N,d] hgrn2 forget-gate pre-activation φ = x̄W_f
  T q{};            // [L,N,d] query after RoPE / silu
  T k{};            // [L,N,d] key after RoPE / silu; hgrn2 (1-LB)σ(-φ)
  T v{};            // [L,N,d] value (after silu for tnl with v_act silu); hgrn2 x̄W_i
  T v_pre{};        // [L,N,d] x̄W_v before silu (tnl with v_act silu)
  T log_f{};        // [L,N,d] hgrn2 log forget gate
  T q_lrpe{};       // [L,N,2d] cos2 LRPE features
  T k_lrpe{};       // [L,N,2d]
  T core{};         // [L,N,d] attention / linear-attention output
  T lse{};          // [L,B,h,T] llama log-sum-exp rows
  T rstd_o{};       // [L,N] output SRMSNorm (linear models)
  T u{};            // [L,N,d] normed core output (linear models)
  T gate_low{};     // [L,N,t] x̄W_gd (tnl, cos2)
  T gate_z{};       // [L,N,d] gate pre-sigmoid
  T gated{};        // [L,N,d] u ⊙ σ(z), input of W_o
  T ffn_u{};        // [L,N,g]
  T ffn_v{};        // [L,N,g]
  T ffn_h{};        // [L,N,g] U ⊙ f(V), input of W_down
  T lower_bound{};  // [L,d] hgrn2 LB_l
  T log_decay{};    // [L,h] tnl log λ per layer and head
  T log_gamma{};    // [e] cos2 TPE decays
  T lrpe_theta{};   // [h,D] cos2 fixed LRPE angles (lrpe_variant xmixers), all layers
  T final_norm{};   // [N,d]
  T rstd_f{};       // [N]
  T losses{};       // [N]
  // Scratch: forward temporaries and backward gradients of one layer.
  T scratch{};                        // [N,d] sub-block output before its residual add
  T d_residual{};                     // [N,d] running gradient of the residual stream
  T d_norm{};                         // [N,d] gradient at a norm's output
  T d_q{}, d_k{}, d_v{};              // [N,d]
  T d_v_pre{};                        // [N,d] tnl with v_act silu
  T d_q_pre{}, d_k_pre{};             // [N,d]
  T d_phi{};                          // [N,d] hgrn2
  T d_q_lrpe{}, d_k_lrpe{};           // [N,2d] cos2
  T d_log_f{};                        // [N,d] hgrn2
  T d_core{};                         // [N,d]
  T d_u{};                            // [N,d]
  T d_gate_low{};                     // [N,t]
  T d_gate_z{};                       // [N,d]
  T d_gated{};                        // [N,d]
  T d_ffn_u{}, d_ffn_v{}, d_ffn_h{};  // [N,g]
  T d_lower_bound{};                  // [L,d] hgrn2
  T d_embed_out{};                    // [N,d] cos2 with TPE

  // Calls fn(field) on every buffer in declaration order.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (T* f :
         {&embed_out,  &residual,  &mid,        &norm1,      &rstd1,   &norm2,   &rstd2,
          &q_pre,      &k_pre,     &phi,        &q,          &k,       &v,       &v_pre,
          &log_f,      &q_lrpe,    &k_lrpe,     &core,       &lse,     &rstd_o,  &u,
          &gate_low,   &gate_z,    &gated,      &ffn_u,      &ffn_v,   &ffn_h,   &lower_bound,
          &log_decay,  &log_gamma, &lrpe_theta, &final_norm, &rstd_f,  &losses,  &scratch,
          &d_residual, &d_norm,    &d_q,        &d_k,        &d_v,     &d_v_pre, &d_q_pre,
          &d_k_pre,    &d_phi,     &d_q_lrpe,   &d_k_lrpe,   &d_log_f, &d_core,  &d_u,
          &d_gate_low, &d_gate_z,  &d_gated,    &d_ffn_u,    &d_ffn_v, &d_ffn_h, &d_lower_bound,
          &d_embed_out}) {
      fn(*f);
    }
  }
};

using ActivationSizes = ActivationBuffers<int64_t>;
using Activations = ActivationBuffers<float*>;

// Sizes of every buffer for `batch_tokens` tokens per micro-step.
ActivationSizes ComputeActivationSizes(const ModelConfig& config, int64_t batch_tokens);

}  // namespace flopwise::models
