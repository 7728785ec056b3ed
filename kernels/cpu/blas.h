// BLAS wrappers templated on the element type (float → sgemm for the
// backend, double → dgemm for exactness tests), plus a guard that keeps
// OpenBLAS single-threaded inside our own OpenMP parallel regions.
#pragma once

namespace flopwise::kernels::cpu {

// Row-major c[m,n] = alpha·op(a)·op(b) + beta·c; op(a) [m,k], op(b) [k,n];
// lda/ldb/ldc are the row strides of a, b, c as stored.
template <typename T>
void Gemm(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
          int ldb, T beta, T* c, int ldc);

// While alive, OpenBLAS runs every call on the calling thread (each OpenMP
// thread then does its own small GEMMs). Restores the previous count.
class BlasSingleThreaded {
 public:
  BlasSingleThreaded();
  ~BlasSingleThreaded();
  BlasSingleThreaded(const BlasSingleThreaded&) = delete;
  BlasSingleThreaded& operator=(const BlasSingleThreaded&) = delete;

 private:
  int saved_threads_;
};

}  // namespace flopwise::kernels::cpu
