// Tokens in slices, as on the CPU (kernels/cpu/classifier.cc): the padded
// vocabulary rows are never part of the GEMMs, and no more than one slice of
// logits exists at a time.
#include <algorithm>
#include <cmath>

#include "kernels/cuda/blas.h"
#include "kernels/cuda/classifier.h"
#include "kernels/cuda/reduce.cuh"

namespace flopwise::kernels::cuda {
namespace {

constexpr int64_t kSliceLogits = int64_t{1} << 25;  // 128 MiB of float logits

// One block per row of the slice: losses[r], and with `backward` the row of
// logits replaced by grad_scale·(softmax − onehot) (zeros where the target is
// ignored). Max-subtracted softmax in fp32, as on the CPU.
__global__ void SoftmaxCrossEntropyKernel(float* losses, float* logits, const int32_t* targets,
                                          int rows, int vocab, float grad_scale, bool backward) {
  __shared__ float shared[kThreads];
  for (int r = blockIdx.x; r < rows; r += gridDim.x) {
    float* z = logits + int64_t{r} * vocab;
    const int target = targets[r];
    if (target < 0) {
      if (threadIdx.x == 0) losses[r] = 0.0f;
      if (backward) {
        for (int c = threadIdx.x; c < vocab; c += blockDim.x) z[c] = 0.0f;
      }
      continue;
    }
    // Every thread reads the target's logit before BlockMax's barrier, and
    // the row is written only after it.
    const float target_logit = z[target];
    float hi = -INFINITY;
    for (int c = threadIdx.x; c < vocab; c += blockDim.x) hi = fmaxf(hi, z[c]);
    hi = BlockMax(hi, shared);
    float sum = 0.0f;
    if (backward) {
      for (int c = threadIdx.x; c < vocab; c += blockDim.x) {
        const float e = expf(z[c] - hi);
        z[c] = e;
        sum += e;
      }
    } else {
      for (int c = threadIdx.x; c < vocab; c += blockDim.x) sum += expf(z[c] - hi);
    }
    sum = BlockSum(sum, shared);
    if (threadIdx.x == 0) losses[r] = hi + logf(sum) - target_logit;
    if (!backward) continue;
    const float factor = grad_scale / sum;
    for (int c = threadIdx.x; c < vocab; c += blockDim.x) {
      const float p = z[c] * factor;
      z[c] = c == target ? p - grad_scale : p;
    }
  }
}

}  // namespace

void ClassifierForwardBackward(const Context& ctx, float* losses, float* dx, float* dembed,
                               const float* x, const float* embed, const int32_t* targets, int rows,
                               int dim, int vocab, int padded_vocab, float grad_scale) {
  if (rows <= 0) return;
  const bool backward = dx != nullptr || dembed != nullptr;
  const int slice = static_cast<int>(
      std::clamp<int64_t>(kSliceLogits / std::max(vocab, 1), 1, std::max(rows, 1)));
  float* logits = ctx.scratch->GetFloats(0, int64_t{slice} * vocab);
  for (int r0 = 0; r0 < rows; r0 += slice) {
    const int n = std::min(slice, rows - r0);
    const float* xs = x + int64_t{r0} * dim;
    Gemm(ctx, false, true, n, vocab, dim, 1.0f, xs, dim, embed, dim, 0.0f, logits, vocab);
    SoftmaxCrossEntropyKernel<<<BlocksFor(n, 1), kThreads, 0, ctx.stream>>>(
        losses + r0, logits, targets + r0, n, vocab, grad_scale, backward);
    FLOPWISE_CUDA_CHECK(cudaGetLastError());
    if (!backward) continue;
    if (dx != nullptr) {
      Gemm(ctx, false, false, n, dim, vocab, 1.0f, logits, vocab, embed, dim, 1.0f,
           dx + int64_t{r0} * dim, dim);
    }
    if (dembed != nullptr) {
      Gemm(ctx, true, false, vocab, dim, n, 1.0f, logits, vocab, xs, dim, 1.0f, dembed, dim);
    }
  }
}

}  // namespace flopwise::kernels::cuda
