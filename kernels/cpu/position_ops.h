// Positional ops templated on the element type: RoPE (LLaMA), LRPE (cos2)
// and TPE (cos2, ssm variant). Shapes as in kernels/backend.h.
#pragma once

#include "kernels/cpu/scratch.h"

namespace flopwise::kernels::cpu {

// out,inp [B,T,H,D]; in place allowed
template <typename T>
void RopeForward(T* out, const T* inp, int batch, int seq, int heads, int head_dim, int pos_offset,
                 T base, Scratch<T>& scratch);
// dinp [B,T,H,D] = (written, not added); in place allowed
template <typename T>
void RopeBackward(T* dinp, const T* dout, int batch, int seq, int heads, int head_dim,
                  int pos_offset, T base, Scratch<T>& scratch);

// inp [B,T,H,D] → out [B,T,H,2D]; theta [H,D]
template <typename T>
void LrpeForward(T* out, const T* inp, const T* theta, int batch, int seq, int heads, int head_dim,
                 int pos_offset, Scratch<T>& scratch);
// dinp [B,T,H,D] = (written, not added); dtheta [H,D] += (nullable)
template <typename T>
void LrpeBackward(T* dinp, T* dtheta, const T* dout, const T* inp, const T* theta, int batch,
                  int seq, int heads, int head_dim, int pos_offset, Scratch<T>& scratch);

// inp,out [B,T,dim]; b_weight [dim,e]; log_gamma [e]
template <typename T>
void TpeForward(T* out, const T* inp, const T* b_weight, const T* log_gamma, int batch, int seq,
                int dim, int tpe_dim, Scratch<T>& scratch);
// dinp [B,T,dim] +=; db_weight [dim,e] += (nullable)
template <typename T>
void TpeBackward(T* dinp, T* db_weight, const T* dout, const T* inp, const T* b_weight,
                 const T* log_gamma, int batch, int seq, int dim, int tpe_dim, Scratch<T>& scratch);

}  // namespace flopwise::kernels::cpu
