// Chunked gated linear attention with a per-token, per-key-channel decay
// (HGRN2) on the GPU. Same names and arguments as the Backend methods
// (kernels/backend.h) after the Context; deterministic in every mode.
#pragma once

#include "kernels/cuda/cuda_context.h"

namespace flopwise::kernels::cuda {

// q,k,log_decay [B,T,H,Dk] (log_decay ≤ 0, finite); v,out [B,T,H,Dv]; states [B,H,Dk,Dv]
// (nullable). Chunks longer than 64 run as 64 (results never depend on chunk).
// Scratch slots 0-3.
void GatedLinearAttentionForward(const Context& ctx, float* out, float* final_state, const float* q,
                                 const float* k, const float* v, const float* log_decay,
                                 const float* initial_state, int batch, int seq, int heads,
                                 int key_dim, int value_dim, int chunk);
// dq,dk,dlog_decay [B,T,H,Dk] +=; dv [B,T,H,Dv] +=; dinitial_state += (nullable);
// dfinal_state nullable = 0. Scratch slots 0-6.
void GatedLinearAttentionBackward(const Context& ctx, float* dq, float* dk, float* dv,
                                  float* dlog_decay, float* dinitial_state, const float* dout,
                                  const float* dfinal_state, const float* q, const float* k,
                                  const float* v, const float* log_decay,
                                  const float* initial_state, int batch, int seq, int heads,
                                  int key_dim, int value_dim, int chunk);

}  // namespace flopwise::kernels::cuda
