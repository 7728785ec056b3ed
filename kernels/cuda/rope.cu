// Each thread rotates one (x[c], x[c + D/2]) pair by the angle of its position
// times `direction`: +1 forward, −1 the inverse rotation (the backward); both
// write their output, in place allowed.
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/rope.h"

namespace flopwise::kernels::cuda {
namespace {

// cos/sin [seq, D/2] of (pos_offset + t)·ω_c. ω_c = 1/base^(2c/D) as the CPU
// rounds it: the power in double rounded to float (powf may differ from the
// host's by a few ulp, and positions in the thousands would magnify that).
__global__ void RopeTableKernel(float* cos_table, float* sin_table, int seq, int head_dim,
                                int pos_offset, float base) {
  const int half = head_dim / 2;
  const int64_t n = int64_t{seq} * half;
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) {
    const int t = static_cast<int>(i / half);
    const int c = static_cast<int>(i - int64_t{t} * half);
    const float exponent = static_cast<float>(2 * c) / static_cast<float>(head_dim);
    const float power =
        static_cast<float>(pow(static_cast<double>(base), static_cast<double>(exponent)));
    const float freq = 1.0f / power;
    const float angle = static_cast<float>(pos_offset + t) * freq;
    cos_table[i] = cosf(angle);
    sin_table[i] = sinf(angle);
  }
}

__global__ void RopeRotateKernel(float* out, const float* inp, float direction,
                                 const float* cos_table, const float* sin_table, int seq, int heads,
                                 int head_dim, int64_t pairs) {
  const int half = head_dim / 2;
  for (int64_t i = GridStrideStart(); i < pairs; i += GridStride()) {
    // i enumerates (row = b·T + t, h, c) with c fastest.
    const int c = static_cast<int>(i % half);
    const int64_t row_head = i / half;
    const int64_t row = row_head / heads;
    const int64_t t = row % seq;
    const float cs = cos_table[t * half + c];
    const float sn = sin_table[t * half + c];
    const int64_t o = row_head * head_dim;
    const float x1 = inp[o + c];
    const float x2 = inp[o + half + c];
    const float y1 = x1 * cs - (direction * x2) * sn;
    const float y2 = x2 * cs + (direction * x1) * sn;
    out[o + c] = y1;
    out[o + half + c] = y2;
  }
}

void RopeRotate(const Context& ctx, float* out, const float* inp, float direction, int batch,
                int seq, int heads, int head_dim, int pos_offset, float base) {
  const int half = head_dim / 2;
  const int64_t table = int64_t{seq} * half;
  const int64_t pairs = int64_t{batch} * seq * heads * half;
  if (pairs <= 0) return;
  float* cos_table = ctx.scratch->GetFloats(0, 2 * table);
  float* sin_table = cos_table + table;
  RopeTableKernel<<<BlocksFor(table, kThreads), kThreads, 0, ctx.stream>>>(
      cos_table, sin_table, seq, head_dim, pos_offset, base);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
  RopeRotateKernel<<<BlocksFor(pairs, kThreads), kThreads, 0, ctx.stream>>>(
      out, inp, direction, cos_table, sin_table, seq, heads, head_dim, pairs);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void RopeForward(const Context& ctx, float* out, const float* inp, int batch, int seq, int heads,
                 int head_dim, int pos_offset, float base) {
  RopeRotate(ctx, out, inp, 1.0f, batch, seq, heads, head_dim, pos_offset, base);
}

void RopeBackward(const Context& ctx, float* dinp, const float* dout, int batch, int seq, int heads,
                  int head_dim, int pos_offset, float base) {
  RopeRotate(ctx, dinp, dout, -1.0f, batch, seq, heads, head_dim, pos_offset, base);
}

}  // namespace flopwise::kernels::cuda
