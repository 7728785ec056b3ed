// cuBLAS is column-major: a row-major [m,n] matrix with row stride ld is the
// column-major [n,m] matrix with leading dimension ld, its transpose. So the
// row-major c = op(a)·op(b) is the column-major cᵀ = op(b)ᵀ·op(a)ᵀ: swap the
// operands and the sizes m and n, keep each operand's transpose flag.
#include "kernels/cuda/blas.h"

namespace flopwise::kernels::cuda {
namespace {

cublasOperation_t Op(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

}  // namespace

void Gemm(const Context& ctx, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
          const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (!ctx.bf16_gemms) {
    FLOPWISE_CUBLAS_CHECK(cublasSgemm(ctx.cublas, Op(trans_b), Op(trans_a), n, m, k, &alpha, b, ldb,
                                      a, lda, &beta, c, ldc));
    return;
  }
  // fp32 in and out, bf16 products, fp32 accumulation: no bf16 copies of the
  // operands, and alpha/beta stay fp32 (CUBLAS_COMPUTE_32F_FAST_16BF).
  FLOPWISE_CUBLAS_CHECK(cublasGemmEx(ctx.cublas, Op(trans_b), Op(trans_a), n, m, k, &alpha, b,
                                     CUDA_R_32F, ldb, a, CUDA_R_32F, lda, &beta, c, CUDA_R_32F, ldc,
                                     CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT));
}

}  // namespace flopwise::kernels::cuda
