// Chunked gated linear attention with a per-token, per-key-channel decay
// (HGRN2; GLA form), templated on the element type. Shapes as in
// kernels/backend.h.
#pragma once

#include "kernels/cpu/scratch.h"

namespace flopwise::kernels::cpu {

// q,k,log_decay [B,T,H,Dk]; v,out [B,T,H,Dv]; states [B,H,Dk,Dv] (nullable)
template <typename T>
void GatedLinearAttentionForward(T* out, T* final_state, const T* q, const T* k, const T* v,
                                 const T* log_decay, const T* initial_state, int batch, int seq,
                                 int heads, int key_dim, int value_dim, int chunk,
                                 Scratch<T>& scratch);

// dq,dk,dlog_decay [B,T,H,Dk] +=; dv +=; dinitial_state += (nullable); dfinal_state nullable
template <typename T>
void GatedLinearAttentionBackward(T* dq, T* dk, T* dv, T* dlog_decay, T* dinitial_state,
                                  const T* dout, const T* dfinal_state, const T* q, const T* k,
                                  const T* v, const T* log_decay, const T* initial_state, int batch,
                                  int seq, int heads, int key_dim, int value_dim, int chunk,
                                  Scratch<T>& scratch);

}  // namespace flopwise::kernels::cpu
