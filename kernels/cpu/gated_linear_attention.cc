// Algorithm (architectures.md §6 vector case, §7.4): per (batch, head),
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

// Fills qfac/kfac ([len,Dk] dense) and decay_exp ([len,Dk] exp(a)) for one
// chunk and returns the chunk's total decay exp(Σ a) in total[Dk].
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

}  // namespace

template <typename T>
void GatedLinearAttentionForward(T* out, T* final_state, const T* q, const T* k, const T* v,
                                 const T* log_decay, const T* initial_state, int batch, int seq,
                                 int heads, int key_dim, int value_dim, int chunk,
                                 Scratch<T>& scratch) {
  const int C = std::min(chunk, std::max(seq, 1));
  const int64_t cd = static_cast<int64_t>(C) * key_dim;
  const int64_t state_size = static_cast<int64_t>(key_dim) * value_dim;
  const int64_t per_thread = 4 * cd + static_cast<int64_t>(C) * C + state_size + 3 * key_dim;
  T* base = scratch.Get(per_thread * omp_get_max_threads());
  BlasSingleThreaded single_blas;
#pragma omp parallel for schedule(dynamic, 1)
  for (int bh = 0; bh < batch * heads; ++bh) {
    const int b = bh / heads;
    const int h = bh % heads;
    T* decay_exp = base + per_thread * omp_get_thread_num();
    T* qfac = decay_exp + cd;
    T* kfac = qfac + cd;
    T* scaled = kfac + cd;
    T* a = scaled + cd;
    T* state = a + static_cast<int64_t>(C) * C;
    T* run = state + state_size;
    T* total = run + key_dim;
    T* w = total + key_dim;
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
      const int64_t ko = row0 * ldk + static_cast<int64_t>(h) * key_dim;
      const int64_t vo = row0 * ldv + static_cast<int64_t>(h) * value_dim;
      const T* qc = q + ko;
      const T* kc = k + ko;
      const T* ac = log_decay + ko;
      const T* vc = v + vo;
      T* oc = out + vo;
      ChunkFactors(ac, ldk, len, key_dim, decay_exp, qfac, kfac, run, total);
      // Intra: A[i,j] = Σ_c q_i k_j Π_{j<r≤i} exp(a_r)
      for (int j = 0; j < len; ++j) {
        const T* kj = kc + static_cast<int64_t>(j) * ldk;
        std::copy_n(kj, key_dim, w);
        for (int i = j; i < len; ++i) {
          const T* qi = qc + static_cast<int64_t>(i) * ldk;
          if (i > j) {
            const T* e = decay_exp + static_cast<int64_t>(i) * key_dim;
            for (int c = 0; c < key_dim; ++c) w[c] *= e[c];
          }
          T dot = 0;
#pragma omp simd reduction(+ : dot)
          for (int c = 0; c < key_dim; ++c) dot += qi[c] * w[c];
          a[static_cast<int64_t>(i) * C + j] = dot;
        }
        for (int i = 0; i < j; ++i) a[static_cast<int64_t>(i) * C + j] = T(0);
      }
      Gemm<T>(false, false, len, value_dim, len, T(1), a, C, vc, ldv, T(0), oc, ldv);
      // Inter: O += (Q ⊙ qfac) S
      MultiplyRows(scaled, qc, ldk, qfac, len, key_dim);
      Gemm<T>(false, false, len, value_dim, key_dim, T(1), scaled, key_dim, state, value_dim, T(1),
              oc, ldv);
      // State: S = diag(total) S + (K ⊙ kfac)ᵀ V
      DecayStateRows(state, total, key_dim, value_dim);
      MultiplyRows(scaled, kc, ldk, kfac, len, key_dim);
      Gemm<T>(true, false, key_dim, value_dim, len, T(1), scaled, key_dim, vc, ldv, T(1), state,
              value_dim);
    }
    if (final_state != nullptr) std::copy_n(state, state_size, final_state + state_offset);
  }
}

template <typename T>
void GatedLinearAttentionBackward(T* dq, T* dk, T* dv, T* dlog_decay, T* dinitial_state,
                                  const T* dout, const T* dfinal_state, const T* q, const T* k,
                                  const T* v, const T* log_decay, const T* initial_state, int batch,
                                  int seq, int heads, int key_dim, int value_dim, int chunk,
                                  Scratch<T>& scratch) {
  const int C = std::min(chunk, std::max(seq, 1));
  const int num_chunks = (seq + C - 1) / C;
  const int width = std::max(key_dim, value_dim);
  const int64_t cd = static_cast<int64_t>(C) * key_dim;
  const int64_t state_size = static_cast<int64_t>(key_dim) * value_dim;
  // Chunk-entry states (num_chunks of them) plus the final state.
  const int64_t states_size = (num_chunks + 1) * state_size;
  const int64_t per_thread = states_size + 5 * cd + static_cast<int64_t>(C) * width +
                             2 * static_cast<int64_t>(C) * C + state_size + 4 * key_dim;
  T* base = scratch.Get(per_thread * omp_get_max_threads());
  BlasSingleThreaded single_blas;
#pragma omp parallel for schedule(dynamic, 1)
  for (int bh = 0; bh < batch * heads; ++bh) {
    const int b = bh / heads;
    const int h = bh % heads;
    T* states = base + per_thread * omp_get_thread_num();
    T* decay_exp = states + states_size;
    T* qfac = decay_exp + cd;
    T* kfac = qfac + cd;
    T* dq_local = kfac + cd;
    T* dk_local = dq_local + cd;
    T* scaled = dk_local + cd;  // [C, width]
    T* a = scaled + static_cast<int64_t>(C) * width;
    T* da = a + static_cast<int64_t>(C) * C;
    T* rev = da + static_cast<int64_t>(C) * C;
    T* run = rev + state_size;
    T* total = run + key_dim;
    T* w = total + key_dim;
    T* carry = w + key_dim;
    const int64_t state_offset = static_cast<int64_t>(bh) * state_size;
    const int ldk = heads * key_dim;
    const int ldv = heads * value_dim;
    const int64_t head_k = static_cast<int64_t>(h) * key_dim;
    const int64_t head_v = static_cast<int64_t>(h) * value_dim;
    // Forward sweep: states[c] is the state entering chunk c; states[num_chunks] the final one.
    if (initial_state != nullptr) {
      std::copy_n(initial_state + state_offset, state_size, states);
    } else {
      std::fill_n(states, state_size, T(0));
    }
    for (int c = 0; c < num_chunks; ++c) {
      const int t0 = c * C;
      const int len = std::min(C, seq - t0);
      const int64_t row0 = static_cast<int64_t>(b) * seq + t0;
      const T* kc = k + row0 * ldk + head_k;
      const T* vc = v + row0 * ldv + head_v;
      ChunkFactors(log_decay + row0 * ldk + head_k, ldk, len, key_dim, decay_exp, qfac, kfac, run,
                   total);
      T* next = states + (c + 1) * state_size;
      std::copy_n(states + c * state_size, state_size, next);
      DecayStateRows(next, total, key_dim, value_dim);
      MultiplyRows(scaled, kc, ldk, kfac, len, key_dim);
      Gemm<T>(true, false, key_dim, value_dim, len, T(1), scaled, key_dim, vc, ldv, T(1), next,
              value_dim);
    }
    // z = Σ_v S_final ⊙ dS_final seeds the decay-gradient carry.
    std::fill_n(carry, key_dim, T(0));
    if (dfinal_state != nullptr) {
      const T* dfin = dfinal_state + state_offset;
      const T* fin = states + num_chunks * state_size;
      std::copy_n(dfin, state_size, rev);
      for (int c = 0; c < key_dim; ++c) {
        T sum = 0;
        for (int e = 0; e < value_dim; ++e) {
          sum += fin[static_cast<int64_t>(c) * value_dim + e] *
                 dfin[static_cast<int64_t>(c) * value_dim + e];
        }
        carry[c] = sum;
      }
    } else {
      std::fill_n(rev, state_size, T(0));
    }
    for (int c = num_chunks - 1; c >= 0; --c) {
      const int t0 = c * C;
      const int len = std::min(C, seq - t0);
      const int64_t row0 = static_cast<int64_t>(b) * seq + t0;
      const int64_t ko = row0 * ldk + head_k;
      const int64_t vo = row0 * ldv + head_v;
      const T* qc = q + ko;
      const T* kc = k + ko;
      const T* vc = v + vo;
      const T* doc = dout + vo;
      const T* state = states + c * state_size;
      ChunkFactors(log_decay + ko, ldk, len, key_dim, decay_exp, qfac, kfac, run, total);
      std::fill_n(dq_local, static_cast<int64_t>(len) * key_dim, T(0));
      std::fill_n(dk_local, static_cast<int64_t>(len) * key_dim, T(0));
      // Intra: dA = dO Vᵀ; A, dq, dk with the running decay products.
      Gemm<T>(false, true, len, len, value_dim, T(1), doc, ldv, vc, ldv, T(0), da, C);
      for (int j = 0; j < len; ++j) {
        const T* kj = kc + static_cast<int64_t>(j) * ldk;
        T* dkj = dk_local + static_cast<int64_t>(j) * key_dim;
        std::fill_n(w, key_dim, T(1));
        for (int i = j; i < len; ++i) {
          const T* qi = qc + static_cast<int64_t>(i) * ldk;
          T* dqi = dq_local + static_cast<int64_t>(i) * key_dim;
          if (i > j) {
            const T* e = decay_exp + static_cast<int64_t>(i) * key_dim;
            for (int ch = 0; ch < key_dim; ++ch) w[ch] *= e[ch];
          }
          const T g = da[static_cast<int64_t>(i) * C + j];
          T dot = 0;
#pragma omp simd reduction(+ : dot)
          for (int ch = 0; ch < key_dim; ++ch) {
            const T qw = qi[ch] * w[ch];
            dot += qw * kj[ch];
            dkj[ch] += g * qw;
            dqi[ch] += g * kj[ch] * w[ch];
          }
          a[static_cast<int64_t>(i) * C + j] = dot;
        }
        for (int i = 0; i < j; ++i) a[static_cast<int64_t>(i) * C + j] = T(0);
      }
      T* dvc = dv + vo;
      Gemm<T>(true, false, len, value_dim, len, T(1), a, C, doc, ldv, T(1), dvc, ldv);
      // Inter: dq += qfac ⊙ (dO Sᵀ); dk += kfac ⊙ (V Rᵀ); dv += (K ⊙ kfac) R.
      Gemm<T>(false, true, len, key_dim, value_dim, T(1), doc, ldv, state, value_dim, T(0), scaled,
              key_dim);
      for (int64_t e = 0; e < static_cast<int64_t>(len) * key_dim; ++e) {
        dq_local[e] += scaled[e] * qfac[e];
      }
      Gemm<T>(false, true, len, key_dim, value_dim, T(1), vc, ldv, rev, value_dim, T(0), scaled,
              key_dim);
      for (int64_t e = 0; e < static_cast<int64_t>(len) * key_dim; ++e) {
        dk_local[e] += scaled[e] * kfac[e];
      }
      MultiplyRows(scaled, kc, ldk, kfac, len, key_dim);
      Gemm<T>(false, false, len, value_dim, key_dim, T(1), scaled, key_dim, rev, value_dim, T(1),
              dvc, ldv);
      // R ← diag(total) R + (Q ⊙ qfac)ᵀ dO
      DecayStateRows(rev, total, key_dim, value_dim);
      MultiplyRows(scaled, qc, ldk, qfac, len, key_dim);
      Gemm<T>(true, false, key_dim, value_dim, len, T(1), scaled, key_dim, doc, ldv, T(1), rev,
              value_dim);
      // Decay gradient (reverse cumsum with carry), then the strided adds of dq, dk.
      for (int i = len - 1; i >= 0; --i) {
        const T* qi = qc + static_cast<int64_t>(i) * ldk;
        const T* ki = kc + static_cast<int64_t>(i) * ldk;
        const T* dqi = dq_local + static_cast<int64_t>(i) * key_dim;
        const T* dki = dk_local + static_cast<int64_t>(i) * key_dim;
        T* dai = dlog_decay != nullptr ? dlog_decay + ko + static_cast<int64_t>(i) * ldk : nullptr;
        T* dqo = dq + ko + static_cast<int64_t>(i) * ldk;
        T* dko = dk + ko + static_cast<int64_t>(i) * ldk;
        for (int ch = 0; ch < key_dim; ++ch) {
          carry[ch] += qi[ch] * dqi[ch] - ki[ch] * dki[ch];
          if (dai != nullptr) dai[ch] += carry[ch];
          dqo[ch] += dqi[ch];
          dko[ch] += dki[ch];
        }
      }
    }
    if (dinitial_state != nullptr) {
      T* dst = dinitial_state + state_offset;
      for (int64_t e = 0; e < state_size; ++e) dst[e] += rev[e];
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
