// Forward: per (batch, head, query block of kBlock rows), the block's scores
// against every key it may see (at most kBlock × seq of them) come from one
// GEMM, are turned into probabilities row by row (max, exp, sum: one pass),
// and meet V in a second GEMM. Two GEMMs per block instead of two per pair of
// blocks: at small head dims the per-call cost of BLAS dominates otherwise.
// Saves lse = m + log l per row. Backward: per (batch, head), recomputes each
// score block P = exp(S − lse), then dP = dO Vᵀ, dS = P ⊙ (dP − Δ) with
// Δ_i = dO_i·O_i, and writes dQ, dK, dV with GEMMs (each block's first
// product with beta 0, the rest added).
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
  const int64_t per_thread = static_cast<int64_t>(kBlock) * seq;
  T* base = scratch.Get(per_thread * omp_get_max_threads());
  BlasSingleThreaded single_blas;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t task = 0; task < static_cast<int64_t>(batch) * heads * q_blocks; ++task) {
    const int qb = static_cast<int>(task % q_blocks);
    const int bh = static_cast<int>(task / q_blocks);
    const int b = bh / heads;
    const int h = bh % heads;
    T* s = base + per_thread * omp_get_thread_num();  // [rows, keys], row stride seq
    const int i0 = qb * kBlock;
    const int rows = std::min(kBlock, seq - i0);
    const int keys = i0 + rows;  // the block's last query sees keys 0 … keys - 1
    const int64_t head0 = static_cast<int64_t>(b) * seq * ld + static_cast<int64_t>(h) * D;
    const int64_t io = head0 + static_cast<int64_t>(i0) * ld;
    Gemm<T>(false, true, rows, keys, D, scale, q + io, ld, k + head0, ld, T(0), s, seq);
    T* lse_row = lse + static_cast<int64_t>(bh) * seq + i0;
    for (int r = 0; r < rows; ++r) {
      T* sr = s + static_cast<int64_t>(r) * seq;
      const int last = i0 + r + 1;  // keys j ≤ i
      // The reductions are marked simd so that the compiler may reorder them;
      // otherwise both loops (Exp included) stay scalar.
      T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
      for (int c = 0; c < last; ++c) m = sr[c] > m ? sr[c] : m;
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int c = 0; c < last; ++c) {
        sr[c] = Exp<T>(sr[c] - m);
        sum += sr[c];
      }
      const T inv = T(1) / sum;
#pragma omp simd
      for (int c = 0; c < last; ++c) sr[c] *= inv;
      std::fill(sr + last, sr + keys, T(0));
      lse_row[r] = m + std::log(sum);
    }
    Gemm<T>(false, false, rows, D, keys, T(1), s, seq, v + head0, ld, T(0), out + io, ld);
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
        // The first product into each block writes it: query block i0 first
        // meets key block 0, and key block j0 is first met by query block j0.
        const T beta_q = j0 == 0 ? T(0) : T(1), beta_kv = j0 == i0 ? T(0) : T(1);
        Gemm<T>(true, false, cols, D, rows, T(1), p, kBlock, dout + io, ld, beta_kv, dv + jo, ld);
        Gemm<T>(false, false, rows, D, cols, T(1), dp, kBlock, k + jo, ld, beta_q, dq + io, ld);
        Gemm<T>(true, false, cols, D, rows, T(1), dp, kBlock, q + io, ld, beta_kv, dk + jo, ld);
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
