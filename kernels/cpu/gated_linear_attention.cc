// Algorithm (docs/model-contract.md §6 vector case, §7.4): per (batch, head),
// chunks of C tokens with incoming state S (Dk×Dv) and log-decays a_τ ≤ 0.
// Every decay factor is built from sums or products of the steps between
// two positions, never from a difference of cumulative sums, so nothing
// overflows and nothing cancels (φ = −30 at every token is exact):
//   qfac_i = exp(Σ_{r≤i} a_r)          running prefix sum inside the chunk
//   kfac_j = exp(Σ_{j<r<Lc} a_r)       running suffix sum inside the chunk
//   P_ji   = Π_{j<r≤i} exp(a_r)        running product (intra-chunk pairs)
//   A[i,j] = Σ_c q_i[c] k_j[c] P_ji[c] (j ≤ i)   element-wise, vectorised over c
//   O      = A V + (Q ⊙ qfac) S                   two GEMMs
//   S'     = diag(exp(Σ_r a_r)) S + (K ⊙ kfac)ᵀ V GEMM
// Backward stores the chunk-entry states of a forward sweep in scratch, then
// sweeps the chunks in reverse carrying R = ∂L/∂S'. The decay gradient is
// da_τ = z + Σ_{τ'≥τ} (q ⊙ dq − k ⊙ dk)_τ' (reverse cumsum, chunk-local plus
// a carried suffix), z = Σ_v S_final ⊙ dS_final.
#include "kernels/cpu/gated_linear_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/fast_math.h"

namespace flopwise::kernels::cpu {
namespace {

// Sizes of one call: chunk C (clamped to the sequence), strides of the
// token-major [B,T,H,D] tensors.
struct GlaDims {
  int seq, heads, key_dim, value_dim, chunk;
  int ldk() const { return heads * key_dim; }
  int ldv() const { return heads * value_dim; }
  int64_t state_size() const { return static_cast<int64_t>(key_dim) * value_dim; }
  int num_chunks() const { return (seq + chunk - 1) / chunk; }
};

GlaDims MakeDims(int seq, int heads, int key_dim, int value_dim, int chunk) {
  return {seq, heads, key_dim, value_dim, std::min(chunk, std::max(seq, 1))};
}

// One chunk of one (batch, head): its rows of q, k, a (stride ldk) and v,
// out/dout (stride ldv), and its length.
struct GlaChunk {
  int len;
  int64_t key_offset;    // element offset of the chunk's first row in q, k, a, dq, dk, da
  int64_t value_offset;  // ... in v, out, dout, dv
};

GlaChunk ChunkAt(const GlaDims& dims, int b, int h, int c) {
  const int t0 = c * dims.chunk;
  const int64_t row0 = static_cast<int64_t>(b) * dims.seq + t0;
  return {std::min(dims.chunk, dims.seq - t0),
          row0 * dims.ldk() + static_cast<int64_t>(h) * dims.key_dim,
          row0 * dims.ldv() + static_cast<int64_t>(h) * dims.value_dim};
}

// Fills kfac ([len,Dk] dense) and the chunk's total decay exp(Σ a) in
// total[Dk]: all that advancing a state over the chunk needs.
template <typename T>
void KeyFactors(const T* a, int lda, int len, int dk, T* kfac, T* run, T* total) {
  std::fill_n(run, dk, T(0));
  for (int j = len - 1; j >= 0; --j) {
    const T* aj = a + static_cast<int64_t>(j) * lda;
    T* kf = kfac + static_cast<int64_t>(j) * dk;
    for (int c = 0; c < dk; ++c) {
      kf[c] = Exp<T>(run[c]);
      run[c] += aj[c];
    }
  }
  for (int c = 0; c < dk; ++c) total[c] = std::exp(run[c]);
}

// KeyFactors plus decay_exp ([len,Dk] exp(a)) and qfac ([len,Dk] dense).
template <typename T>
void ChunkFactors(const T* a, int lda, int len, int dk, T* decay_exp, T* qfac, T* kfac, T* run,
                  T* total) {
  std::fill_n(run, dk, T(0));
  for (int i = 0; i < len; ++i) {
    const T* ai = a + static_cast<int64_t>(i) * lda;
    T* e = decay_exp + static_cast<int64_t>(i) * dk;
    T* qf = qfac + static_cast<int64_t>(i) * dk;
    for (int c = 0; c < dk; ++c) {
      e[c] = Exp<T>(ai[c]);
      run[c] += ai[c];
      qf[c] = Exp<T>(run[c]);
    }
  }
  KeyFactors(a, lda, len, dk, kfac, run, total);
}

// dst[r,c] = src[r*ld,c] ⊙ fac[r,c] (dense dst and fac, len×dk).
template <typename T>
void MultiplyRows(T* dst, const T* src, int ld, const T* fac, int len, int dk) {
  for (int r = 0; r < len; ++r) {
    const T* s = src + static_cast<int64_t>(r) * ld;
    const T* f = fac + static_cast<int64_t>(r) * dk;
    T* d = dst + static_cast<int64_t>(r) * dk;
    for (int c = 0; c < dk; ++c) d[c] = s[c] * f[c];
  }
}

// state[c,:] *= total[c]
template <typename T>
void DecayStateRows(T* state, const T* total, int dk, int dv) {
  for (int c = 0; c < dk; ++c) {
    T* row = state + static_cast<int64_t>(c) * dv;
    for (int e = 0; e < dv; ++e) row[e] *= total[c];
  }
}

// Copies a (batch, head)'s initial state into `state`, or zeroes it.
template <typename T>
void LoadInitialState(T* state, const T* initial_state, int64_t offset, int64_t size) {
  if (initial_state != nullptr) {
    std::copy_n(initial_state + offset, size, state);
  } else {
    std::fill_n(state, size, T(0));
  }
}

// S ← diag(total) S + (K ⊙ kfac)ᵀ V for one chunk; `scaled` is [len,Dk] scratch.
template <typename T>
void AdvanceState(T* state, const T* total, const T* kc, const T* kfac, const T* vc, int len,
                  const GlaDims& dims, T* scaled) {
  DecayStateRows(state, total, dims.key_dim, dims.value_dim);
  MultiplyRows(scaled, kc, dims.ldk(), kfac, len, dims.key_dim);
  Gemm<T>(true, false, dims.key_dim, dims.value_dim, len, T(1), scaled, dims.key_dim, vc,
          dims.ldv(), T(1), state, dims.value_dim);
}

// a[i,j] = Σ_c q_i[c] k_j[c] Π_{j<r≤i} exp(a_r[c]) for j ≤ i, 0 above the
// diagonal ([len,len], row stride C); w is [Dk] scratch.
template <typename T>
void IntraChunkScores(T* a, const T* qc, const T* kc, const T* decay_exp, int len,
                      const GlaDims& dims, T* w) {
  const int dk = dims.key_dim, ldk = dims.ldk(), C = dims.chunk;
  for (int j = 0; j < len; ++j) {
    std::copy_n(kc + static_cast<int64_t>(j) * ldk, dk, w);
    for (int i = j; i < len; ++i) {
      const T* qi = qc + static_cast<int64_t>(i) * ldk;
      if (i > j) {
        const T* e = decay_exp + static_cast<int64_t>(i) * dk;
        for (int c = 0; c < dk; ++c) w[c] *= e[c];
      }
      T dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int c = 0; c < dk; ++c) dot += qi[c] * w[c];
      a[static_cast<int64_t>(i) * C + j] = dot;
    }
    for (int i = 0; i < j; ++i) a[static_cast<int64_t>(i) * C + j] = T(0);
  }
}

// Per-thread scratch of the forward pass.
template <typename T>
struct GlaForwardScratch {
  T *decay_exp, *qfac, *kfac, *scaled;  // [C,Dk] each
  T* a;                                 // [C,C]
  T* state;                             // [Dk,Dv]
  T *run, *total, *w;                   // [Dk] each

  static int64_t Floats(const GlaDims& dims) {
    const int64_t cd = static_cast<int64_t>(dims.chunk) * dims.key_dim;
    return 4 * cd + static_cast<int64_t>(dims.chunk) * dims.chunk + dims.state_size() +
           3 * dims.key_dim;
  }
  static GlaForwardScratch Carve(T* base, const GlaDims& dims) {
    const int64_t cd = static_cast<int64_t>(dims.chunk) * dims.key_dim;
    GlaForwardScratch s;
    s.decay_exp = base;
    s.qfac = s.decay_exp + cd;
    s.kfac = s.qfac + cd;
    s.scaled = s.kfac + cd;
    s.a = s.scaled + cd;
    s.state = s.a + static_cast<int64_t>(dims.chunk) * dims.chunk;
    s.run = s.state + dims.state_size();
    s.total = s.run + dims.key_dim;
    s.w = s.total + dims.key_dim;
    return s;
  }
};

// One chunk of the forward: O = A V + (Q ⊙ qfac) S, then S advances.
template <typename T>
void ForwardChunk(T* oc, const T* qc, const T* kc, const T* vc, const T* ac, int len,
                  const GlaDims& dims, GlaForwardScratch<T>& s) {
  const int dk = dims.key_dim, dv = dims.value_dim, ldv = dims.ldv();
  ChunkFactors(ac, dims.ldk(), len, dk, s.decay_exp, s.qfac, s.kfac, s.run, s.total);
  IntraChunkScores(s.a, qc, kc, s.decay_exp, len, dims, s.w);
  Gemm<T>(false, false, len, dv, len, T(1), s.a, dims.chunk, vc, ldv, T(0), oc, ldv);
  MultiplyRows(s.scaled, qc, dims.ldk(), s.qfac, len, dk);
  Gemm<T>(false, false, len, dv, dk, T(1), s.scaled, dk, s.state, dv, T(1), oc, ldv);
  AdvanceState(s.state, s.total, kc, s.kfac, vc, len, dims, s.scaled);
}

// Per-thread scratch of the backward pass.
template <typename T>
struct GlaBackwardScratch {
  T* states;                                         // [num_chunks+1, Dk, Dv] chunk-entry states
  T *decay_exp, *qfac, *kfac, *dq_local, *dk_local;  // [C,Dk] each
  T* scaled;                                         // [C, max(Dk,Dv)]
  T *a, *da;                                         // [C,C] each
  T* rev;                                            // [Dk,Dv] R = ∂L/∂(state after the chunk)
  T *run, *total, *w, *carry;                        // [Dk] each; carry: the decay-gradient suffix

  static int64_t Floats(const GlaDims& dims) {
    const int64_t cd = static_cast<int64_t>(dims.chunk) * dims.key_dim;
    const int64_t C = dims.chunk;
    return (dims.num_chunks() + 1) * dims.state_size() + 5 * cd +
           C * std::max(dims.key_dim, dims.value_dim) + 2 * C * C + dims.state_size() +
           4 * dims.key_dim;
  }
  static GlaBackwardScratch Carve(T* base, const GlaDims& dims) {
    const int64_t cd = static_cast<int64_t>(dims.chunk) * dims.key_dim;
    const int64_t C = dims.chunk;
    GlaBackwardScratch s;
    s.states = base;
    s.decay_exp = s.states + (dims.num_chunks() + 1) * dims.state_size();
    s.qfac = s.decay_exp + cd;
    s.kfac = s.qfac + cd;
    s.dq_local = s.kfac + cd;
    s.dk_local = s.dq_local + cd;
    s.scaled = s.dk_local + cd;
    s.a = s.scaled + C * std::max(dims.key_dim, dims.value_dim);
    s.da = s.a + C * C;
    s.rev = s.da + C * C;
    s.run = s.rev + dims.state_size();
    s.total = s.run + dims.key_dim;
    s.w = s.total + dims.key_dim;
    s.carry = s.w + dims.key_dim;
    return s;
  }
};

// states[c] = the state entering chunk c, states[num_chunks] the final one.
template <typename T>
void ChunkEntryStates(const T* k, const T* v, const T* log_decay, const T* initial_state, int b,
                      int h, const GlaDims& dims, GlaBackwardScratch<T>& s) {
  const int64_t state_size = dims.state_size();
  LoadInitialState(s.states, initial_state, (static_cast<int64_t>(b) * dims.heads + h) * state_size,
                   state_size);
  for (int c = 0; c < dims.num_chunks(); ++c) {
    const GlaChunk ch = ChunkAt(dims, b, h, c);
    // The reverse sweep computes this chunk's other factors when it needs them.
    KeyFactors(log_decay + ch.key_offset, dims.ldk(), ch.len, dims.key_dim, s.kfac, s.run, s.total);
    T* next = s.states + (c + 1) * state_size;
    std::copy_n(s.states + c * state_size, state_size, next);
    AdvanceState(next, s.total, k + ch.key_offset, s.kfac, v + ch.value_offset, ch.len, dims,
                 s.scaled);
  }
}

// R = dS_final (0 without one) and carry = z = Σ_v S_final ⊙ dS_final.
template <typename T>
void SeedReverseSweep(const T* dfinal_state, int64_t state_offset, const GlaDims& dims,
                      GlaBackwardScratch<T>& s) {
  std::fill_n(s.carry, dims.key_dim, T(0));
  if (dfinal_state == nullptr) {
    std::fill_n(s.rev, dims.state_size(), T(0));
    return;
  }
  const T* dfin = dfinal_state + state_offset;
  const T* fin = s.states + dims.num_chunks() * dims.state_size();
  std::copy_n(dfin, dims.state_size(), s.rev);
  for (int c = 0; c < dims.key_dim; ++c) {
    T sum = 0;
    for (int e = 0; e < dims.value_dim; ++e) {
      const int64_t idx = static_cast<int64_t>(c) * dims.value_dim + e;
      sum += fin[idx] * dfin[idx];
    }
    s.carry[c] = sum;
  }
}

// Intra-chunk part: dA = dO Vᵀ; A, dq_local, dk_local with the running decay
// products; dv += Aᵀ dO.
template <typename T>
void IntraChunkBackward(T* dvc, const T* qc, const T* kc, const T* vc, const T* doc, int len,
                        const GlaDims& dims, GlaBackwardScratch<T>& s) {
  const int dk = dims.key_dim, dv = dims.value_dim, ldk = dims.ldk(), ldv = dims.ldv();
  const int C = dims.chunk;
  std::fill_n(s.dq_local, static_cast<int64_t>(len) * dk, T(0));
  std::fill_n(s.dk_local, static_cast<int64_t>(len) * dk, T(0));
  Gemm<T>(false, true, len, len, dv, T(1), doc, ldv, vc, ldv, T(0), s.da, C);
  for (int j = 0; j < len; ++j) {
    const T* kj = kc + static_cast<int64_t>(j) * ldk;
    T* dkj = s.dk_local + static_cast<int64_t>(j) * dk;
    std::fill_n(s.w, dk, T(1));
    for (int i = j; i < len; ++i) {
      const T* qi = qc + static_cast<int64_t>(i) * ldk;
      T* dqi = s.dq_local + static_cast<int64_t>(i) * dk;
      if (i > j) {
        const T* e = s.decay_exp + static_cast<int64_t>(i) * dk;
        for (int ch = 0; ch < dk; ++ch) s.w[ch] *= e[ch];
      }
      const T g = s.da[static_cast<int64_t>(i) * C + j];
      T dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int ch = 0; ch < dk; ++ch) {
        const T qw = qi[ch] * s.w[ch];
        dot += qw * kj[ch];
        dkj[ch] += g * qw;
        dqi[ch] += g * kj[ch] * s.w[ch];
      }
      s.a[static_cast<int64_t>(i) * C + j] = dot;
    }
    for (int i = 0; i < j; ++i) s.a[static_cast<int64_t>(i) * C + j] = T(0);
  }
  Gemm<T>(true, false, len, dv, len, T(1), s.a, C, doc, ldv, T(1), dvc, ldv);
}

// Inter-chunk part with S the chunk's entry state and R the gradient of its
// exit state: dq += qfac ⊙ (dO Sᵀ); dk += kfac ⊙ (V Rᵀ); dv += (K ⊙ kfac) R.
template <typename T>
void InterChunkBackward(T* dvc, const T* kc, const T* vc, const T* doc, const T* state, int len,
                        const GlaDims& dims, GlaBackwardScratch<T>& s) {
  const int dk = dims.key_dim, dv = dims.value_dim, ldv = dims.ldv();
  const int64_t len_dk = static_cast<int64_t>(len) * dk;
  Gemm<T>(false, true, len, dk, dv, T(1), doc, ldv, state, dv, T(0), s.scaled, dk);
  for (int64_t e = 0; e < len_dk; ++e) s.dq_local[e] += s.scaled[e] * s.qfac[e];
  Gemm<T>(false, true, len, dk, dv, T(1), vc, ldv, s.rev, dv, T(0), s.scaled, dk);
  for (int64_t e = 0; e < len_dk; ++e) s.dk_local[e] += s.scaled[e] * s.kfac[e];
  MultiplyRows(s.scaled, kc, dims.ldk(), s.kfac, len, dk);
  Gemm<T>(false, false, len, dv, dk, T(1), s.scaled, dk, s.rev, dv, T(1), dvc, ldv);
}

// R ← diag(total) R + (Q ⊙ qfac)ᵀ dO: the gradient of the chunk's entry state.
template <typename T>
void ReverseStateStep(const T* qc, const T* doc, int len, const GlaDims& dims,
                      GlaBackwardScratch<T>& s) {
  const int dk = dims.key_dim, dv = dims.value_dim;
  DecayStateRows(s.rev, s.total, dk, dv);
  MultiplyRows(s.scaled, qc, dims.ldk(), s.qfac, len, dk);
  Gemm<T>(true, false, dk, dv, len, T(1), s.scaled, dk, doc, dims.ldv(), T(1), s.rev, dv);
}

// The decay gradient's reverse cumsum over the chunk (carry holds the suffix
// from later chunks), then the strided adds of dq_local, dk_local into dq, dk.
template <typename T>
void AccumulateChunkGradients(T* dqc, T* dkc, T* dac, const T* qc, const T* kc, int len,
                              const GlaDims& dims, GlaBackwardScratch<T>& s) {
  const int dk = dims.key_dim, ldk = dims.ldk();
  for (int i = len - 1; i >= 0; --i) {
    const int64_t row = static_cast<int64_t>(i) * ldk;
    const T* qi = qc + row;
    const T* ki = kc + row;
    const T* dqi = s.dq_local + static_cast<int64_t>(i) * dk;
    const T* dki = s.dk_local + static_cast<int64_t>(i) * dk;
    T* dai = dac != nullptr ? dac + row : nullptr;
    T* dqo = dqc + row;
    T* dko = dkc + row;
    for (int ch = 0; ch < dk; ++ch) {
      s.carry[ch] += qi[ch] * dqi[ch] - ki[ch] * dki[ch];
      if (dai != nullptr) dai[ch] += s.carry[ch];
      dqo[ch] += dqi[ch];
      dko[ch] += dki[ch];
    }
  }
}

}  // namespace

template <typename T>
void GatedLinearAttentionForward(T* out, T* final_state, const T* q, const T* k, const T* v,
                                 const T* log_decay, const T* initial_state, int batch, int seq,
                                 int heads, int key_dim, int value_dim, int chunk,
                                 Scratch<T>& scratch) {
  const GlaDims dims = MakeDims(seq, heads, key_dim, value_dim, chunk);
  const int64_t per_thread = GlaForwardScratch<T>::Floats(dims);
  T* base = scratch.Get(per_thread * omp_get_max_threads());
  BlasSingleThreaded single_blas;
#pragma omp parallel for schedule(dynamic, 1)
  for (int bh = 0; bh < batch * heads; ++bh) {
    const int b = bh / heads;
    const int h = bh % heads;
    auto s = GlaForwardScratch<T>::Carve(base + per_thread * omp_get_thread_num(), dims);
    const int64_t state_offset = static_cast<int64_t>(bh) * dims.state_size();
    LoadInitialState(s.state, initial_state, state_offset, dims.state_size());
    for (int c = 0; c < dims.num_chunks(); ++c) {
      const GlaChunk ch = ChunkAt(dims, b, h, c);
      ForwardChunk(out + ch.value_offset, q + ch.key_offset, k + ch.key_offset, v + ch.value_offset,
                   log_decay + ch.key_offset, ch.len, dims, s);
    }
    if (final_state != nullptr) {
      std::copy_n(s.state, dims.state_size(), final_state + state_offset);
    }
  }
}

template <typename T>
void GatedLinearAttentionBackward(T* dq, T* dk, T* dv, T* dlog_decay, T* dinitial_state,
                                  const T* dout, const T* dfinal_state, const T* q, const T* k,
                                  const T* v, const T* log_decay, const T* initial_state, int batch,
                                  int seq, int heads, int key_dim, int value_dim, int chunk,
                                  Scratch<T>& scratch) {
  const GlaDims dims = MakeDims(seq, heads, key_dim, value_dim, chunk);
  const int64_t per_thread = GlaBackwardScratch<T>::Floats(dims);
  T* base = scratch.Get(per_thread * omp_get_max_threads());
  BlasSingleThreaded single_blas;
#pragma omp parallel for schedule(dynamic, 1)
  for (int bh = 0; bh < batch * heads; ++bh) {
    const int b = bh / heads;
    const int h = bh % heads;
    auto s = GlaBackwardScratch<T>::Carve(base + per_thread * omp_get_thread_num(), dims);
    const int64_t state_offset = static_cast<int64_t>(bh) * dims.state_size();
    ChunkEntryStates(k, v, log_decay, initial_state, b, h, dims, s);
    SeedReverseSweep(dfinal_state, state_offset, dims, s);
    for (int c = dims.num_chunks() - 1; c >= 0; --c) {
      const GlaChunk ch = ChunkAt(dims, b, h, c);
      const T* qc = q + ch.key_offset;
      const T* kc = k + ch.key_offset;
      const T* vc = v + ch.value_offset;
      const T* doc = dout + ch.value_offset;
      T* dvc = dv + ch.value_offset;
      ChunkFactors(log_decay + ch.key_offset, dims.ldk(), ch.len, key_dim, s.decay_exp, s.qfac,
                   s.kfac, s.run, s.total);
      IntraChunkBackward(dvc, qc, kc, vc, doc, ch.len, dims, s);
      InterChunkBackward(dvc, kc, vc, doc, s.states + c * dims.state_size(), ch.len, dims, s);
      ReverseStateStep(qc, doc, ch.len, dims, s);
      AccumulateChunkGradients(dq + ch.key_offset, dk + ch.key_offset,
                               dlog_decay != nullptr ? dlog_decay + ch.key_offset : nullptr, qc, kc,
                               ch.len, dims, s);
    }
    if (dinitial_state != nullptr) {
      T* dst = dinitial_state + state_offset;
      for (int64_t e = 0; e < dims.state_size(); ++e) dst[e] += s.rev[e];
    }
  }
}

#define FLOPWISE_INSTANTIATE_GATED(T)                                                             \
  template void GatedLinearAttentionForward<T>(T*, T*, const T*, const T*, const T*, const T*,    \
                                               const T*, int, int, int, int, int, int,            \
                                               Scratch<T>&);                                      \
  template void GatedLinearAttentionBackward<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, \
                                                const T*, const T*, const T*, const T*, int, int, \
                                                int, int, int, int, Scratch<T>&);

FLOPWISE_INSTANTIATE_GATED(float)
FLOPWISE_INSTANTIATE_GATED(double)

}  // namespace flopwise::kernels::cpu
