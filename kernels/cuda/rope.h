// Rotary position embedding on CUDA: the RoPE half of kernels/cpu/position_ops.h
// (LRPE and TPE are in kernels/cuda/position_ops.h). Shapes in kernels/backend.h.
#pragma once

#include "kernels/cuda/cuda_context.h"

namespace flopwise::kernels::cuda {

// out,inp [B,T,H,D]; in place allowed. Angles from a [T, D/2] cos/sin table
// in scratch slot 0, built per call with the CPU's fp32 rounding.
void RopeForward(const Context& ctx, float* out, const float* inp, int batch, int seq, int heads,
                 int head_dim, int pos_offset, float base);
// dinp [B,T,H,D] = Rᵀ·dout (written); in place allowed
void RopeBackward(const Context& ctx, float* dinp, const float* dout, int batch, int seq, int heads,
                  int head_dim, int pos_offset, float base);

}  // namespace flopwise::kernels::cuda
