// Algorithm (docs/model-contract.md §6, scalar case): per (batch, head), chunks of
// C tokens; inside a chunk with incoming state S (Dk×Dv):
//   A    = (Q Kᵀ) ⊙ M,  M[i,j] = λ^(i-j) for j ≤ i else 0   (mask built from powers ≤ 1)
//   O    = A V + diag(λ^(i+1)) Q S
//   S'   = λ^Lc S + (diag(λ^(Lc-1-j)) K)ᵀ V
// Every decay power is exp(non-positive): nothing is ever divided by a decay.
// Backward recomputes the chunk states: a forward sweep gives dQ's inter-chunk
// part, a reverse sweep carries R = ∂L/∂S' and gives the intra-chunk parts
// and dK, dV (docs/model-contract.md §7.1).
#include "kernels/cpu/linear_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/blas.h"

namespace flopwise::kernels::cpu {
namespace {

template <typename T>
void FillPowers(T* powers, T log_decay, int count) {
  for (int m = 0; m < count; ++m) powers[m] = std::exp(log_decay * T(m));
}

// a[i,j] *= powers[i-j] for j ≤ i, 0 above the diagonal; a is len×len, row stride ld.
template <typename T>
void ApplyCausalDecayMask(T* a, int ld, int len, const T* powers) {
  for (int i = 0; i < len; ++i) {
    T* row = a + static_cast<int64_t>(i) * ld;
    for (int j = 0; j <= i; ++j) row[j] *= powers[i - j];
    for (int j = i + 1; j < len; ++j) row[j] = T(0);
  }
}

// dst[r,:] = src[r*ld_src,:]·factor[r] for r < rows (cols wide, dst dense).
template <typename T>
void ScaleRows(T* dst, const T* src, int ld_src, int rows, int cols, const T* factor) {
  for (int r = 0; r < rows; ++r) {
    const T f = factor[r];
    const T* s = src + static_cast<int64_t>(r) * ld_src;
    T* d = dst + static_cast<int64_t>(r) * cols;
    for (int c = 0; c < cols; ++c) d[c] = s[c] * f;
  }
}

// Sizes and strides of one backward call (token-major [B,T,H,D] tensors).
struct LaDims {
  int seq, heads, key_dim, value_dim, chunk;
  int ldk() const { return heads * key_dim; }
  int ldv() const { return heads * value_dim; }
  int64_t state_size() const { return static_cast<int64_t>(key_dim) * value_dim; }
};

// Per-thread scratch of the backward pass.
template <typename T>
struct LaBackwardScratch {
  T* powers;       // [C+1] λ^m
  T *qfac, *kfac;  // [C] λ^(i+1), λ^(len-1-j)
  T *a, *da;       // [C,C]
  T* scaled;       // [C, max(Dk,Dv)]
  T* state;        // [Dk,Dv] forward chunk state
  T* rev;          // [Dk,Dv] R = ∂L/∂(state after the chunk)

  static int64_t Floats(const LaDims& dims) {
    const int64_t C = dims.chunk;
    return (C + 1) + 2 * C + 2 * C * C + C * std::max(dims.key_dim, dims.value_dim) +
           2 * dims.state_size();
  }
  static LaBackwardScratch Carve(T* base, const LaDims& dims) {
    const int64_t C = dims.chunk;
    LaBackwardScratch s;
    s.powers = base;
    s.qfac = s.powers + (C + 1);
    s.kfac = s.qfac + C;
    s.a = s.kfac + C;
    s.da = s.a + C * C;
    s.scaled = s.da + C * C;
    s.state = s.scaled + C * std::max(dims.key_dim, dims.value_dim);
    s.rev = s.state + dims.state_size();
    return s;
  }
  // qfac[i] = λ^(i+1), kfac[j] = λ^(len-1-j) for a chunk of `len` tokens.
  void FillChunkFactors(int len) {
    for (int i = 0; i < len; ++i) {
      qfac[i] = powers[i + 1];
      kfac[i] = powers[len - 1 - i];
    }
  }
};

// One (batch, head)'s tensors, each pointing at its first row of that head.
template <typename T>
struct LaHead {
  const T *q, *k, *v, *dout;
  T *dq, *dk, *dv;
};

// Forward sweep over the chunks: dQ += diag(λ^(i+1)) dO Sᵀ with S the state
// entering each chunk.
template <typename T>
void DqFromIncomingStates(const LaHead<T>& hd, const T* initial_state, int64_t state_offset,
                          const LaDims& dims, LaBackwardScratch<T>& s) {
  const int dk = dims.key_dim, dv = dims.value_dim, ldk = dims.ldk(), ldv = dims.ldv();
  const int64_t state_size = dims.state_size();
  if (initial_state != nullptr) {
    std::copy_n(initial_state + state_offset, state_size, s.state);
  } else {
    std::fill_n(s.state, state_size, T(0));
  }
  for (int t0 = 0; t0 < dims.seq; t0 += dims.chunk) {
    const int len = std::min(dims.chunk, dims.seq - t0);
    s.FillChunkFactors(len);
    ScaleRows(s.scaled, hd.dout + static_cast<int64_t>(t0) * ldv, ldv, len, dv, s.qfac);
    Gemm<T>(false, true, len, dk, dv, T(1), s.scaled, dv, s.state, dv, T(1),
            hd.dq + static_cast<int64_t>(t0) * ldk, ldk);
    if (t0 + len >= dims.seq) break;  // the last state is not needed
    const T state_decay = s.powers[len];
    for (int64_t e = 0; e < state_size; ++e) s.state[e] *= state_decay;
    const T* kc = hd.k + static_cast<int64_t>(t0) * ldk;
    ScaleRows(s.scaled, kc, ldk, len, dk, s.kfac);
    Gemm<T>(true, false, dk, dv, len, T(1), s.scaled, dk, hd.v + static_cast<int64_t>(t0) * ldv,
            ldv, T(1), s.state, dv);
  }
}

// One chunk of the reverse sweep (chunk factors filled, R the gradient of
// the chunk's exit state): the intra-chunk parts, the inter-chunk dK, dV,
// then R becomes the gradient of the chunk's entry state.
template <typename T>
void ReverseSweepChunk(const LaHead<T>& hd, int t0, int len, const LaDims& dims,
                       LaBackwardScratch<T>& s) {
  const int dk = dims.key_dim, dv = dims.value_dim, ldk = dims.ldk(), ldv = dims.ldv();
  const int C = dims.chunk;
  const T* qc = hd.q + static_cast<int64_t>(t0) * ldk;
  const T* kc = hd.k + static_cast<int64_t>(t0) * ldk;
  const T* vc = hd.v + static_cast<int64_t>(t0) * ldv;
  const T* doc = hd.dout + static_cast<int64_t>(t0) * ldv;
  T* dqc = hd.dq + static_cast<int64_t>(t0) * ldk;
  T* dkc = hd.dk + static_cast<int64_t>(t0) * ldk;
  T* dvc = hd.dv + static_cast<int64_t>(t0) * ldv;
  // Intra: A = (Q Kᵀ)⊙M, dA = (dO Vᵀ)⊙M; dQ += dA K, dK += dAᵀ Q, dV += Aᵀ dO.
  Gemm<T>(false, true, len, len, dk, T(1), qc, ldk, kc, ldk, T(0), s.a, C);
  ApplyCausalDecayMask(s.a, C, len, s.powers);
  Gemm<T>(false, true, len, len, dv, T(1), doc, ldv, vc, ldv, T(0), s.da, C);
  ApplyCausalDecayMask(s.da, C, len, s.powers);
  Gemm<T>(false, false, len, dk, len, T(1), s.da, C, kc, ldk, T(1), dqc, ldk);
  Gemm<T>(true, false, len, dk, len, T(1), s.da, C, qc, ldk, T(1), dkc, ldk);
  Gemm<T>(true, false, len, dv, len, T(1), s.a, C, doc, ldv, T(1), dvc, ldv);
  // Inter: dK += diag(λ^(len-1-j)) V Rᵀ, dV += diag(λ^(len-1-j)) K R.
  ScaleRows(s.scaled, vc, ldv, len, dv, s.kfac);
  Gemm<T>(false, true, len, dk, dv, T(1), s.scaled, dv, s.rev, dv, T(1), dkc, ldk);
  ScaleRows(s.scaled, kc, ldk, len, dk, s.kfac);
  Gemm<T>(false, false, len, dv, dk, T(1), s.scaled, dk, s.rev, dv, T(1), dvc, ldv);
  // R ← λ^len R + (diag(λ^(i+1)) Q)ᵀ dO
  const T state_decay = s.powers[len];
  for (int64_t e = 0; e < dims.state_size(); ++e) s.rev[e] *= state_decay;
  ScaleRows(s.scaled, qc, ldk, len, dk, s.qfac);
  Gemm<T>(true, false, dk, dv, len, T(1), s.scaled, dk, doc, ldv, T(1), s.rev, dv);
}

}  // namespace

template <typename T>
void LinearAttentionForward(T* out, T* final_state, const T* q, const T* k, const T* v,
                            const T* log_decay, const T* initial_state, int batch, int seq,
                            int heads, int key_dim, int value_dim, int chunk, Scratch<T>& scratch) {
  const int C = std::min(chunk, std::max(seq, 1));
  const int64_t state_size = static_cast<int64_t>(key_dim) * value_dim;
  const int64_t per_thread = (C + 1) + 2 * C + static_cast<int64_t>(C) * C +
                             static_cast<int64_t>(C) * std::max(key_dim, value_dim) + state_size;
  T* base = scratch.Get(per_thread * omp_get_max_threads());
  BlasSingleThreaded single_blas;
#pragma omp parallel for schedule(dynamic, 1)
  for (int bh = 0; bh < batch * heads; ++bh) {
    const int b = bh / heads;
    const int h = bh % heads;
    T* ws = base + per_thread * omp_get_thread_num();
    T* powers = ws;                               // [C+1] λ^m
    T* qfac = powers + (C + 1);                   // [C] λ^(i+1)
    T* kfac = qfac + C;                           // [C] λ^(Lc-1-j)
    T* a = kfac + C;                              // [C,C]
    T* scaled = a + static_cast<int64_t>(C) * C;  // [C,max(Dk,Dv)]
    T* state = scaled + static_cast<int64_t>(C) * std::max(key_dim, value_dim);
    FillPowers(powers, log_decay != nullptr ? log_decay[h] : T(0), C + 1);
    const int64_t state_offset = static_cast<int64_t>(bh) * state_size;
    if (initial_state != nullptr) {
      std::copy_n(initial_state + state_offset, state_size, state);
    } else {
      std::fill_n(state, state_size, T(0));
    }
    const int ldk = heads * key_dim;
    const int ldv = heads * value_dim;
    for (int t0 = 0; t0 < seq; t0 += C) {
      const int len = std::min(C, seq - t0);
      const int64_t row0 = static_cast<int64_t>(b) * seq + t0;
      const T* qc = q + row0 * ldk + static_cast<int64_t>(h) * key_dim;
      const T* kc = k + row0 * ldk + static_cast<int64_t>(h) * key_dim;
      const T* vc = v + row0 * ldv + static_cast<int64_t>(h) * value_dim;
      T* oc = out + row0 * ldv + static_cast<int64_t>(h) * value_dim;
      for (int i = 0; i < len; ++i) {
        qfac[i] = powers[i + 1];
        kfac[i] = powers[len - 1 - i];
      }
      // Intra: O = ((Q Kᵀ) ⊙ M) V
      Gemm<T>(false, true, len, len, key_dim, T(1), qc, ldk, kc, ldk, T(0), a, C);
      ApplyCausalDecayMask(a, C, len, powers);
      Gemm<T>(false, false, len, value_dim, len, T(1), a, C, vc, ldv, T(0), oc, ldv);
      // Inter: O += diag(λ^(i+1)) Q S
      ScaleRows(scaled, qc, ldk, len, key_dim, qfac);
      Gemm<T>(false, false, len, value_dim, key_dim, T(1), scaled, key_dim, state, value_dim, T(1),
              oc, ldv);
      // State: S = λ^len S + (diag(λ^(len-1-j)) K)ᵀ V
      const T state_decay = powers[len];
      for (int64_t e = 0; e < state_size; ++e) state[e] *= state_decay;
      ScaleRows(scaled, kc, ldk, len, key_dim, kfac);
      Gemm<T>(true, false, key_dim, value_dim, len, T(1), scaled, key_dim, vc, ldv, T(1), state,
              value_dim);
    }
    if (final_state != nullptr) std::copy_n(state, state_size, final_state + state_offset);
  }
}

template <typename T>
void LinearAttentionBackward(T* dq, T* dk, T* dv, T* dinitial_state, const T* dout,
                             const T* dfinal_state, const T* q, const T* k, const T* v,
                             const T* log_decay, const T* initial_state, int batch, int seq,
                             int heads, int key_dim, int value_dim, int chunk,
                             Scratch<T>& scratch) {
  const LaDims dims{seq, heads, key_dim, value_dim, std::min(chunk, std::max(seq, 1))};
  const int64_t state_size = dims.state_size();
  const int64_t per_thread = LaBackwardScratch<T>::Floats(dims);
  T* base = scratch.Get(per_thread * omp_get_max_threads());
  BlasSingleThreaded single_blas;
#pragma omp parallel for schedule(dynamic, 1)
  for (int bh = 0; bh < batch * heads; ++bh) {
    const int b = bh / heads;
    const int h = bh % heads;
    auto s = LaBackwardScratch<T>::Carve(base + per_thread * omp_get_thread_num(), dims);
    FillPowers(s.powers, log_decay != nullptr ? log_decay[h] : T(0), dims.chunk + 1);
    const int64_t state_offset = static_cast<int64_t>(bh) * state_size;
    const int64_t ko =
        static_cast<int64_t>(b) * seq * dims.ldk() + static_cast<int64_t>(h) * key_dim;
    const int64_t vo =
        static_cast<int64_t>(b) * seq * dims.ldv() + static_cast<int64_t>(h) * value_dim;
    const LaHead<T> hd{q + ko, k + ko, v + vo, dout + vo, dq + ko, dk + ko, dv + vo};
    DqFromIncomingStates(hd, initial_state, state_offset, dims, s);
    if (dfinal_state != nullptr) {
      std::copy_n(dfinal_state + state_offset, state_size, s.rev);
    } else {
      std::fill_n(s.rev, state_size, T(0));
    }
    const int num_chunks = (seq + dims.chunk - 1) / dims.chunk;
    for (int c = num_chunks - 1; c >= 0; --c) {
      const int t0 = c * dims.chunk;
      const int len = std::min(dims.chunk, seq - t0);
      s.FillChunkFactors(len);
      ReverseSweepChunk(hd, t0, len, dims, s);
    }
    if (dinitial_state != nullptr) {
      T* dst = dinitial_state + state_offset;
      for (int64_t e = 0; e < state_size; ++e) dst[e] += s.rev[e];
    }
  }
}

#define FLOPWISE_INSTANTIATE_LINEAR_ATTENTION(T)                                                   \
  template void LinearAttentionForward<T>(T*, T*, const T*, const T*, const T*, const T*,          \
                                          const T*, int, int, int, int, int, int, Scratch<T>&);    \
  template void LinearAttentionBackward<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*, \
                                           const T*, const T*, const T*, int, int, int, int, int,  \
                                           int, Scratch<T>&);

FLOPWISE_INSTANTIATE_LINEAR_ATTENTION(float)
FLOPWISE_INSTANTIATE_LINEAR_ATTENTION(double)

}  // namespace flopwise::kernels::cpu
