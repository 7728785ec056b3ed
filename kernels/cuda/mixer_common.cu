#include "kernels/cuda/mixer_common.h"

#include <cstdio>
#include <cstdlib>

namespace flopwise::kernels::cuda {
namespace {

__global__ void AddPartialSumsKernel(float* dst, const float* partials, int groups, int64_t width) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= width) return;
  float sum = 0;
  for (int g = 0; g < groups; ++g) sum += partials[g * width + e];
  dst[e] += sum;
}

}  // namespace

void RequireArg(bool ok, const char* op, const char* problem) {
  if (ok) return;
  std::fprintf(stderr, "flopwise: %s: %s\n", op, problem);
  std::abort();
}

void AddPartialSums(const Context& ctx, float* dst, const float* partials, int groups,
                    int64_t width) {
  constexpr int kThreads = 256;
  Launch(ctx, AddPartialSumsKernel, BlocksFor(width, kThreads), kThreads, 0, dst, partials, groups,
         width);
}

}  // namespace flopwise::kernels::cuda
