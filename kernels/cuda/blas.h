// cuBLAS wrapper with the CPU's row-major Gemm signature (kernels/cpu/blas.h).
#pragma once

#include "kernels/cuda/cuda_context.h"

namespace flopwise::kernels::cuda {

// Scratch slots of Gemm in bf16 mode: the bf16 copies of a and b.
inline constexpr int kGemmBf16SlotA = 7;
inline constexpr int kGemmBf16SlotB = 8;

// Row-major c[m,n] = alpha·op(a)·op(b) + beta·c on ctx.stream; op(a) [m,k],
// op(b) [k,n]; lda/ldb/ldc are the row strides of a, b, c as stored. fp32
// accumulation, fp32 alpha, beta and c. Products in fp32 without TF32 (the
// handle's math mode, cuda_backend.cu), or with ctx.bf16_gemms in bf16 on
// tensor cores: a and b are rounded to nearest bf16 into scratch slots
// kGemmBf16SlotA/B first (docs/kernels.md, "Mixed precision").
void Gemm(const Context& ctx, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
          const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);

}  // namespace flopwise::kernels::cuda
