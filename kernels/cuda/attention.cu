// One warp per row, kRows rows per block. Forward: a warp owns a query row and
// sweeps the key tiles (kTile keys in shared memory, one per lane) with an
// online softmax: lane j scores key j, the warp takes the tile's max and sum,
// rescales its running output (D/32 values per lane) and adds p·V.
// lse = m + log l is saved. Backward recomputes P = exp(S − lse) twice, so that
// every gradient row has a single owner (no atomics): a query-row pass gives
// dQ = Σ_j dS_ij k_j, a key-row pass gives dK = Σ_i dS_ij q_i and
// dV = Σ_i P_ij dO_i, with dS = P ⊙ (dO·v − Δ)/sqrt(D), Δ_i = dO_i·O_i.
// Shared tiles have row stride D+1, so the lanes' dot products hit distinct banks.
#include "kernels/cuda/attention.h"

#include <cmath>
#include <cstdint>

#include "kernels/cuda/mixer_common.h"

namespace flopwise::kernels::cuda {
namespace {

constexpr int kMaxHeadDim = 128;
constexpr int kPerLane = kMaxHeadDim / 32;  // output channels per lane: c = lane + 32·x
constexpr int kRows = 8;                    // rows per block, one warp each
constexpr int kTile = 32;                   // rows of the other side per shared tile
constexpr int kThreads = kRows * 32;

struct AttnDims {
  int seq, heads, head_dim;
  float scale;  // 1/sqrt(D)
  // Element offset of token t of head (b, h) in a [B,T,H,D] tensor.
  __device__ int64_t Row(int b, int t, int h) const {
    return (static_cast<int64_t>(b) * seq + t) * heads * head_dim +
           static_cast<int64_t>(h) * head_dim;
  }
};

// tile[r·(D+1) + c] = x[token t0 + r, c] for r < kTile (0 past the sequence).
__device__ void LoadTile(float* tile, const float* x, int b, int t0, int h, const AttnDims& d) {
  const int D = d.head_dim;
  for (int e = threadIdx.x; e < kTile * D; e += blockDim.x) {
    const int r = e / D, c = e % D;
    const int t = t0 + r;
    tile[r * (D + 1) + c] = t < d.seq ? x[d.Row(b, t, h) + c] : 0.f;
  }
}

// rows[r·D + c] = x[token t0 + r, c] for r < kRows (0 past the sequence).
__device__ void LoadRows(float* rows, const float* x, int b, int t0, int h, const AttnDims& d) {
  const int D = d.head_dim;
  for (int e = threadIdx.x; e < kRows * D; e += blockDim.x) {
    const int r = e / D, c = e % D;
    const int t = t0 + r;
    rows[e] = t < d.seq ? x[d.Row(b, t, h) + c] : 0.f;
  }
}

__device__ float Dot(const float* a, const float* b, int n) {
  float sum = 0;
  for (int c = 0; c < n; ++c) sum += a[c] * b[c];
  return sum;
}

// Grid (B·H, ceil(T/kRows)); shared: K, V tiles [kTile, D+1], Q rows [kRows, D].
__global__ void ForwardKernel(float* out, float* lse, const float* q, const float* k,
                              const float* v, AttnDims d) {
  extern __shared__ float smem[];
  const int D = d.head_dim;
  float* ks = smem;
  float* vs = ks + kTile * (D + 1);
  float* qs = vs + kTile * (D + 1);
  const int bh = blockIdx.x, b = bh / d.heads, h = bh % d.heads;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = blockIdx.y * kRows;
  const int i = row0 + warp;
  const int last_row = min(d.seq, row0 + kRows) - 1;
  LoadRows(qs, q, b, row0, h, d);
  float o[kPerLane] = {};
  float m = -INFINITY, l = 0.f;
  for (int j0 = 0; j0 <= last_row; j0 += kTile) {
    __syncthreads();  // the previous tile is consumed
    LoadTile(ks, k, b, j0, h, d);
    LoadTile(vs, v, b, j0, h, d);
    __syncthreads();
    if (i >= d.seq) continue;
    const int j = j0 + lane;
    const float s = j <= i ? Dot(qs + warp * D, ks + lane * (D + 1), D) * d.scale : -INFINITY;
    const float tile_max = WarpMax(s);
    if (tile_max == -INFINITY) continue;  // the whole tile lies above the diagonal
    const float m_new = fmaxf(m, tile_max);
    const float alpha = expf(m - m_new);
    const float p = j <= i ? expf(s - m_new) : 0.f;
    l = l * alpha + WarpSum(p);
    for (int x = 0; x < kPerLane; ++x) o[x] *= alpha;
    for (int jj = 0; jj < kTile; ++jj) {
      const float pj = __shfl_sync(0xffffffffu, p, jj);
      for (int x = 0; x < kPerLane; ++x) {
        const int c = lane + 32 * x;
        if (c < D) o[x] += pj * vs[jj * (D + 1) + c];
      }
    }
    m = m_new;
  }
  if (i >= d.seq) return;
  for (int x = 0; x < kPerLane; ++x) {
    const int c = lane + 32 * x;
    if (c < D) out[d.Row(b, i, h) + c] = o[x] / l;
  }
  if (lane == 0) lse[static_cast<int64_t>(bh) * d.seq + i] = m + logf(l);
}

// delta[bh·T + t] = dO_t·O_t; a thread per (b, h, t), summed in the order of
// the dO·v products of the backward kernels (so a row with a single key, where
// O = v, gets dS = 0 exactly).
__global__ void DeltaKernel(float* delta, const float* dout, const float* out, int batch,
                            AttnDims d) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= static_cast<int64_t>(batch) * d.heads * d.seq) return;
  const int t = static_cast<int>(row % d.seq);
  const int bh = static_cast<int>(row / d.seq), b = bh / d.heads, h = bh % d.heads;
  const int64_t o = d.Row(b, t, h);
  delta[row] = Dot(dout + o, out + o, d.head_dim);
}

// dQ: a warp per query row i, key tiles up to the block's last row.
// Shared: K, V tiles [kTile, D+1]; Q, dO rows [kRows, D].
__global__ void DqKernel(float* dq, const float* dout, const float* q, const float* k,
                         const float* v, const float* lse, const float* delta, AttnDims d) {
  extern __shared__ float smem[];
  const int D = d.head_dim;
  float* ks = smem;
  float* vs = ks + kTile * (D + 1);
  float* qs = vs + kTile * (D + 1);
  float* gs = qs + kRows * D;
  const int bh = blockIdx.x, b = bh / d.heads, h = bh % d.heads;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = blockIdx.y * kRows;
  const int i = row0 + warp;
  const int last_row = min(d.seq, row0 + kRows) - 1;
  LoadRows(qs, q, b, row0, h, d);
  LoadRows(gs, dout, b, row0, h, d);
  const float lse_i = i < d.seq ? lse[static_cast<int64_t>(bh) * d.seq + i] : 0.f;
  const float delta_i = i < d.seq ? delta[static_cast<int64_t>(bh) * d.seq + i] : 0.f;
  float acc[kPerLane] = {};
  for (int j0 = 0; j0 <= last_row; j0 += kTile) {
    __syncthreads();
    LoadTile(ks, k, b, j0, h, d);
    LoadTile(vs, v, b, j0, h, d);
    __syncthreads();
    if (i >= d.seq) continue;
    const int j = j0 + lane;
    float ds = 0.f;
    if (j <= i) {
      const float s = Dot(qs + warp * D, ks + lane * (D + 1), D) * d.scale;
      const float p = expf(s - lse_i);
      const float dp = Dot(gs + warp * D, vs + lane * (D + 1), D);
      ds = p * (dp - delta_i) * d.scale;
    }
    for (int jj = 0; jj < kTile; ++jj) {
      const float dsj = __shfl_sync(0xffffffffu, ds, jj);
      for (int x = 0; x < kPerLane; ++x) {
        const int c = lane + 32 * x;
        if (c < D) acc[x] += dsj * ks[jj * (D + 1) + c];
      }
    }
  }
  if (i >= d.seq) return;
  for (int x = 0; x < kPerLane; ++x) {
    const int c = lane + 32 * x;
    if (c < D) dq[d.Row(b, i, h) + c] = acc[x];
  }
}

// dK, dV: a warp per key row j, query tiles from the block's first row on.
// Shared: Q, dO tiles [kTile, D+1]; lse, Δ [kTile]; K, V rows [kRows, D].
__global__ void DkDvKernel(float* dk, float* dv, const float* dout, const float* q, const float* k,
                           const float* v, const float* lse, const float* delta, AttnDims d) {
  extern __shared__ float smem[];
  const int D = d.head_dim;
  float* qs = smem;
  float* gs = qs + kTile * (D + 1);
  float* ks = gs + kTile * (D + 1);
  float* vs = ks + kRows * D;
  float* lse_s = vs + kRows * D;
  float* delta_s = lse_s + kTile;
  const int bh = blockIdx.x, b = bh / d.heads, h = bh % d.heads;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = blockIdx.y * kRows;
  const int j = row0 + warp;
  LoadRows(ks, k, b, row0, h, d);
  LoadRows(vs, v, b, row0, h, d);
  float dk_acc[kPerLane] = {}, dv_acc[kPerLane] = {};
  for (int i0 = row0; i0 < d.seq; i0 += kTile) {
    __syncthreads();
    LoadTile(qs, q, b, i0, h, d);
    LoadTile(gs, dout, b, i0, h, d);
    if (threadIdx.x < kTile) {
      const int t = i0 + threadIdx.x;
      const int64_t o = static_cast<int64_t>(bh) * d.seq + t;
      lse_s[threadIdx.x] = t < d.seq ? lse[o] : 0.f;
      delta_s[threadIdx.x] = t < d.seq ? delta[o] : 0.f;
    }
    __syncthreads();
    if (j >= d.seq) continue;
    const int i = i0 + lane;
    float p = 0.f, ds = 0.f;
    if (i >= j && i < d.seq) {
      const float s = Dot(qs + lane * (D + 1), ks + warp * D, D) * d.scale;
      p = expf(s - lse_s[lane]);
      const float dp = Dot(gs + lane * (D + 1), vs + warp * D, D);
      ds = p * (dp - delta_s[lane]) * d.scale;
    }
    for (int ii = 0; ii < kTile; ++ii) {
      const float pi = __shfl_sync(0xffffffffu, p, ii);
      const float dsi = __shfl_sync(0xffffffffu, ds, ii);
      for (int x = 0; x < kPerLane; ++x) {
        const int c = lane + 32 * x;
        if (c < D) {
          dv_acc[x] += pi * gs[ii * (D + 1) + c];
          dk_acc[x] += dsi * qs[ii * (D + 1) + c];
        }
      }
    }
  }
  if (j >= d.seq) return;
  for (int x = 0; x < kPerLane; ++x) {
    const int c = lane + 32 * x;
    if (c < D) {
      dk[d.Row(b, j, h) + c] = dk_acc[x];
      dv[d.Row(b, j, h) + c] = dv_acc[x];
    }
  }
}

AttnDims MakeDims(int seq, int heads, int head_dim, const char* op) {
  RequireArg(head_dim >= 1 && head_dim <= kMaxHeadDim, op, "head_dim must be in [1, 128]");
  return {seq, heads, head_dim, 1.f / std::sqrt(static_cast<float>(head_dim))};
}

// Grid of the row kernels: x = (b, h), y = row block. Returns 0 blocks for empty inputs.
dim3 RowGrid(int batch, int seq, int heads) {
  return dim3(static_cast<unsigned>(batch * heads), static_cast<unsigned>(BlocksFor(seq, kRows)));
}

}  // namespace

void AttentionForward(const Context& ctx, float* out, float* lse, const float* q, const float* k,
                      const float* v, int batch, int seq, int heads, int head_dim) {
  const AttnDims d = MakeDims(seq, heads, head_dim, "AttentionForward");
  if (static_cast<int64_t>(batch) * heads * seq == 0) return;
  const size_t smem = (2 * kTile * (head_dim + 1) + kRows * head_dim) * sizeof(float);
  ForwardKernel<<<RowGrid(batch, seq, heads), kThreads, smem, ctx.stream>>>(out, lse, q, k, v, d);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
}

void AttentionBackward(const Context& ctx, float* dq, float* dk, float* dv, const float* dout,
                       const float* q, const float* k, const float* v, const float* out,
                       const float* lse, int batch, int seq, int heads, int head_dim) {
  const AttnDims d = MakeDims(seq, heads, head_dim, "AttentionBackward");
  const int64_t rows = static_cast<int64_t>(batch) * heads * seq;
  if (rows == 0) return;
  float* delta = ctx.scratch->GetFloats(0, rows);
  Launch(ctx, DeltaKernel, BlocksFor(rows, kThreads), kThreads, 0, delta, dout, out, batch, d);
  const dim3 grid = RowGrid(batch, seq, heads);
  const size_t dq_smem = (2 * kTile * (head_dim + 1) + 2 * kRows * head_dim) * sizeof(float);
  DqKernel<<<grid, kThreads, dq_smem, ctx.stream>>>(dq, dout, q, k, v, lse, delta, d);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
  const size_t dkv_smem =
      (2 * kTile * (head_dim + 1) + 2 * kRows * head_dim + 2 * kTile) * sizeof(float);
  DkDvKernel<<<grid, kThreads, dkv_smem, ctx.stream>>>(dk, dv, dout, q, k, v, lse, delta, d);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
}

}  // namespace flopwise::kernels::cuda
