// The chunked linear recurrence behind LinearAttention* and
// GatedLinearAttention* (kernels/cuda/linear_attention.h,
// gated_linear_attention.h): S_τ = diag(exp(a_τ)) S_{τ-1} + k_τ v_τᵀ,
// out_τ = S_τᵀ q_τ, with the log-decay a_τ given per token and key channel
// (HGRN2) or as one scalar per head (TNL; none for cos2).
#pragma once

#include "kernels/cuda/cuda_context.h"

namespace flopwise::kernels::cuda {

// The log-decay a ≤ 0: data [B,T,H,Dk] per token and channel, or data [H]
// when per_head; data == nullptr means no decay (a = 0).
struct LogDecay {
  const float* data = nullptr;
  bool per_head = false;
};

// Chunks longer than this run as kMaxChunk (results never depend on the chunk).
inline constexpr int kMaxChunk = 64;

// q,k [B,T,H,Dk]; v,out [B,T,H,Dv]; states [B,H,Dk,Dv] (initial_state nullable = 0,
// final_state nullable). Scratch slots 0-3.
void ChunkedRecurrenceForward(const Context& ctx, float* out, float* final_state, const float* q,
                              const float* k, const float* v, LogDecay log_decay,
                              const float* initial_state, int batch, int seq, int heads,
                              int key_dim, int value_dim, int chunk, const char* op);
// dq,dk [B,T,H,Dk] +=; dv [B,T,H,Dv] +=; dlog_decay [B,T,H,Dk] += (nullable; only for a
// per-token decay); dinitial_state += (nullable); dfinal_state nullable = 0. Scratch slots 0-6.
void ChunkedRecurrenceBackward(const Context& ctx, float* dq, float* dk, float* dv,
                               float* dlog_decay, float* dinitial_state, const float* dout,
                               const float* dfinal_state, const float* q, const float* k,
                               const float* v, LogDecay log_decay, const float* initial_state,
                               int batch, int seq, int heads, int key_dim, int value_dim, int chunk,
                               const char* op);

}  // namespace flopwise::kernels::cuda
