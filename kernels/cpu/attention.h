// Causal softmax attention in blocks of query rows (flash-style backward), templated
// on the element type. Shapes as in kernels/backend.h.
#pragma once

#include "kernels/cpu/scratch.h"

namespace flopwise::kernels::cpu {

// q,k,v,out [B,T,H,D]; lse [B,H,T]
template <typename T>
void AttentionForward(T* out, T* lse, const T* q, const T* k, const T* v, int batch, int seq,
                      int heads, int head_dim, Scratch<T>& scratch);
// dq,dk,dv [B,T,H,D] = (written, not added)
template <typename T>
void AttentionBackward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                       const T* out, const T* lse, int batch, int seq, int heads, int head_dim,
                       Scratch<T>& scratch);

}  // namespace flopwise::kernels::cpu
