// cuBLAS is column-major: a row-major [m,n] matrix with row stride ld is the
// column-major [n,m] matrix with leading dimension ld, its transpose. So the
// row-major c = op(a)·op(b) is the column-major cᵀ = op(b)ᵀ·op(a)ᵀ: swap the
// operands and the sizes m and n, keep each operand's transpose flag.
#include "kernels/cuda/blas.h"

#include <cuda_bf16.h>

#include "kernels/cuda/reduce.cuh"

namespace flopwise::kernels::cuda {
namespace {

cublasOperation_t Op(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

__global__ void RoundToBf16Kernel(__nv_bfloat16* out, const float* in, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) out[i] = __float2bfloat16_rn(in[i]);
}

// A bf16 copy, rounded to nearest even, of the row-major operand x of `rows`
// rows holding `cols` values each at row stride ld, in scratch `slot` with the
// same stride (the gaps between rows are copied too: one contiguous pass).
const __nv_bfloat16* Bf16Copy(const Context& ctx, int slot, const float* x, int rows, int cols,
                              int ld) {
  const int64_t n = int64_t{rows - 1} * ld + cols;
  auto* copy = static_cast<__nv_bfloat16*>(ctx.scratch->Get(slot, n * 2));
  RoundToBf16Kernel<<<BlocksFor(n, kThreads), kThreads, 0, ctx.stream>>>(copy, x, n);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
  return copy;
}

}  // namespace

void Gemm(const Context& ctx, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
          const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (!ctx.bf16_gemms || k <= 0) {
    FLOPWISE_CUBLAS_CHECK(cublasSgemm(ctx.cublas, Op(trans_b), Op(trans_a), n, m, k, &alpha, b, ldb,
                                      a, lda, &beta, c, ldc));
    return;
  }
  // Our own rounding, not CUBLAS_COMPUTE_32F_FAST_16BF's, whose rounding is
  // undocumented: truncation would be biased and, emulated on the CPU, tripled
  // the whole models' gradient errors (docs/kernels.md, "Mixed precision").
  const __nv_bfloat16* a16 =
      Bf16Copy(ctx, kGemmBf16SlotA, a, trans_a ? k : m, trans_a ? m : k, lda);
  const __nv_bfloat16* b16 =
      Bf16Copy(ctx, kGemmBf16SlotB, b, trans_b ? n : k, trans_b ? k : n, ldb);
  FLOPWISE_CUBLAS_CHECK(cublasGemmEx(ctx.cublas, Op(trans_b), Op(trans_a), n, m, k, &alpha, b16,
                                     CUDA_R_16BF, ldb, a16, CUDA_R_16BF, lda, &beta, c, CUDA_R_32F,
                                     ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace flopwise::kernels::cuda
