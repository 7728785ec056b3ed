// Chunked linear attention with a per-head scalar decay (TNL) or none (cos2)
// on the GPU. Same names and arguments as the Backend methods
// (kernels/backend.h) after the Context; deterministic in every mode.
#pragma once

#include "kernels/cuda/cuda_context.h"

namespace flopwise::kernels::cuda {

// q,k [B,T,H,Dk]; v,out [B,T,H,Dv]; log_decay [H] (nullable: no decay); states [B,H,Dk,Dv]
// (initial_state nullable = 0; final_state nullable). Chunks longer than 64 run as 64
// (results never depend on chunk). Scratch slots 0-3.
void LinearAttentionForward(const Context& ctx, float* out, float* final_state, const float* q,
                            const float* k, const float* v, const float* log_decay,
                            const float* initial_state, int batch, int seq, int heads, int key_dim,
                            int value_dim, int chunk);
// dq,dk [B,T,H,Dk] +=; dv [B,T,H,Dv] +=; dinitial_state += (nullable); dfinal_state nullable
// = 0. Scratch slots 0-6.
void LinearAttentionBackward(const Context& ctx, float* dq, float* dk, float* dv,
                             float* dinitial_state, const float* dout, const float* dfinal_state,
                             const float* q, const float* k, const float* v, const float* log_decay,
                             const float* initial_state, int batch, int seq, int heads, int key_dim,
                             int value_dim, int chunk);

}  // namespace flopwise::kernels::cuda
