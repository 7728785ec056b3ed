// LRPE and TPE (cos2, docs/model-contract.md §5.1, §5.2) on the GPU; RoPE is in
// dense_ops. Same names and arguments as the Backend methods (kernels/backend.h)
// after the Context; deterministic in every mode (dtheta and db_weight are
// two-stage sums, no atomics).
#pragma once

#include "kernels/cuda/cuda_context.h"

namespace flopwise::kernels::cuda {

// inp [B,T,H,D] → out [B,T,H,2D]; theta [H,D]; τ = pos_offset + t
void LrpeForward(const Context& ctx, float* out, const float* inp, const float* theta, int batch,
                 int seq, int heads, int head_dim, int pos_offset);
// dinp [B,T,H,D] = (written); dtheta [H,D] += (nullable). Scratch slot 0.
void LrpeBackward(const Context& ctx, float* dinp, float* dtheta, const float* dout,
                  const float* inp, const float* theta, int batch, int seq, int heads, int head_dim,
                  int pos_offset);

// inp,out [B,T,dim]; b_weight [dim,e]; log_gamma [e] (≤ 0)
void TpeForward(const Context& ctx, float* out, const float* inp, const float* b_weight,
                const float* log_gamma, int batch, int seq, int dim, int tpe_dim);
// dinp [B,T,dim] +=; db_weight [dim,e] += (nullable). Scratch slot 0.
void TpeBackward(const Context& ctx, float* dinp, float* db_weight, const float* dout,
                 const float* inp, const float* b_weight, const float* log_gamma, int batch,
                 int seq, int dim, int tpe_dim);

}  // namespace flopwise::kernels::cuda
