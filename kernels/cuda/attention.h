// Causal softmax attention on the GPU in flash style (online softmax over key
// tiles; scores never stored). Same names and arguments as the Backend methods
// (kernels/backend.h) after the Context. Deterministic in every mode (no atomics).
#pragma once

#include "kernels/cuda/cuda_context.h"

namespace flopwise::kernels::cuda {

// q,k,v,out [B,T,H,D]; lse [B,H,T]; REQUIRES 1 ≤ head_dim ≤ 128
void AttentionForward(const Context& ctx, float* out, float* lse, const float* q, const float* k,
                      const float* v, int batch, int seq, int heads, int head_dim);
// dq,dk,dv [B,T,H,D] = (written); recomputes the scores from q, k, lse. Scratch slot 0: Δ [B,H,T].
void AttentionBackward(const Context& ctx, float* dq, float* dk, float* dv, const float* dout,
                       const float* q, const float* k, const float* v, const float* out,
                       const float* lse, int batch, int seq, int heads, int head_dim);

}  // namespace flopwise::kernels::cuda
