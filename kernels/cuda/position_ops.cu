// LRPE: a thread per input element, angle (pos_offset + t)·θ rounded to float
// as on the CPU, then sincosf; the backward's dθ is a two-stage column sum over
// the B·T rows. TPE: a warp per (b, channel) runs the recurrence over time with
// its e states in shared memory (lanes own j = lane, lane + 32, ...) and sums
// them with a warp reduction per token; the backward runs the reverse scan the
// same way and writes each (b, channel)'s dB row, summed over b in order.
#include "kernels/cuda/position_ops.h"

#include <cstdint>

#include "kernels/cuda/mixer_common.h"

namespace flopwise::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

__global__ void LrpeForwardKernel(float* out, const float* inp, const float* theta, int64_t n,
                                  int seq, int64_t width, int head_dim, int pos_offset) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n) return;
  const int64_t r = idx / width, e = idx % width;
  const int64_t head_start = e - e % head_dim, c = e % head_dim;
  const float angle = static_cast<float>(pos_offset + static_cast<int>(r % seq)) * theta[e];
  float sn, cs;
  sincosf(angle, &sn, &cs);
  float* y = out + 2 * (r * width + head_start);
  y[c] = inp[idx] * cs;
  y[head_dim + c] = inp[idx] * sn;
}

// Grid (column blocks, row groups); partials [groups, width] (nullptr: not wanted).
__global__ void LrpeBackwardKernel(float* dinp, float* partials, const float* dout,
                                   const float* inp, const float* theta, int64_t rows, int seq,
                                   int64_t width, int head_dim, int pos_offset) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= width) return;
  const int64_t head_start = e - e % head_dim, c = e % head_dim;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * kRowsPerGroup;
  const int64_t r1 = min(rows, r0 + kRowsPerGroup);
  float dtheta = 0.f;
  for (int64_t r = r0; r < r1; ++r) {
    const float position = static_cast<float>(pos_offset + static_cast<int>(r % seq));
    float sn, cs;
    sincosf(position * theta[e], &sn, &cs);
    const float* g = dout + 2 * (r * width + head_start);
    const float x = inp[r * width + e];
    dinp[r * width + e] = cs * g[c] + sn * g[head_dim + c];
    dtheta += position * x * (cs * g[head_dim + c] - sn * g[c]);
  }
  if (partials != nullptr) partials[blockIdx.y * width + e] = dtheta;
}

// A warp per (b, c), x = b·dim + c. Shared: γ [e], then each warp's states [e].
__global__ void TpeForwardKernel(float* out, const float* inp, const float* b_weight,
                                 const float* log_gamma, int batch, int seq, int dim, int tpe_dim) {
  extern __shared__ float smem[];
  float* gamma = smem;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* state = gamma + tpe_dim + warp * tpe_dim;
  for (int j = threadIdx.x; j < tpe_dim; j += blockDim.x) gamma[j] = expf(log_gamma[j]);
  __syncthreads();
  const int64_t x = static_cast<int64_t>(blockIdx.x) * kWarps + warp;
  if (x >= static_cast<int64_t>(batch) * dim) return;
  const int b = static_cast<int>(x / dim), c = static_cast<int>(x % dim);
  const float* bw = b_weight + static_cast<int64_t>(c) * tpe_dim;
  for (int j = lane; j < tpe_dim; j += 32) state[j] = 0.f;
  for (int t = 0; t < seq; ++t) {
    const int64_t o = (static_cast<int64_t>(b) * seq + t) * dim + c;
    const float xt = inp[o];
    float part = 0.f;
    for (int j = lane; j < tpe_dim; j += 32) {
      state[j] = gamma[j] * state[j] + bw[j] * xt;
      part += state[j];
    }
    const float y = WarpSum(part);
    if (lane == 0) out[o] = xt + y;
  }
}

// A warp per (b, c): r_τ = g_τ + γ r_{τ+1}; dx_τ = g_τ + Σ_j B[c,j] r_τ[j];
// partials[(b·dim + c)·e + j] = Σ_τ r_τ[j] x_τ (nullptr: not wanted).
// Shared: γ [e], then each warp's reverse states and dB sums [e] each.
__global__ void TpeBackwardKernel(float* dinp, float* partials, const float* dout, const float* inp,
                                  const float* b_weight, const float* log_gamma, int batch, int seq,
                                  int dim, int tpe_dim) {
  extern __shared__ float smem[];
  float* gamma = smem;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* rev = gamma + tpe_dim + warp * 2 * tpe_dim;
  float* db = rev + tpe_dim;
  for (int j = threadIdx.x; j < tpe_dim; j += blockDim.x) gamma[j] = expf(log_gamma[j]);
  __syncthreads();
  const int64_t x = static_cast<int64_t>(blockIdx.x) * kWarps + warp;
  if (x >= static_cast<int64_t>(batch) * dim) return;
  const int b = static_cast<int>(x / dim), c = static_cast<int>(x % dim);
  const float* bw = b_weight + static_cast<int64_t>(c) * tpe_dim;
  for (int j = lane; j < tpe_dim; j += 32) {
    rev[j] = 0.f;
    db[j] = 0.f;
  }
  for (int t = seq - 1; t >= 0; --t) {
    const int64_t o = (static_cast<int64_t>(b) * seq + t) * dim + c;
    const float g = dout[o], xt = inp[o];
    float part = 0.f;
    for (int j = lane; j < tpe_dim; j += 32) {
      rev[j] = g + gamma[j] * rev[j];
      part += bw[j] * rev[j];
      db[j] += rev[j] * xt;
    }
    const float dx = WarpSum(part);
    if (lane == 0) dinp[o] += g + dx;
  }
  if (partials == nullptr) return;
  for (int j = lane; j < tpe_dim; j += 32) partials[x * tpe_dim + j] = db[j];
}

}  // namespace

void LrpeForward(const Context& ctx, float* out, const float* inp, const float* theta, int batch,
                 int seq, int heads, int head_dim, int pos_offset) {
  const int64_t width = static_cast<int64_t>(heads) * head_dim;
  const int64_t n = static_cast<int64_t>(batch) * seq * width;
  Launch(ctx, LrpeForwardKernel, BlocksFor(n, kThreads), kThreads, 0, out, inp, theta, n, seq,
         width, head_dim, pos_offset);
}

void LrpeBackward(const Context& ctx, float* dinp, float* dtheta, const float* dout,
                  const float* inp, const float* theta, int batch, int seq, int heads, int head_dim,
                  int pos_offset) {
  const int64_t width = static_cast<int64_t>(heads) * head_dim;
  const int64_t rows = static_cast<int64_t>(batch) * seq;
  const int groups = RowGroups(rows);
  if (groups == 0 || width == 0) return;
  float* partials = dtheta != nullptr ? ctx.scratch->GetFloats(0, groups * width) : nullptr;
  const dim3 grid(static_cast<unsigned>(BlocksFor(width, kThreads)), static_cast<unsigned>(groups));
  LrpeBackwardKernel<<<grid, kThreads, 0, ctx.stream>>>(dinp, partials, dout, inp, theta, rows, seq,
                                                        width, head_dim, pos_offset);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
  if (dtheta != nullptr) AddPartialSums(ctx, dtheta, partials, groups, width);
}

void TpeForward(const Context& ctx, float* out, const float* inp, const float* b_weight,
                const float* log_gamma, int batch, int seq, int dim, int tpe_dim) {
  const size_t smem = static_cast<size_t>(1 + kWarps) * tpe_dim * sizeof(float);
  Launch(ctx, TpeForwardKernel, BlocksFor(static_cast<int64_t>(batch) * dim, kWarps), kThreads,
         smem, out, inp, b_weight, log_gamma, batch, seq, dim, tpe_dim);
}

void TpeBackward(const Context& ctx, float* dinp, float* db_weight, const float* dout,
                 const float* inp, const float* b_weight, const float* log_gamma, int batch,
                 int seq, int dim, int tpe_dim) {
  const int64_t width = static_cast<int64_t>(dim) * tpe_dim;
  float* partials = db_weight != nullptr ? ctx.scratch->GetFloats(0, batch * width) : nullptr;
  const size_t smem = static_cast<size_t>(1 + 2 * kWarps) * tpe_dim * sizeof(float);
  Launch(ctx, TpeBackwardKernel, BlocksFor(static_cast<int64_t>(batch) * dim, kWarps), kThreads,
         smem, dinp, partials, dout, inp, b_weight, log_gamma, batch, seq, dim, tpe_dim);
  if (db_weight != nullptr) AddPartialSums(ctx, db_weight, partials, batch, width);
}

}  // namespace flopwise::kernels::cuda
