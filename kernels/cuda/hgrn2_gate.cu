// The formulas of kernels/cpu/hgrn2_gate.cc, one thread per element (the gate)
// or per column (the lower bound): f = LB + (1-LB)σ(φ) is never formed; log f
// is logaddexp(log LB, log(1-LB) + logσ(φ)) (logσ(φ) alone where LB = 0) and
// k = 1 - f is (1-LB)σ(-φ), both exact as f → 1 and f → 0. The backward's
// dlower_bound: a thread per (column, group of kRowsPerGroup rows) writes a
// partial sum, then AddPartialSums adds the groups in order.
#include "kernels/cuda/hgrn2_gate.h"

#include <cstdint>

#include "kernels/cuda/mixer_common.h"

namespace flopwise::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// logσ(±φ) and σ(±φ) from one exp(−|φ|) and one log1p, none cancelled.
struct GateTerms {
  float log_sigmoid, log_sigmoid_neg, sigmoid, sigmoid_neg;
};

__device__ GateTerms Terms(float x) {
  const float e = expf(-fabsf(x));
  const float t = log1pf(e);
  const float inv = 1.f / (1.f + e);
  const bool positive = x >= 0.f;
  return {-(fmaxf(-x, 0.f) + t), -(fmaxf(x, 0.f) + t), positive ? inv : e * inv,
          positive ? e * inv : inv};
}

// log f = logaddexp(log LB, log(1−LB) + logσ(φ)), or logσ(φ) where LB = 0.
__device__ float LogForget(float log_sigmoid, float lb) {
  if (lb <= 0.f) return log_sigmoid;
  const float a = logf(lb), b = log1pf(-lb) + log_sigmoid;
  const float hi = fmaxf(a, b);
  return hi + log1pf(expf(fminf(a, b) - hi));
}

__global__ void GateForwardKernel(float* log_f, float* k, const float* phi,
                                  const float* lower_bound, int64_t n, int dim) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= n) return;
  const float lb = lower_bound[e % dim];
  const GateTerms g = Terms(phi[e]);
  log_f[e] = LogForget(g.log_sigmoid, lb);
  k[e] = (1.f - lb) * g.sigmoid_neg;
}

// Grid (column blocks, row groups); partials [groups, dim] (nullptr: not wanted).
__global__ void GateBackwardKernel(float* dphi, float* partials, const float* dlog_f,
                                   const float* dk, const float* phi, const float* lower_bound,
                                   int rows, int dim) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= dim) return;
  const float lb = lower_bound[c];
  const int r0 = blockIdx.y * kRowsPerGroup;
  const int r1 = min(rows, r0 + kRowsPerGroup);
  float dlb = 0.f;
  for (int r = r0; r < r1; ++r) {
    const int64_t e = static_cast<int64_t>(r) * dim + c;
    const GateTerms g = Terms(phi[e]);
    const float lf = LogForget(g.log_sigmoid, lb);
    // (1-LB)σ(φ)/f in [0, 1], from logs so that tiny f is harmless.
    const float share = lb > 0.f ? expf(log1pf(-lb) + g.log_sigmoid - lf) : 1.f;
    dphi[e] = dlog_f[e] * share * g.sigmoid_neg - dk[e] * (1.f - lb) * g.sigmoid * g.sigmoid_neg;
    if (lb > 0.f) dlb += dlog_f[e] * expf(g.log_sigmoid_neg - lf) - dk[e] * g.sigmoid_neg;
  }
  if (partials != nullptr) partials[static_cast<int64_t>(blockIdx.y) * dim + c] = dlb;
}

// A thread per column: LB_0 = 0, LB_l = Σ_{j=1..l} softmax_layers(P)_j.
__global__ void LowerBoundForwardKernel(float* lower_bound, const float* p, int layers, int dim) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= dim) return;
  float hi = p[c];
  for (int l = 1; l < layers; ++l) hi = fmaxf(hi, p[static_cast<int64_t>(l) * dim + c]);
  float sum = 0.f;
  for (int l = 0; l < layers; ++l) sum += expf(p[static_cast<int64_t>(l) * dim + c] - hi);
  float cumulative = 0.f;
  lower_bound[c] = 0.f;
  for (int l = 1; l < layers; ++l) {
    cumulative += expf(p[static_cast<int64_t>(l) * dim + c] - hi) / sum;
    lower_bound[static_cast<int64_t>(l) * dim + c] = cumulative;
  }
}

// A thread per column: dprob_j = Σ_{l≥j} dLB_l (j ≥ 1, dprob_0 = 0), then the
// softmax backward dP_j = prob_j (dprob_j − Σ_m prob_m dprob_m).
__global__ void LowerBoundBackwardKernel(float* dp, const float* dlower_bound, const float* p,
                                         int layers, int dim) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= dim) return;
  auto at = [&](const float* x, int l) { return x[static_cast<int64_t>(l) * dim + c]; };
  float hi = at(p, 0);
  for (int l = 1; l < layers; ++l) hi = fmaxf(hi, at(p, l));
  float sum = 0.f;
  for (int l = 0; l < layers; ++l) sum += expf(at(p, l) - hi);
  float weighted = 0.f, suffix = 0.f;
  for (int l = layers - 1; l >= 1; --l) {
    suffix += at(dlower_bound, l);
    weighted += expf(at(p, l) - hi) / sum * suffix;
  }
  suffix = 0.f;
  for (int l = layers - 1; l >= 0; --l) {
    if (l >= 1) suffix += at(dlower_bound, l);
    const float dprob = l >= 1 ? suffix : 0.f;
    dp[static_cast<int64_t>(l) * dim + c] += expf(at(p, l) - hi) / sum * (dprob - weighted);
  }
}

}  // namespace

void Hgrn2GateForward(const Context& ctx, float* log_f, float* k, const float* phi,
                      const float* lower_bound, int rows, int dim) {
  const int64_t n = static_cast<int64_t>(rows) * dim;
  Launch(ctx, GateForwardKernel, BlocksFor(n, kThreads), kThreads, 0, log_f, k, phi, lower_bound, n,
         dim);
}

void Hgrn2GateBackward(const Context& ctx, float* dphi, float* dlower_bound, const float* dlog_f,
                       const float* dk, const float* phi, const float* lower_bound, int rows,
                       int dim) {
  const int groups = RowGroups(rows);
  if (groups == 0 || dim == 0) return;
  float* partials = dlower_bound != nullptr
                        ? ctx.scratch->GetFloats(0, static_cast<int64_t>(groups) * dim)
                        : nullptr;
  const dim3 grid(static_cast<unsigned>(BlocksFor(dim, kThreads)), static_cast<unsigned>(groups));
  GateBackwardKernel<<<grid, kThreads, 0, ctx.stream>>>(dphi, partials, dlog_f, dk, phi,
                                                        lower_bound, rows, dim);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
  if (dlower_bound != nullptr) AddPartialSums(ctx, dlower_bound, partials, groups, dim);
}

void Hgrn2LowerBoundForward(const Context& ctx, float* lower_bound, const float* p, int layers,
                            int dim) {
  Launch(ctx, LowerBoundForwardKernel, BlocksFor(dim, kThreads), kThreads, 0, lower_bound, p,
         layers, dim);
}

void Hgrn2LowerBoundBackward(const Context& ctx, float* dp, const float* dlower_bound,
                             const float* p, int layers, int dim) {
  Launch(ctx, LowerBoundBackwardKernel, BlocksFor(dim, kThreads), kThreads, 0, dp, dlower_bound, p,
         layers, dim);
}

}  // namespace flopwise::kernels::cuda
