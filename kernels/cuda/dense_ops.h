// Dense CUDA ops, the counterparts of kernels/cpu/dense_ops.h: same names,
// the Backend method's arguments after the Context (shapes and accumulation
// rules in kernels/backend.h). Every op is queued on ctx.stream; only
// SumOfSquares waits for it. Results do not depend on ctx.deterministic:
// no op here reduces with atomics. Ops use scratch slot 0 only during the
// call.
#pragma once

#include <cstdint>

#include "kernels/cuda/cuda_context.h"

namespace flopwise::kernels::cuda {

// out[rows,out_dim] = inp[rows,in_dim] · weight[out_dim,in_dim]ᵀ
void MatmulForward(const Context& ctx, float* out, const float* inp, const float* weight, int rows,
                   int in_dim, int out_dim);
// dinp[rows,in_dim] += dout·weight (nullable); dweight[out_dim,in_dim] += doutᵀ·inp (nullable)
void MatmulBackward(const Context& ctx, float* dinp, float* dweight, const float* dout,
                    const float* inp, const float* weight, int rows, int in_dim, int out_dim);

// out[rows,dim] = embed[tokens[r], :]
void EmbeddingForward(const Context& ctx, float* out, const int32_t* tokens, const float* embed,
                      int rows, int dim);
// dembed[tokens[r], :] += dout[r, :]. Rows are sorted by token (stable radix
// sort) and each distinct token sums its rows in row order: no atomics.
void EmbeddingBackward(const Context& ctx, float* dembed, const float* dout, const int32_t* tokens,
                       int rows, int dim);

// out[rows,dim] = inp·rstd (⊙ weight if non-null); rstd[rows]
void RmsNormForward(const Context& ctx, float* out, float* rstd, const float* inp,
                    const float* weight, int rows, int dim, float eps);
// dinp[rows,dim] +=; dweight[dim] += (nullable; column sums over row groups,
// then over the groups, in a fixed order)
void RmsNormBackward(const Context& ctx, float* dinp, float* dweight, const float* dout,
                     const float* inp, const float* weight, const float* rstd, int rows, int dim);

// The element-wise backwards write their input gradients (kernels/backend.h).
void SiluForward(const Context& ctx, float* out, const float* inp, int64_t n);
void SiluBackward(const Context& ctx, float* dinp, const float* dout, const float* inp, int64_t n);
void SigmoidGateForward(const Context& ctx, float* out, const float* u, const float* z, int64_t n);
void SigmoidGateBackward(const Context& ctx, float* du, float* dz, const float* dout,
                         const float* u, const float* z, int64_t n);
void GluForward(const Context& ctx, float* out, const float* u, const float* v, int64_t n);
void GluBackward(const Context& ctx, float* du, float* dv, const float* dout, const float* u,
                 const float* v, int64_t n);
void SwigluForward(const Context& ctx, float* out, const float* u, const float* v, int64_t n);
void SwigluBackward(const Context& ctx, float* du, float* dv, const float* dout, const float* u,
                    const float* v, int64_t n);
void ResidualForward(const Context& ctx, float* out, const float* a, const float* b, int64_t n);
void ResidualBackward(const Context& ctx, float* da, float* db, const float* dout, int64_t n);
void Accumulate(const Context& ctx, float* y, const float* x, int64_t n);
void Scale(const Context& ctx, float* x, float scale, int64_t n);

// AdamW with decoupled weight decay in one pass; step is 1-based.
void AdamWUpdate(const Context& ctx, float* param, const float* grad, float* m, float* v, int64_t n,
                 float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step,
                 float grad_scale);
// Σ x² in double: per-block partial sums, then one block adds them, both in a
// fixed order (bit-identical between runs). Waits for ctx.stream.
double SumOfSquares(const Context& ctx, const float* x, int64_t n);

}  // namespace flopwise::kernels::cuda
