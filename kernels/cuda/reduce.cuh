// Block-level building blocks shared by the CUDA ops: launch sizes for
// grid-stride loops and fixed-order block reductions (the same tree every
// run, so results are bit-identical between runs).
#pragma once

#include <algorithm>
#include <cstdint>

namespace flopwise::kernels::cuda {

// Threads per block of every op in this folder; a power of two (the
// reductions below halve it).
inline constexpr int kThreads = 256;

// Blocks for a grid-stride loop over `count` items, at most `max_blocks`;
// REQUIRES count ≥ 1.
inline int BlocksFor(int64_t count, int64_t items_per_block, int64_t max_blocks = 65536) {
  return static_cast<int>(std::min((count + items_per_block - 1) / items_per_block, max_blocks));
}

__device__ inline int64_t GridStrideStart() {
  return int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
}
__device__ inline int64_t GridStride() { return int64_t{gridDim.x} * blockDim.x; }

// The sum of `value` over the block (blockDim.x == kThreads), returned to
// every thread; `shared` holds kThreads values. Every thread must call it.
template <typename T>
__device__ T BlockSum(T value, T* shared) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
  const T total = shared[0];
  __syncthreads();  // `shared` may be reused at once
  return total;
}

// The maximum of `value` over the block, as BlockSum.
__device__ inline float BlockMax(float value, float* shared) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) {
      shared[threadIdx.x] = fmaxf(shared[threadIdx.x], shared[threadIdx.x + half]);
    }
    __syncthreads();
  }
  const float total = shared[0];
  __syncthreads();
  return total;
}

}  // namespace flopwise::kernels::cuda
