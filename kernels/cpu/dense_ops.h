// Dense CPU ops templated on the element type: float for the backend, double
// for the exactness tests. Shapes and accumulation rules as in
// kernels/backend.h (backward ops add into their gradient outputs).
#pragma once

#include <cstdint>

#include "kernels/cpu/scratch.h"

namespace flopwise::kernels::cpu {

// out[rows,out_dim] = inp[rows,in_dim] · weight[out_dim,in_dim]ᵀ
template <typename T>
void MatmulForward(T* out, const T* inp, const T* weight, int rows, int in_dim, int out_dim);
// dinp[rows,in_dim] += dout·weight (nullable); dweight[out_dim,in_dim] += doutᵀ·inp (nullable)
template <typename T>
void MatmulBackward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight, int rows,
                    int in_dim, int out_dim);

// out[rows,dim] = embed[tokens[r], :]
template <typename T>
void EmbeddingForward(T* out, const int32_t* tokens, const T* embed, int rows, int dim);
// dembed[tokens[r], :] += dout[r, :]
template <typename T>
void EmbeddingBackward(T* dembed, const T* dout, const int32_t* tokens, int rows, int dim);

// out[rows,dim] = inp·rstd (⊙ weight if non-null); rstd[rows]
template <typename T>
void RmsNormForward(T* out, T* rstd, const T* inp, const T* weight, int rows, int dim, T eps);
// dinp[rows,dim] +=; dweight[dim] += (nullable)
template <typename T>
void RmsNormBackward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                     const T* rstd, int rows, int dim, Scratch<T>& scratch);

// The element-wise backwards write their input gradients (=), as forwards
// write their outputs (kernels/backend.h).
template <typename T>
void SiluForward(T* out, const T* inp, int64_t n);
template <typename T>
void SiluBackward(T* dinp, const T* dout, const T* inp, int64_t n);
template <typename T>
void SigmoidGateForward(T* out, const T* u, const T* z, int64_t n);
template <typename T>
void SigmoidGateBackward(T* du, T* dz, const T* dout, const T* u, const T* z, int64_t n);
template <typename T>
void GluForward(T* out, const T* u, const T* v, int64_t n);
template <typename T>
void GluBackward(T* du, T* dv, const T* dout, const T* u, const T* v, int64_t n);
template <typename T>
void SwigluForward(T* out, const T* u, const T* v, int64_t n);
template <typename T>
void SwigluBackward(T* du, T* dv, const T* dout, const T* u, const T* v, int64_t n);
template <typename T>
void ResidualForward(T* out, const T* a, const T* b, int64_t n);
template <typename T>
void ResidualBackward(T* da, T* db, const T* dout, int64_t n);
template <typename T>
void Accumulate(T* y, const T* x, int64_t n);
template <typename T>
void Scale(T* x, T scale, int64_t n);

// memset and memcpy split over the OpenMP threads: the buffers they see in a
// training step are larger than the caches, and one core alone gets half the
// memory bandwidth that two get.
void ParallelZero(void* ptr, int64_t bytes);
void ParallelCopy(void* dst, const void* src, int64_t bytes);

// AdamW with decoupled weight decay; step is 1-based.
template <typename T>
void AdamWUpdate(T* param, const T* grad, T* m, T* v, int64_t n, T lr, T beta1, T beta2, T eps,
                 T weight_decay, int64_t step, T grad_scale);
template <typename T>
double SumOfSquares(const T* x, int64_t n);

}  // namespace flopwise::kernels::cpu
