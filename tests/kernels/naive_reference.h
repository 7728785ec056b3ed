// Token-by-token recurrences in double (docs/model-contract.md §3.3, §4.1, §6): the
// references the chunked kernels are held against.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace flopwise::kernels::testing {

// S_τ = diag(exp(a_τ)) S_{τ-1} + k_τ v_τᵀ, out_τ = S_τᵀ q_τ per (b, h).
// q,k,log_decay [B,T,H,Dk] (log_decay empty = no decay); v,out [B,T,H,Dv];
// initial/final [B,H,Dk,Dv] (initial empty = 0).
inline void NaiveDecayedAttention(const std::vector<double>& q, const std::vector<double>& k,
                                  const std::vector<double>& v,
                                  const std::vector<double>& log_decay,
                                  const std::vector<double>& initial, int batch, int seq, int heads,
                                  int dk, int dv, std::vector<double>* out,
                                  std::vector<double>* final_state) {
  out->assign(static_cast<size_t>(batch) * seq * heads * dv, 0.0);
  final_state->assign(static_cast<size_t>(batch) * heads * dk * dv, 0.0);
  std::vector<double> s(static_cast<size_t>(dk) * dv);
  for (int b = 0; b < batch; ++b) {
    for (int h = 0; h < heads; ++h) {
      const size_t so = (static_cast<size_t>(b) * heads + h) * dk * dv;
      for (size_t e = 0; e < s.size(); ++e) s[e] = initial.empty() ? 0.0 : initial[so + e];
      for (int t = 0; t < seq; ++t) {
        const size_t row = static_cast<size_t>(b) * seq + t;
        const size_t ko = (row * heads + h) * dk;
        const size_t vo = (row * heads + h) * dv;
        for (int c = 0; c < dk; ++c) {
          const double f = log_decay.empty() ? 1.0 : std::exp(log_decay[ko + c]);
          for (int e = 0; e < dv; ++e) {
            s[c * dv + e] = f * s[c * dv + e] + k[ko + c] * v[vo + e];
          }
        }
        for (int e = 0; e < dv; ++e) {
          double o = 0;
          for (int c = 0; c < dk; ++c) o += s[c * dv + e] * q[ko + c];
          (*out)[vo + e] = o;
        }
      }
      for (size_t e = 0; e < s.size(); ++e) (*final_state)[so + e] = s[e];
    }
  }
}

// Broadcasts a per-head log decay [H] to [B,T,H,Dk].
inline std::vector<double> BroadcastHeadDecay(const std::vector<double>& per_head, int batch,
                                              int seq, int heads, int dk) {
  std::vector<double> out(static_cast<size_t>(batch) * seq * heads * dk);
  for (size_t i = 0; i < out.size(); ++i) out[i] = per_head[(i / dk) % heads];
  return out;
}

}  // namespace flopwise::kernels::testing
