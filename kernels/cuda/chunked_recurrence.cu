// The same computation as kernels/cpu/gated_linear_attention.cc
// (docs/model-contract.md §6, §7.4), in chunks of C ≤ kMaxChunk tokens. Every
// decay factor is a sum or a product of the steps between two positions, never
// a difference of cumulative sums, so nothing overflows and nothing cancels:
//   qfac_i = exp(Σ_{r≤i} a_r), kfac_j = exp(Σ_{j<r<len} a_r), total = exp(Σ_r a_r)
//   A[i,j] = Σ_c q_i[c] k_j[c] Π_{j<r≤i} exp(a_r[c])   (j ≤ i, running products)
// Forward, one kernel each:
//   1. factors: a thread per (b, h, chunk, channel) writes qfac, kfac [B,T,H,Dk]
//      and total [B,H,N,Dk];
//   2. contributions U_c = (K ⊙ kfac)ᵀ V, a block per chunk, into states[c+1];
//   3. scan, a thread per (b, h, state element): states[c+1] = total_c ⊙ states[c]
//      + U_c, states[0] = the initial state, states[N] the final one;
//   4. output, a block per chunk: A by a warp per key row j (lanes over channels,
//      running products in shared memory), then O = A V + (Q ⊙ qfac) S_c.
// Backward: 1-3 again; W_c = (Q ⊙ qfac)ᵀ dO into rev[c]; a reverse scan leaves
// in rev[c] the gradient R_c of chunk c's exit state (and adds dS_initial);
// then a block per chunk: dA = dO Vᵀ, dK by a warp per key row (i sweeping up),
// dQ by a warp per query row (j sweeping down), dV by a thread per element;
// last, a thread per (b, h, channel) sweeps the sequence backwards for the decay
// gradient da_τ = z + Σ_{τ'≥τ} (q ⊙ dq − k ⊙ dk)_τ', z = Σ_v S_final ⊙ dS_final,
// and adds dq, dk. Every output element has one owner: no atomics.
#include "kernels/cuda/chunked_recurrence.h"

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/mixer_common.h"

namespace flopwise::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

struct Dims {
  int batch, seq, heads, key_dim, value_dim, chunk, chunks;
  // Element offsets of token t of head (b, h) in [B,T,H,Dk] and [B,T,H,Dv] tensors.
  __device__ int64_t Key(int b, int t, int h) const {
    return (static_cast<int64_t>(b) * seq + t) * heads * key_dim +
           static_cast<int64_t>(h) * key_dim;
  }
  __device__ int64_t Value(int b, int t, int h) const {
    return (static_cast<int64_t>(b) * seq + t) * heads * value_dim +
           static_cast<int64_t>(h) * value_dim;
  }
  __host__ __device__ int64_t StateSize() const {
    return static_cast<int64_t>(key_dim) * value_dim;
  }
  __device__ int Len(int c) const { return seq - c * chunk < chunk ? seq - c * chunk : chunk; }
};

// One (b, h, chunk) of a grid with a block per chunk.
struct ChunkIndex {
  int b, h, bh, c, t0, len;
  __device__ explicit ChunkIndex(const Dims& d) {
    c = blockIdx.x % d.chunks;
    bh = blockIdx.x / d.chunks;
    b = bh / d.heads;
    h = bh % d.heads;
    t0 = c * d.chunk;
    len = d.Len(c);
  }
};

// qfac, kfac [B,T,H,Dk]; total [B,H,N,Dk].
struct Factors {
  float *qfac, *kfac, *total;
};

// a_τ[c] at element offset `key` of a [B,T,H,Dk] tensor, head h.
__device__ float DecayAt(const LogDecay& a, int64_t key, int h) {
  if (a.data == nullptr) return 0.f;
  return a.per_head ? a.data[h] : a.data[key];
}

__global__ void FactorsKernel(Factors f, LogDecay a, Dims d) {
  const int64_t id = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (id >= static_cast<int64_t>(d.batch) * d.heads * d.chunks * d.key_dim) return;
  const int ch = static_cast<int>(id % d.key_dim);
  const int64_t bhc = id / d.key_dim;
  const int c = static_cast<int>(bhc % d.chunks);
  const int bh = static_cast<int>(bhc / d.chunks), b = bh / d.heads, h = bh % d.heads;
  const int t0 = c * d.chunk, len = d.Len(c);
  float run = 0.f;
  for (int i = 0; i < len; ++i) {
    const int64_t key = d.Key(b, t0 + i, h) + ch;
    run += DecayAt(a, key, h);
    f.qfac[key] = expf(run);
  }
  run = 0.f;
  for (int j = len - 1; j >= 0; --j) {
    const int64_t key = d.Key(b, t0 + j, h) + ch;
    f.kfac[key] = expf(run);
    run += DecayAt(a, key, h);
  }
  f.total[id] = expf(run);
}

// dst[bh, c + shift] = Σ_j (left ⊙ fac)[j]ᵀ right[j] over chunk c's tokens, dst
// [B,H,slots,Dk,Dv]: U_c = (K ⊙ kfac)ᵀ V or W_c = (Q ⊙ qfac)ᵀ dO. A block per chunk.
__global__ void ChunkOuterKernel(float* dst, int slots, int shift, const float* left,
                                 const float* fac, const float* right, Dims d) {
  const ChunkIndex x(d);
  float* out = dst + (static_cast<int64_t>(x.bh) * slots + x.c + shift) * d.StateSize();
  for (int64_t e = threadIdx.x; e < d.StateSize(); e += blockDim.x) {
    const int r = static_cast<int>(e / d.value_dim), col = static_cast<int>(e % d.value_dim);
    float sum = 0.f;
    for (int j = 0; j < x.len; ++j) {
      const int64_t key = d.Key(x.b, x.t0 + j, x.h) + r;
      sum += left[key] * fac[key] * right[d.Value(x.b, x.t0 + j, x.h) + col];
    }
    out[e] = sum;
  }
}

// states [B,H,N+1,Dk,Dv]: on entry states[c+1] = U_c; on exit states[c] is the
// state entering chunk c and states[N] the final one. A thread per (b, h, element).
__global__ void ForwardScanKernel(float* states, float* final_state, const float* initial_state,
                                  const float* total, Dims d) {
  const int64_t id = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t size = d.StateSize();
  if (id >= static_cast<int64_t>(d.batch) * d.heads * size) return;
  const int64_t bh = id / size, e = id % size;
  const int r = static_cast<int>(e / d.value_dim);
  float* st = states + bh * (d.chunks + 1) * size + e;
  float s = initial_state != nullptr ? initial_state[id] : 0.f;
  st[0] = s;
  for (int c = 0; c < d.chunks; ++c) {
    s = total[(bh * d.chunks + c) * d.key_dim + r] * s + st[(c + 1) * size];
    st[(c + 1) * size] = s;
  }
  if (final_state != nullptr) final_state[id] = s;
}

// rev [B,H,N,Dk,Dv]: on entry rev[c] = W_c; on exit rev[c] = R_c, the gradient of
// chunk c's exit state; dinitial_state += the initial state's gradient.
__global__ void ReverseScanKernel(float* rev, float* dinitial_state, const float* dfinal_state,
                                  const float* total, Dims d) {
  const int64_t id = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t size = d.StateSize();
  if (id >= static_cast<int64_t>(d.batch) * d.heads * size) return;
  const int64_t bh = id / size, e = id % size;
  const int r = static_cast<int>(e / d.value_dim);
  float* rv = rev + bh * d.chunks * size + e;
  float grad = dfinal_state != nullptr ? dfinal_state[id] : 0.f;
  for (int c = d.chunks - 1; c >= 0; --c) {
    const float w = rv[c * size];
    rv[c * size] = grad;
    grad = total[(bh * d.chunks + c) * d.key_dim + r] * grad + w;
  }
  if (dinitial_state != nullptr) dinitial_state[id] += grad;
}

// A[i·C + j] for j ≤ i < len (entries above the diagonal untouched): a warp per
// key row j; prod is the warp's [Dk] running product, each lane owning channels
// lane, lane + 32, ...
__device__ void IntraScores(float* A, float* prod, const float* q, const float* k, LogDecay a,
                            const ChunkIndex& x, const Dims& d) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int j = warp; j < x.len; j += kWarps) {
    const int64_t kj = d.Key(x.b, x.t0 + j, x.h);
    for (int ch = lane; ch < d.key_dim; ch += 32) prod[ch] = k[kj + ch];
    for (int i = j; i < x.len; ++i) {
      const int64_t qi = d.Key(x.b, x.t0 + i, x.h);
      float part = 0.f;
      for (int ch = lane; ch < d.key_dim; ch += 32) {
        if (i > j) prod[ch] *= expf(DecayAt(a, qi + ch, x.h));
        part += q[qi + ch] * prod[ch];
      }
      const float dot = WarpSum(part);
      if (lane == 0) A[i * d.chunk + j] = dot;
    }
  }
}

// Shared: A [C,C], running products [kWarps, Dk]. A block per chunk.
__global__ void OutputKernel(float* out, const float* q, const float* k, const float* v, LogDecay a,
                             const float* qfac, const float* states, Dims d) {
  extern __shared__ float smem[];
  const ChunkIndex x(d);
  float* A = smem;
  IntraScores(A, A + d.chunk * d.chunk + (threadIdx.x / 32) * d.key_dim, q, k, a, x, d);
  __syncthreads();
  const float* S = states + (static_cast<int64_t>(x.bh) * (d.chunks + 1) + x.c) * d.StateSize();
  for (int e = threadIdx.x; e < x.len * d.value_dim; e += blockDim.x) {
    const int i = e / d.value_dim, col = e % d.value_dim;
    float intra = 0.f;
    for (int j = 0; j <= i; ++j) {
      intra += A[i * d.chunk + j] * v[d.Value(x.b, x.t0 + j, x.h) + col];
    }
    const int64_t qi = d.Key(x.b, x.t0 + i, x.h);
    float inter = 0.f;
    for (int ch = 0; ch < d.key_dim; ++ch) {
      inter += q[qi + ch] * qfac[qi + ch] * S[static_cast<int64_t>(ch) * d.value_dim + col];
    }
    out[d.Value(x.b, x.t0 + i, x.h) + col] = intra + inter;
  }
}

// The gradients of one chunk: dq_local, dk_local [B,T,H,Dk] (written), dv (+=).
// Shared: A, dA [C,C]; per warp a running product and an accumulator [Dk] each.
__global__ void ChunkBackwardKernel(float* dq_local, float* dk_local, float* dv, const float* dout,
                                    const float* q, const float* k, const float* v, LogDecay a,
                                    Factors f, const float* states, const float* rev, Dims d) {
  extern __shared__ float smem[];
  const ChunkIndex x(d);
  const int C = d.chunk, Dk = d.key_dim, Dv = d.value_dim;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* A = smem;
  float* dA = A + C * C;
  float* prod = dA + C * C + warp * 2 * Dk;
  float* acc = prod + Dk;
  const float* S = states + (static_cast<int64_t>(x.bh) * (d.chunks + 1) + x.c) * d.StateSize();
  const float* R = rev + (static_cast<int64_t>(x.bh) * d.chunks + x.c) * d.StateSize();
  for (int e = threadIdx.x; e < x.len * x.len; e += blockDim.x) {
    const int i = e / x.len, j = e % x.len;
    if (j > i) continue;
    const int64_t vi = d.Value(x.b, x.t0 + i, x.h), vj = d.Value(x.b, x.t0 + j, x.h);
    float sum = 0.f;
    for (int col = 0; col < Dv; ++col) sum += dout[vi + col] * v[vj + col];
    dA[i * C + j] = sum;
  }
  __syncthreads();
  // dK_j = Σ_{i≥j} dA[i,j] q_i ⊙ P_ji + kfac_j ⊙ (R v_j); A on the way.
  for (int j = warp; j < x.len; j += kWarps) {
    const int64_t kj = d.Key(x.b, x.t0 + j, x.h);
    for (int ch = lane; ch < Dk; ch += 32) {
      prod[ch] = 1.f;
      acc[ch] = 0.f;
    }
    for (int i = j; i < x.len; ++i) {
      const int64_t qi = d.Key(x.b, x.t0 + i, x.h);
      const float g = dA[i * C + j];
      float part = 0.f;
      for (int ch = lane; ch < Dk; ch += 32) {
        if (i > j) prod[ch] *= expf(DecayAt(a, qi + ch, x.h));
        const float qw = q[qi + ch] * prod[ch];
        part += qw * k[kj + ch];
        acc[ch] += g * qw;
      }
      const float dot = WarpSum(part);
      if (lane == 0) A[i * C + j] = dot;
    }
    const int64_t vj = d.Value(x.b, x.t0 + j, x.h);
    for (int ch = lane; ch < Dk; ch += 32) {
      float inter = 0.f;
      for (int col = 0; col < Dv; ++col) inter += v[vj + col] * R[ch * Dv + col];
      dk_local[kj + ch] = acc[ch] + f.kfac[kj + ch] * inter;
    }
  }
  // dQ_i = Σ_{j≤i} dA[i,j] k_j ⊙ P_ji + qfac_i ⊙ (S dO_i).
  for (int i = warp; i < x.len; i += kWarps) {
    const int64_t qi = d.Key(x.b, x.t0 + i, x.h);
    for (int ch = lane; ch < Dk; ch += 32) {
      prod[ch] = 1.f;
      acc[ch] = 0.f;
    }
    for (int j = i; j >= 0; --j) {
      const int64_t kj = d.Key(x.b, x.t0 + j, x.h);
      const float g = dA[i * C + j];
      for (int ch = lane; ch < Dk; ch += 32) {
        acc[ch] += g * k[kj + ch] * prod[ch];
        prod[ch] *= expf(DecayAt(a, kj + ch, x.h));
      }
    }
    const int64_t vi = d.Value(x.b, x.t0 + i, x.h);
    for (int ch = lane; ch < Dk; ch += 32) {
      float inter = 0.f;
      for (int col = 0; col < Dv; ++col) inter += dout[vi + col] * S[ch * Dv + col];
      dq_local[qi + ch] = acc[ch] + f.qfac[qi + ch] * inter;
    }
  }
  __syncthreads();
  // dV_j += Σ_{i≥j} A[i,j] dO_i + (K ⊙ kfac)_j R.
  for (int e = threadIdx.x; e < x.len * Dv; e += blockDim.x) {
    const int j = e / Dv, col = e % Dv;
    float intra = 0.f;
    for (int i = j; i < x.len; ++i) intra += A[i * C + j] * dout[d.Value(x.b, x.t0 + i, x.h) + col];
    const int64_t kj = d.Key(x.b, x.t0 + j, x.h);
    float inter = 0.f;
    for (int ch = 0; ch < Dk; ++ch) inter += k[kj + ch] * f.kfac[kj + ch] * R[ch * Dv + col];
    dv[d.Value(x.b, x.t0 + j, x.h) + col] += intra + inter;
  }
}

// dq += dq_local, dk += dk_local and, when dlog_decay is wanted, the reverse
// cumsum of q ⊙ dq − k ⊙ dk seeded with z. A thread per (b, h, channel).
__global__ void FinishKernel(float* dq, float* dk, float* dlog_decay, const float* dq_local,
                             const float* dk_local, const float* q, const float* k,
                             const float* states, const float* dfinal_state, Dims d) {
  const int64_t id = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (id >= static_cast<int64_t>(d.batch) * d.heads * d.key_dim) return;
  const int ch = static_cast<int>(id % d.key_dim);
  const int bh = static_cast<int>(id / d.key_dim), b = bh / d.heads, h = bh % d.heads;
  float carry = 0.f;
  if (dlog_decay != nullptr && dfinal_state != nullptr) {
    const int64_t row = static_cast<int64_t>(ch) * d.value_dim;
    const float* fin =
        states + (static_cast<int64_t>(bh) * (d.chunks + 1) + d.chunks) * d.StateSize() + row;
    const float* dfin = dfinal_state + bh * d.StateSize() + row;
    for (int col = 0; col < d.value_dim; ++col) carry += fin[col] * dfin[col];
  }
  for (int t = d.seq - 1; t >= 0; --t) {
    const int64_t key = d.Key(b, t, h) + ch;
    const float gq = dq_local[key], gk = dk_local[key];
    if (dlog_decay != nullptr) {
      carry += q[key] * gq - k[key] * gk;
      dlog_decay[key] += carry;
    }
    dq[key] += gq;
    dk[key] += gk;
  }
}

Dims MakeDims(int batch, int seq, int heads, int key_dim, int value_dim, int chunk,
              const char* op) {
  RequireArg(chunk >= 1, op, "chunk must be at least 1");
  const int C = std::min({chunk, kMaxChunk, std::max(seq, 1)});
  return {batch, seq, heads, key_dim, value_dim, C, (seq + C - 1) / C};
}

int64_t KeyElements(const Dims& d) {
  return static_cast<int64_t>(d.batch) * d.seq * d.heads * d.key_dim;
}

// Steps 1-3 of the forward (scratch slots 0-3): the factors, and the states
// entering every chunk (states[N] the final one, copied to final_state).
Factors ForwardStates(const Context& ctx, float** states, float* final_state, const float* k,
                      const float* v, LogDecay a, const float* initial_state, const Dims& d) {
  const int64_t bh = static_cast<int64_t>(d.batch) * d.heads;
  const Factors f{ctx.scratch->GetFloats(0, KeyElements(d)),
                  ctx.scratch->GetFloats(1, KeyElements(d)),
                  ctx.scratch->GetFloats(2, bh * d.chunks * d.key_dim)};
  *states = ctx.scratch->GetFloats(3, bh * (d.chunks + 1) * d.StateSize());
  Launch(ctx, FactorsKernel, BlocksFor(bh * d.chunks * d.key_dim, kThreads), kThreads, 0, f, a, d);
  Launch(ctx, ChunkOuterKernel, bh * d.chunks, kThreads, 0, *states, d.chunks + 1, 1, k, f.kfac, v,
         d);
  Launch(ctx, ForwardScanKernel, BlocksFor(bh * d.StateSize(), kThreads), kThreads, 0, *states,
         final_state, initial_state, f.total, d);
  return f;
}

}  // namespace

void ChunkedRecurrenceForward(const Context& ctx, float* out, float* final_state, const float* q,
                              const float* k, const float* v, LogDecay log_decay,
                              const float* initial_state, int batch, int seq, int heads,
                              int key_dim, int value_dim, int chunk, const char* op) {
  const Dims d = MakeDims(batch, seq, heads, key_dim, value_dim, chunk, op);
  float* states = nullptr;
  const Factors f = ForwardStates(ctx, &states, final_state, k, v, log_decay, initial_state, d);
  const size_t smem = (static_cast<size_t>(d.chunk) * d.chunk + kWarps * key_dim) * sizeof(float);
  Launch(ctx, OutputKernel, static_cast<int64_t>(batch) * heads * d.chunks, kThreads, smem, out, q,
         k, v, log_decay, f.qfac, states, d);
}

void ChunkedRecurrenceBackward(const Context& ctx, float* dq, float* dk, float* dv,
                               float* dlog_decay, float* dinitial_state, const float* dout,
                               const float* dfinal_state, const float* q, const float* k,
                               const float* v, LogDecay log_decay, const float* initial_state,
                               int batch, int seq, int heads, int key_dim, int value_dim, int chunk,
                               const char* op) {
  const Dims d = MakeDims(batch, seq, heads, key_dim, value_dim, chunk, op);
  const int64_t bh = static_cast<int64_t>(batch) * heads;
  float* states = nullptr;
  const Factors f =
      ForwardStates(ctx, &states, /*final_state=*/nullptr, k, v, log_decay, initial_state, d);
  float* rev = ctx.scratch->GetFloats(4, bh * d.chunks * d.StateSize());
  Launch(ctx, ChunkOuterKernel, bh * d.chunks, kThreads, 0, rev, d.chunks, 0, q, f.qfac, dout, d);
  Launch(ctx, ReverseScanKernel, BlocksFor(bh * d.StateSize(), kThreads), kThreads, 0, rev,
         dinitial_state, dfinal_state, f.total, d);
  float* dq_local = ctx.scratch->GetFloats(5, KeyElements(d));
  float* dk_local = ctx.scratch->GetFloats(6, KeyElements(d));
  const size_t smem =
      (2 * static_cast<size_t>(d.chunk) * d.chunk + 2 * kWarps * key_dim) * sizeof(float);
  Launch(ctx, ChunkBackwardKernel, bh * d.chunks, kThreads, smem, dq_local, dk_local, dv, dout, q,
         k, v, log_decay, f, states, rev, d);
  Launch(ctx, FinishKernel, BlocksFor(bh * key_dim, kThreads), kThreads, 0, dq, dk, dlog_decay,
         dq_local, dk_local, q, k, states, dfinal_state, d);
}

}  // namespace flopwise::kernels::cuda
