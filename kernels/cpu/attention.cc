// Forward: per (batch, head, query block of kBlock rows), key blocks are
// visited left to right with an online softmax (running max m, running sum
// l, rescaled accumulator), so at most kBlock×kBlock scores exist at a time.
// Saves lse = m + log l per row. Backward: per (batch, head), recomputes each
// score block P = exp(S − lse), then dP = dO Vᵀ, dS = P ⊙ (dP − Δ) with
// Δ_i = dO_i·O_i, and accumulates dQ, dK, dV with GEMMs.
#include "kernels/cpu/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/fast_math.h"

namespace flopwise::kernels::cpu {
namespace {

constexpr int kBlock = 64;

}  // namespace

template <typename T>
void AttentionForward(T* out, T* lse, const T* q, const T* k, const T* v, int batch, int seq,
                      int heads, int head_dim, Scratch<T>& scratch) {
  const int D = head_dim;
  const int ld = heads * D;
  const T scale = T(1) / std::sqrt(T(D));
  const int q_blocks = (seq + kBlock - 1) / kBlock;
  const int64_t per_thread = static_cast<int64_t>(kBlock) * kBlock + 2 * kBlock;
  T* base = scratch.Get(per_thread * omp_get_max_threads());
  BlasSingleThreaded single_blas;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t task = 0; task < static_cast<int64_t>(batch) * heads * q_blocks; ++task) {
    const int qb = static_cast<int>(task % q_blocks);
    const int bh = static_cast<int>(task / q_blocks);
    const int b = bh / heads;
    const int h = bh % heads;
    T* s = base + per_thread * omp_get_thread_num();  // [kBlock, kBlock]
    T* row_max = s + static_cast<int64_t>(kBlock) * kBlock;
    T* row_sum = row_max + kBlock;
    const int i0 = qb * kBlock;
    const int rows = std::min(kBlock, seq - i0);
    const int64_t head_off = static_cast<int64_t>(h) * D;
    const T* qi = q + (static_cast<int64_t>(b) * seq + i0) * ld + head_off;
    T* oi = out + (static_cast<int64_t>(b) * seq + i0) * ld + head_off;
    std::fill_n(row_max, rows, -std::numeric_limits<T>::infinity());
    std::fill_n(row_sum, rows, T(0));
    for (int r = 0; r < rows; ++r) std::fill_n(oi + static_cast<int64_t>(r) * ld, D, T(0));
    for (int j0 = 0; j0 < i0 + rows; j0 += kBlock) {
      const int cols = std::min(kBlock, seq - j0);
      const T* kj = k + (static_cast<int64_t>(b) * seq + j0) * ld + head_off;
      const T* vj = v + (static_cast<int64_t>(b) * seq + j0) * ld + head_off;
      Gemm<T>(false, true, rows, cols, D, scale, qi, ld, kj, ld, T(0), s, kBlock);
      for (int r = 0; r < rows; ++r) {
        T* sr = s + static_cast<int64_t>(r) * kBlock;
        const int last = std::min(cols, i0 + r - j0 + 1);  // keys j ≤ i
        T m = row_max[r];
        for (int c = 0; c < last; ++c) m = std::max(m, sr[c]);
        const T correction = std::exp(row_max[r] - m);
        T sum = 0;
        for (int c = 0; c < last; ++c) {
          sr[c] = Exp<T>(sr[c] - m);
          sum += sr[c];
        }
        for (int c = last; c < cols; ++c) sr[c] = T(0);
        row_sum[r] = row_sum[r] * correction + sum;
        row_max[r] = m;
        T* o = oi + static_cast<int64_t>(r) * ld;
        for (int d = 0; d < D; ++d) o[d] *= correction;
      }
      Gemm<T>(false, false, rows, D, cols, T(1), s, kBlock, vj, ld, T(1), oi, ld);
    }
    T* lse_row = lse + static_cast<int64_t>(bh) * seq + i0;
    for (int r = 0; r < rows; ++r) {
      T* o = oi + static_cast<int64_t>(r) * ld;
      const T inv = T(1) / row_sum[r];
      for (int d = 0; d < D; ++d) o[d] *= inv;
      lse_row[r] = row_max[r] + std::log(row_sum[r]);
    }
  }
}

template <typename T>
void AttentionBackward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                       const T* out, const T* lse, int batch, int seq, int heads, int head_dim,
                       Scratch<T>& scratch) {
  const int D = head_dim;
  const int ld = heads * D;
  const T scale = T(1) / std::sqrt(T(D));
  const int64_t per_thread = 2 * static_cast<int64_t>(kBlock) * kBlock + seq;
  T* base = scratch.Get(per_thread * omp_get_max_threads());
  BlasSingleThreaded single_blas;
#pragma omp parallel for schedule(dynamic, 1)
  for (int bh = 0; bh < batch * heads; ++bh) {
    const int b = bh / heads;
    const int h = bh % heads;
    T* p = base + per_thread * omp_get_thread_num();  // [kBlock, kBlock]
    T* dp = p + static_cast<int64_t>(kBlock) * kBlock;
    T* delta = dp + static_cast<int64_t>(kBlock) * kBlock;  // [seq]
    const int64_t head0 = static_cast<int64_t>(b) * seq * ld + static_cast<int64_t>(h) * D;
    const T* lse_bh = lse + static_cast<int64_t>(bh) * seq;
    for (int t = 0; t < seq; ++t) {
      const T* g = dout + head0 + static_cast<int64_t>(t) * ld;
      const T* o = out + head0 + static_cast<int64_t>(t) * ld;
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int d = 0; d < D; ++d) sum += g[d] * o[d];
      delta[t] = sum;
    }
    for (int i0 = 0; i0 < seq; i0 += kBlock) {
      const int rows = std::min(kBlock, seq - i0);
      const int64_t io = head0 + static_cast<int64_t>(i0) * ld;
      for (int j0 = 0; j0 < i0 + rows; j0 += kBlock) {
        const int cols = std::min(kBlock, seq - j0);
        const int64_t jo = head0 + static_cast<int64_t>(j0) * ld;
        Gemm<T>(false, true, rows, cols, D, scale, q + io, ld, k + jo, ld, T(0), p, kBlock);
        Gemm<T>(false, true, rows, cols, D, T(1), dout + io, ld, v + jo, ld, T(0), dp, kBlock);
        for (int r = 0; r < rows; ++r) {
          T* pr = p + static_cast<int64_t>(r) * kBlock;
          T* dpr = dp + static_cast<int64_t>(r) * kBlock;
          const int last = std::min(cols, i0 + r - j0 + 1);
          const T l = lse_bh[i0 + r];
          const T dl = delta[i0 + r];
          for (int c = 0; c < last; ++c) {
            pr[c] = Exp<T>(pr[c] - l);
            dpr[c] = pr[c] * (dpr[c] - dl) * scale;  // dS·scale, ready for dQ and dK
          }
          for (int c = last; c < cols; ++c) {
            pr[c] = T(0);
            dpr[c] = T(0);
          }
        }
        Gemm<T>(true, false, cols, D, rows, T(1), p, kBlock, dout + io, ld, T(1), dv + jo, ld);
        Gemm<T>(false, false, rows, D, cols, T(1), dp, kBlock, k + jo, ld, T(1), dq + io, ld);
        Gemm<T>(true, false, cols, D, rows, T(1), dp, kBlock, q + io, ld, T(1), dk + jo, ld);
      }
    }
  }
}

#define FLOPWISE_INSTANTIATE_ATTENTION(T)                                                          \
  template void AttentionForward<T>(T*, T*, const T*, const T*, const T*, int, int, int, int,      \
                                    Scratch<T>&);                                                  \
  template void AttentionBackward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, \
                                     const T*, int, int, int, int, Scratch<T>&);

FLOPWISE_INSTANTIATE_ATTENTION(float)
FLOPWISE_INSTANTIATE_ATTENTION(double)

}  // namespace flopwise::kernels::cpu
