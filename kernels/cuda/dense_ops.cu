#include "kernels/cuda/dense_ops.h"

#include <cmath>
#include <cub/device/device_radix_sort.cuh>

#include "kernels/cuda/blas.h"
#include "kernels/cuda/reduce.cuh"

namespace flopwise::kernels::cuda {
namespace {

// Partial sums of SumOfSquares: at most this many blocks.
constexpr int kSumOfSquaresBlocks = 1024;
// Row groups of the RMSNorm weight gradient's first stage: at most this many.
constexpr int kColumnSumGroups = 128;

// Launches `kernel` over a grid-stride loop of n elements on ctx.stream
// (nothing when n ≤ 0) and checks the launch.
template <typename... Params, typename... Args>
void LaunchElementwise(const Context& ctx, void (*kernel)(Params...), int64_t n, Args... args) {
  if (n <= 0) return;
  kernel<<<BlocksFor(n, kThreads), kThreads, 0, ctx.stream>>>(args...);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
}

__device__ inline float Sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

__global__ void EmbeddingForwardKernel(float* out, const int32_t* tokens, const float* embed,
                                       int64_t n, int dim) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) {
    const int64_t row = i / dim;
    out[i] = embed[int64_t{tokens[row]} * dim + (i - row * dim)];
  }
}

__global__ void IotaKernel(int32_t* values, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) values[i] = static_cast<int32_t>(i);
}

// One block per run of equal tokens in sorted order (the block at the run's
// first position does the work): sums the run's rows of dout in row order.
__global__ void EmbeddingBackwardSortedKernel(float* dembed, const float* dout,
                                              const int32_t* sorted_tokens,
                                              const int32_t* sorted_rows, int rows, int dim) {
  for (int start = blockIdx.x; start < rows; start += gridDim.x) {
    const int32_t token = sorted_tokens[start];
    if (start > 0 && sorted_tokens[start - 1] == token) continue;
    int end = start + 1;
    while (end < rows && sorted_tokens[end] == token) ++end;
    float* dst = dembed + int64_t{token} * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
      float sum = 0.0f;
      for (int i = start; i < end; ++i) sum += dout[int64_t{sorted_rows[i]} * dim + c];
      dst[c] += sum;
    }
  }
}

// One block per row.
__global__ void RmsNormForwardKernel(float* out, float* rstd, const float* inp, const float* weight,
                                     int rows, int dim, float eps) {
  __shared__ float shared[kThreads];
  for (int r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* x = inp + int64_t{r} * dim;
    float* y = out + int64_t{r} * dim;
    float sum_sq = 0.0f;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) sum_sq += x[c] * x[c];
    sum_sq = BlockSum(sum_sq, shared);
    const float s = 1.0f / sqrtf(sum_sq / static_cast<float>(dim) + eps);
    if (threadIdx.x == 0) rstd[r] = s;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
      y[c] = weight != nullptr ? x[c] * s * weight[c] : x[c] * s;
    }
  }
}

// One block per row: g = dy ⊙ w; dx += s·(g − ŷ·mean(g ⊙ ŷ)), ŷ = x·s.
__global__ void RmsNormBackwardInputKernel(float* dinp, const float* dout, const float* inp,
                                           const float* weight, const float* rstd, int rows,
                                           int dim) {
  __shared__ float shared[kThreads];
  for (int r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* x = inp + int64_t{r} * dim;
    const float* dy = dout + int64_t{r} * dim;
    float* dx = dinp + int64_t{r} * dim;
    const float s = rstd[r];
    float dot = 0.0f;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
      const float g = weight != nullptr ? dy[c] * weight[c] : dy[c];
      dot += g * x[c] * s;
    }
    const float mean = BlockSum(dot, shared) / static_cast<float>(dim);
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
      const float g = weight != nullptr ? dy[c] * weight[c] : dy[c];
      dx[c] += s * (g - x[c] * s * mean);
    }
  }
}

// partial[group, c] = Σ over the group's rows of dy⊙x·rstd; grid (column
// blocks, groups), rows split evenly between the groups.
__global__ void RmsNormWeightPartialKernel(float* partial, const float* dout, const float* inp,
                                           const float* rstd, int rows, int dim) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= dim) return;
  const int group = blockIdx.y;
  const int r0 = static_cast<int>(int64_t{rows} * group / gridDim.y);
  const int r1 = static_cast<int>(int64_t{rows} * (group + 1) / gridDim.y);
  float sum = 0.0f;
  for (int r = r0; r < r1; ++r) {
    const int64_t i = int64_t{r} * dim + c;
    sum += dout[i] * inp[i] * rstd[r];
  }
  partial[int64_t{group} * dim + c] = sum;
}

// dst[c] += Σ_group partial[group, c], groups in order.
__global__ void AddColumnSumsKernel(float* dst, const float* partial, int groups, int dim) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= dim) return;
  float sum = 0.0f;
  for (int group = 0; group < groups; ++group) sum += partial[int64_t{group} * dim + c];
  dst[c] += sum;
}

__global__ void SiluForwardKernel(float* out, const float* inp, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) {
    const float x = inp[i];
    out[i] = x * Sigmoid(x);
  }
}

__global__ void SiluBackwardKernel(float* dinp, const float* dout, const float* inp, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) {
    const float x = inp[i];
    const float s = Sigmoid(x);
    dinp[i] = dout[i] * s * (1.0f + x * (1.0f - s));
  }
}

__global__ void SigmoidGateForwardKernel(float* out, const float* u, const float* z, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) out[i] = u[i] * Sigmoid(z[i]);
}

__global__ void SigmoidGateBackwardKernel(float* du, float* dz, const float* dout, const float* u,
                                          const float* z, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) {
    const float g = Sigmoid(z[i]);
    if (du != nullptr) du[i] = dout[i] * g;
    if (dz != nullptr) dz[i] = dout[i] * u[i] * g * (1.0f - g);
  }
}

__global__ void GluForwardKernel(float* out, const float* u, const float* v, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) out[i] = u[i] * v[i];
}

__global__ void GluBackwardKernel(float* du, float* dv, const float* dout, const float* u,
                                  const float* v, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) {
    if (du != nullptr) du[i] = dout[i] * v[i];
    if (dv != nullptr) dv[i] = dout[i] * u[i];
  }
}

__global__ void SwigluForwardKernel(float* out, const float* u, const float* v, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) {
    const float x = v[i];
    out[i] = u[i] * x * Sigmoid(x);
  }
}

__global__ void SwigluBackwardKernel(float* du, float* dv, const float* dout, const float* u,
                                     const float* v, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) {
    const float x = v[i];
    const float s = Sigmoid(x);
    if (du != nullptr) du[i] = dout[i] * x * s;
    if (dv != nullptr) dv[i] = dout[i] * u[i] * s * (1.0f + x * (1.0f - s));
  }
}

__global__ void ResidualForwardKernel(float* out, const float* a, const float* b, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) out[i] = a[i] + b[i];
}

__global__ void AccumulateKernel(float* y, const float* x, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) y[i] += x[i];
}

__global__ void ScaleKernel(float* x, float scale, int64_t n) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) x[i] *= scale;
}

__global__ void AdamWKernel(float* param, const float* grad, float* m, float* v, int64_t n,
                            float lr, float beta1, float beta2, float eps, float weight_decay,
                            float correction1, float correction2, float grad_scale) {
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) {
    const float g = grad[i] * grad_scale;
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float m_hat = mi / correction1;
    const float v_hat = vi / correction2;
    param[i] -= lr * (m_hat / (sqrtf(v_hat) + eps) + weight_decay * param[i]);
  }
}

__global__ void SumOfSquaresPartialKernel(double* partial, const float* x, int64_t n) {
  __shared__ double shared[kThreads];
  double sum = 0.0;
  for (int64_t i = GridStrideStart(); i < n; i += GridStride()) {
    const double xi = x[i];
    sum += xi * xi;
  }
  sum = BlockSum(sum, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

// One block: *total = Σ partial[0..count) in a fixed order.
__global__ void SumPartialsKernel(double* total, const double* partial, int count) {
  __shared__ double shared[kThreads];
  double sum = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) sum += partial[i];
  sum = BlockSum(sum, shared);
  if (threadIdx.x == 0) *total = sum;
}

// Byte offset of the next 256-byte aligned buffer after `bytes`.
int64_t Aligned(int64_t bytes) { return (bytes + 255) / 256 * 256; }

}  // namespace

void MatmulForward(const Context& ctx, float* out, const float* inp, const float* weight, int rows,
                   int in_dim, int out_dim) {
  Gemm(ctx, false, true, rows, out_dim, in_dim, 1.0f, inp, in_dim, weight, in_dim, 0.0f, out,
       out_dim);
}

void MatmulBackward(const Context& ctx, float* dinp, float* dweight, const float* dout,
                    const float* inp, const float* weight, int rows, int in_dim, int out_dim) {
  if (dinp != nullptr) {
    Gemm(ctx, false, false, rows, in_dim, out_dim, 1.0f, dout, out_dim, weight, in_dim, 1.0f, dinp,
         in_dim);
  }
  if (dweight != nullptr) {
    Gemm(ctx, true, false, out_dim, in_dim, rows, 1.0f, dout, out_dim, inp, in_dim, 1.0f, dweight,
         in_dim);
  }
}

void EmbeddingForward(const Context& ctx, float* out, const int32_t* tokens, const float* embed,
                      int rows, int dim) {
  LaunchElementwise(ctx, EmbeddingForwardKernel, int64_t{rows} * dim, out, tokens, embed,
                    int64_t{rows} * dim, dim);
}

void EmbeddingBackward(const Context& ctx, float* dembed, const float* dout, const int32_t* tokens,
                       int rows, int dim) {
  if (rows <= 0 || dim <= 0) return;
  // Slot 0: sorted tokens, row ids, row ids in sorted order, CUB's storage.
  size_t sort_bytes = 0;
  FLOPWISE_CUDA_CHECK(
      cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, tokens, static_cast<int32_t*>(nullptr),
                                      static_cast<const int32_t*>(nullptr),
                                      static_cast<int32_t*>(nullptr), rows, 0, 32, ctx.stream));
  const int64_t ids_bytes = Aligned(int64_t{rows} * 4);
  char* base =
      static_cast<char*>(ctx.scratch->Get(0, 3 * ids_bytes + static_cast<int64_t>(sort_bytes)));
  auto* sorted_tokens = reinterpret_cast<int32_t*>(base);
  auto* row_ids = reinterpret_cast<int32_t*>(base + ids_bytes);
  auto* sorted_rows = reinterpret_cast<int32_t*>(base + 2 * ids_bytes);
  void* sort_storage = base + 3 * ids_bytes;
  LaunchElementwise(ctx, IotaKernel, rows, row_ids, int64_t{rows});
  FLOPWISE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(sort_storage, sort_bytes, tokens,
                                                      sorted_tokens, row_ids, sorted_rows, rows, 0,
                                                      32, ctx.stream));
  EmbeddingBackwardSortedKernel<<<BlocksFor(rows, 1), kThreads, 0, ctx.stream>>>(
      dembed, dout, sorted_tokens, sorted_rows, rows, dim);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
}

void RmsNormForward(const Context& ctx, float* out, float* rstd, const float* inp,
                    const float* weight, int rows, int dim, float eps) {
  if (rows <= 0) return;
  RmsNormForwardKernel<<<BlocksFor(rows, 1), kThreads, 0, ctx.stream>>>(out, rstd, inp, weight,
                                                                        rows, dim, eps);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
}

void RmsNormBackward(const Context& ctx, float* dinp, float* dweight, const float* dout,
                     const float* inp, const float* weight, const float* rstd, int rows, int dim) {
  if (rows <= 0 || dim <= 0) return;
  RmsNormBackwardInputKernel<<<BlocksFor(rows, 1), kThreads, 0, ctx.stream>>>(
      dinp, dout, inp, weight, rstd, rows, dim);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
  if (weight == nullptr || dweight == nullptr) return;
  const int groups = std::min(rows, kColumnSumGroups);
  float* partial = ctx.scratch->GetFloats(0, int64_t{groups} * dim);
  const int column_blocks = BlocksFor(dim, kThreads);
  RmsNormWeightPartialKernel<<<dim3(column_blocks, groups), kThreads, 0, ctx.stream>>>(
      partial, dout, inp, rstd, rows, dim);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
  AddColumnSumsKernel<<<column_blocks, kThreads, 0, ctx.stream>>>(dweight, partial, groups, dim);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
}

void SiluForward(const Context& ctx, float* out, const float* inp, int64_t n) {
  LaunchElementwise(ctx, SiluForwardKernel, n, out, inp, n);
}

void SiluBackward(const Context& ctx, float* dinp, const float* dout, const float* inp, int64_t n) {
  LaunchElementwise(ctx, SiluBackwardKernel, n, dinp, dout, inp, n);
}

void SigmoidGateForward(const Context& ctx, float* out, const float* u, const float* z, int64_t n) {
  LaunchElementwise(ctx, SigmoidGateForwardKernel, n, out, u, z, n);
}

void SigmoidGateBackward(const Context& ctx, float* du, float* dz, const float* dout,
                         const float* u, const float* z, int64_t n) {
  LaunchElementwise(ctx, SigmoidGateBackwardKernel, n, du, dz, dout, u, z, n);
}

void GluForward(const Context& ctx, float* out, const float* u, const float* v, int64_t n) {
  LaunchElementwise(ctx, GluForwardKernel, n, out, u, v, n);
}

void GluBackward(const Context& ctx, float* du, float* dv, const float* dout, const float* u,
                 const float* v, int64_t n) {
  LaunchElementwise(ctx, GluBackwardKernel, n, du, dv, dout, u, v, n);
}

void SwigluForward(const Context& ctx, float* out, const float* u, const float* v, int64_t n) {
  LaunchElementwise(ctx, SwigluForwardKernel, n, out, u, v, n);
}

void SwigluBackward(const Context& ctx, float* du, float* dv, const float* dout, const float* u,
                    const float* v, int64_t n) {
  LaunchElementwise(ctx, SwigluBackwardKernel, n, du, dv, dout, u, v, n);
}

void ResidualForward(const Context& ctx, float* out, const float* a, const float* b, int64_t n) {
  LaunchElementwise(ctx, ResidualForwardKernel, n, out, a, b, n);
}

void ResidualBackward(const Context& ctx, float* da, float* db, const float* dout, int64_t n) {
  if (da != nullptr) Accumulate(ctx, da, dout, n);
  if (db != nullptr) Accumulate(ctx, db, dout, n);
}

void Accumulate(const Context& ctx, float* y, const float* x, int64_t n) {
  LaunchElementwise(ctx, AccumulateKernel, n, y, x, n);
}

void Scale(const Context& ctx, float* x, float scale, int64_t n) {
  LaunchElementwise(ctx, ScaleKernel, n, x, scale, n);
}

void AdamWUpdate(const Context& ctx, float* param, const float* grad, float* m, float* v, int64_t n,
                 float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step,
                 float grad_scale) {
  // The bias corrections as the CPU computes them (in double, then rounded).
  const float correction1 =
      1.0f - static_cast<float>(std::pow(static_cast<double>(beta1), static_cast<double>(step)));
  const float correction2 =
      1.0f - static_cast<float>(std::pow(static_cast<double>(beta2), static_cast<double>(step)));
  LaunchElementwise(ctx, AdamWKernel, n, param, grad, m, v, n, lr, beta1, beta2, eps, weight_decay,
                    correction1, correction2, grad_scale);
}

double SumOfSquares(const Context& ctx, const float* x, int64_t n) {
  if (n <= 0) return 0.0;
  const int blocks = BlocksFor(n, kThreads, kSumOfSquaresBlocks);
  auto* partial = static_cast<double*>(ctx.scratch->Get(0, (int64_t{blocks} + 1) * 8));
  double* total = partial + blocks;
  SumOfSquaresPartialKernel<<<blocks, kThreads, 0, ctx.stream>>>(partial, x, n);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
  SumPartialsKernel<<<1, kThreads, 0, ctx.stream>>>(total, partial, blocks);
  FLOPWISE_CUDA_CHECK(cudaGetLastError());
  double host_total = 0.0;
  FLOPWISE_CUDA_CHECK(
      cudaMemcpyAsync(&host_total, total, sizeof(double), cudaMemcpyDeviceToHost, ctx.stream));
  FLOPWISE_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  return host_total;
}

}  // namespace flopwise::kernels::cuda
