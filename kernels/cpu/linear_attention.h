// Chunked linear attention with a per-head scalar decay (TNL, "lightning"
// form) or without decay (cos2), templated on the element type. Shapes as in
// kernels/backend.h; `scratch` is grown once and reused.
#pragma once

#include "kernels/cpu/scratch.h"

namespace flopwise::kernels::cpu {

// q,k [B,T,H,Dk]; v,out [B,T,H,Dv]; log_decay [H] (nullable); states [B,H,Dk,Dv] (nullable)
template <typename T>
void LinearAttentionForward(T* out, T* final_state, const T* q, const T* k, const T* v,
                            const T* log_decay, const T* initial_state, int batch, int seq,
                            int heads, int key_dim, int value_dim, int chunk, Scratch<T>& scratch);

// dq,dk [B,T,H,Dk] +=; dv [B,T,H,Dv] +=; dinitial_state += (nullable); dfinal_state nullable
template <typename T>
void LinearAttentionBackward(T* dq, T* dk, T* dv, T* dinitial_state, const T* dout,
                             const T* dfinal_state, const T* q, const T* k, const T* v,
                             const T* log_decay, const T* initial_state, int batch, int seq,
                             int heads, int key_dim, int value_dim, int chunk, Scratch<T>& scratch);

}  // namespace flopwise::kernels::cpu
