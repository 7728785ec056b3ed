#include "kernels/cpu/blas.h"

#include <cblas.h>

namespace flopwise::kernels::cpu {
namespace {

CBLAS_TRANSPOSE Op(bool trans) { return trans ? CblasTrans : CblasNoTrans; }

}  // namespace

template <>
void Gemm<float>(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                 int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  cblas_sgemm(CblasRowMajor, Op(trans_a), Op(trans_b), m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc);
}

template <>
void Gemm<double>(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a,
                  int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  cblas_dgemm(CblasRowMajor, Op(trans_a), Op(trans_b), m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc);
}

// OpenBLAS's OpenMP build (the one cmake/FlopwiseDeps.cmake links) already
// runs single-threaded inside a parallel region, and there its
// openblas_set_num_threads would also set OpenMP's own thread count; only the
// pthreads build needs its count lowered.
BlasSingleThreaded::BlasSingleThreaded()
    : saved_threads_(openblas_get_parallel() == OPENBLAS_OPENMP ? 1 : openblas_get_num_threads()) {
  if (saved_threads_ != 1) openblas_set_num_threads(1);
}

BlasSingleThreaded::~BlasSingleThreaded() {
  if (saved_threads_ != 1) openblas_set_num_threads(saved_threads_);
}

}  // namespace flopwise::kernels::cpu
