// Helpers shared by the sequence-mixer kernels (attention.cu,
// chunked_recurrence.cu, hgrn2_gate.cu, position_ops.cu): checked launches,
// warp sums, and the second stage of the deterministic column reductions
// (each op sums fixed groups of rows into partials [groups, width], then
// AddPartialSums adds the groups in order: no atomics, same bits every run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/cuda/cuda_context.h"

namespace flopwise::kernels::cuda {

// Rows one thread sums in the first stage of a column reduction.
inline constexpr int kRowsPerGroup = 64;
inline int RowGroups(int64_t rows) {
  return static_cast<int>((rows + kRowsPerGroup - 1) / kRowsPerGroup);
}

// Blocks of `threads` threads covering n items.
inline int64_t BlocksFor(int64_t n, int threads) { return (n + threads - 1) / threads; }

// Aborts with "op: problem" when !ok (a violated precondition, kernels/backend.h).
void RequireArg(bool ok, const char* op, const char* problem);

// dst[e] += Σ_g partials[g·width + e] for e < width, the groups added in order.
void AddPartialSums(const Context& ctx, float* dst, const float* partials, int groups,
                    int64_t width);

#ifdef __CUDACC__
// Launches kernel<<<blocks, threads, smem, ctx.stream>>>(args...) and checks the
// launch; nothing when blocks is 0. Raises the kernel's dynamic shared memory
// limit when smem is over the default 48 KiB.
template <typename... Params, typename... Args>
void Launch(const Context& ctx, void (*kernel)(Params...), int64_t blocks, int threads, size_t smem,
            Args&&... args) {
  if (blocks == 0) return;
  if (smem > 48 * 1024) {
    FLOPWISE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             static_cast<int>(smem)));
  }
  kernel<<<static_cast<unsigned>(blocks), threads, smem, ctx.stream>>>(std::forward<Args>(args)...);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
}

// Σ of x over the 32 lanes of a warp, in every lane (all lanes must call).
__device__ inline float WarpSum(float x) {
  for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// max of x over the 32 lanes of a warp, in every lane (all lanes must call).
__device__ inline float WarpMax(float x) {
  for (int offset = 16; offset > 0; offset /= 2) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
  }
  return x;
}
#endif

}  // namespace flopwise::kernels::cuda
