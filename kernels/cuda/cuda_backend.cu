// The CUDA Backend: forwards every op to the kernels/cuda/ function of the
// same name and owns what they run with (kernels/cuda/cuda_context.h): the
// stream, the cuBLAS handle and the scratch.
#include <algorithm>
#include <memory>
#include <string>

#include "kernels/backend.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/blas.h"
#include "kernels/cuda/classifier.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/dense_ops.h"
#include "kernels/cuda/gated_linear_attention.h"
#include "kernels/cuda/hgrn2_gate.h"
#include "kernels/cuda/linear_attention.h"
#include "kernels/cuda/position_ops.h"
#include "kernels/cuda/rope.h"
#include "kernels/require.h"

namespace flopwise::kernels {
namespace {

std::string CudaMessage(const std::string& what, cudaError_t err) {
  return what + ": " + cudaGetErrorString(err) + " (" + cudaGetErrorName(err) + ")";
}

class CudaBackend final : public Backend {
 public:
  // Takes ownership of ctx.stream and ctx.cublas; ctx.scratch is set here.
  explicit CudaBackend(const cuda::Context& ctx)
      : name_("cuda:" + std::to_string(ctx.device)), ctx_(ctx) {
    ctx_.scratch = &scratch_;
  }
  ~CudaBackend() override {
    cudaStreamSynchronize(ctx_.stream);
    cublasDestroy(ctx_.cublas);
    cudaStreamDestroy(ctx_.stream);
  }
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string_view name() const override { return name_; }
  int threads() const override { return 1; }

  DeviceMemory memory() const override {
    size_t free_bytes = 0, total_bytes = 0;
    FLOPWISE_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    DeviceMemory memory;
    memory.total_bytes = static_cast<int64_t>(total_bytes);
    memory.available_bytes = static_cast<int64_t>(free_bytes);
    memory.holder = "the GPU " + name_;
    return memory;
  }
  void* Allocate(int64_t bytes) override {
    const int64_t rounded = (std::max<int64_t>(bytes, 1) + 63) / 64 * 64;
    void* ptr = nullptr;
    if (cudaMalloc(&ptr, static_cast<size_t>(rounded)) != cudaSuccess) {
      cudaGetLastError();  // out of memory is not sticky: clear it for later checks
      return nullptr;
    }
    return ptr;
  }
  void Free(void* ptr) override { FLOPWISE_CUDA_CHECK(cudaFree(ptr)); }
  void Zero(void* ptr, int64_t bytes) override {
    FLOPWISE_CUDA_CHECK(cudaMemsetAsync(ptr, 0, static_cast<size_t>(bytes), ctx_.stream));
  }
  void Copy(void* dst, const void* src, int64_t bytes) override {
    FLOPWISE_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes),
                                        cudaMemcpyDeviceToDevice, ctx_.stream));
  }
  // Both host copies wait for the stream: the host buffer may be reused (or
  // read) as soon as they return.
  void CopyFromHost(void* dst, const void* host_src, int64_t bytes) override {
    FLOPWISE_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, static_cast<size_t>(bytes),
                                        cudaMemcpyHostToDevice, ctx_.stream));
    Synchronize();
  }
  void CopyToHost(void* host_dst, const void* src, int64_t bytes) override {
    FLOPWISE_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, static_cast<size_t>(bytes),
                                        cudaMemcpyDeviceToHost, ctx_.stream));
    Synchronize();
  }
  void Synchronize() override { FLOPWISE_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream)); }

  void MatmulForward(float* out, const float* inp, const float* weight, int rows, int in_dim,
                     int out_dim) override {
    cuda::MatmulForward(ctx_, out, inp, weight, rows, in_dim, out_dim);
  }
  void MatmulBackward(float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, int rows, int in_dim, int out_dim) override {
    cuda::MatmulBackward(ctx_, dinp, dweight, dout, inp, weight, rows, in_dim, out_dim);
  }
  void Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
            const float* b, int ldb, float beta, float* c, int ldc) override {
    cuda::Gemm(ctx_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  void EmbeddingForward(float* out, const int32_t* tokens, const float* embed, int rows,
                        int dim) override {
    cuda::EmbeddingForward(ctx_, out, tokens, embed, rows, dim);
  }
  void EmbeddingBackward(float* dembed, const float* dout, const int32_t* tokens, int rows,
                         int dim) override {
    cuda::EmbeddingBackward(ctx_, dembed, dout, tokens, rows, dim);
  }

  void RmsNormForward(float* out, float* rstd, const float* inp, const float* weight, int rows,
                      int dim, float eps) override {
    Require(dim > 0, "RmsNormForward", "dim must be positive");
    cuda::RmsNormForward(ctx_, out, rstd, inp, weight, rows, dim, eps);
  }
  void RmsNormBackward(float* dinp, float* dweight, const float* dout, const float* inp,
                       const float* weight, const float* rstd, int rows, int dim) override {
    cuda::RmsNormBackward(ctx_, dinp, dweight, dout, inp, weight, rstd, rows, dim);
  }

  void RopeForward(float* out, const float* inp, int batch, int seq, int heads, int head_dim,
                   int pos_offset, float base) override {
    Require(head_dim % 2 == 0, "RopeForward", "head_dim must be even");
    cuda::RopeForward(ctx_, out, inp, batch, seq, heads, head_dim, pos_offset, base);
  }
  void RopeBackward(float* dinp, const float* dout, int batch, int seq, int heads, int head_dim,
                    int pos_offset, float base) override {
    Require(head_dim % 2 == 0, "RopeBackward", "head_dim must be even");
    cuda::RopeBackward(ctx_, dinp, dout, batch, seq, heads, head_dim, pos_offset, base);
  }

  void AttentionForward(float* out, float* lse, const float* q, const float* k, const float* v,
                        int batch, int seq, int heads, int head_dim) override {
    cuda::AttentionForward(ctx_, out, lse, q, k, v, batch, seq, heads, head_dim);
  }
  void AttentionBackward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                         const float* k, const float* v, const float* out, const float* lse,
                         int batch, int seq, int heads, int head_dim) override {
    cuda::AttentionBackward(ctx_, dq, dk, dv, dout, q, k, v, out, lse, batch, seq, heads, head_dim);
  }

  void LinearAttentionForward(float* out, float* final_state, const float* q, const float* k,
                              const float* v, const float* log_decay, const float* initial_state,
                              int batch, int seq, int heads, int key_dim, int value_dim,
                              int chunk) override {
    Require(chunk >= 1, "LinearAttentionForward", "chunk must be at least 1");
    cuda::LinearAttentionForward(ctx_, out, final_state, q, k, v, log_decay, initial_state, batch,
                                 seq, heads, key_dim, value_dim, chunk);
  }
  void LinearAttentionBackward(float* dq, float* dk, float* dv, float* dinitial_state,
                               const float* dout, const float* dfinal_state, const float* q,
                               const float* k, const float* v, const float* log_decay,
                               const float* initial_state, int batch, int seq, int heads,
                               int key_dim, int value_dim, int chunk) override {
    Require(chunk >= 1, "LinearAttentionBackward", "chunk must be at least 1");
    cuda::LinearAttentionBackward(ctx_, dq, dk, dv, dinitial_state, dout, dfinal_state, q, k, v,
                                  log_decay, initial_state, batch, seq, heads, key_dim, value_dim,
                                  chunk);
  }

  void GatedLinearAttentionForward(float* out, float* final_state, const float* q, const float* k,
                                   const float* v, const float* log_decay,
                                   const float* initial_state, int batch, int seq, int heads,
                                   int key_dim, int value_dim, int chunk) override {
    Require(chunk >= 1, "GatedLinearAttentionForward", "chunk must be at least 1");
    cuda::GatedLinearAttentionForward(ctx_, out, final_state, q, k, v, log_decay, initial_state,
                                      batch, seq, heads, key_dim, value_dim, chunk);
  }
  void GatedLinearAttentionBackward(float* dq, float* dk, float* dv, float* dlog_decay,
                                    float* dinitial_state, const float* dout,
                                    const float* dfinal_state, const float* q, const float* k,
                                    const float* v, const float* log_decay,
                                    const float* initial_state, int batch, int seq, int heads,
                                    int key_dim, int value_dim, int chunk) override {
    Require(chunk >= 1, "GatedLinearAttentionBackward", "chunk must be at least 1");
    cuda::GatedLinearAttentionBackward(ctx_, dq, dk, dv, dlog_decay, dinitial_state, dout,
                                       dfinal_state, q, k, v, log_decay, initial_state, batch, seq,
                                       heads, key_dim, value_dim, chunk);
  }

  void Hgrn2GateForward(float* log_f, float* k, const float* phi, const float* lower_bound,
                        int rows, int dim) override {
    cuda::Hgrn2GateForward(ctx_, log_f, k, phi, lower_bound, rows, dim);
  }
  void Hgrn2GateBackward(float* dphi, float* dlower_bound, const float* dlog_f, const float* dk,
                         const float* phi, const float* lower_bound, int rows, int dim) override {
    cuda::Hgrn2GateBackward(ctx_, dphi, dlower_bound, dlog_f, dk, phi, lower_bound, rows, dim);
  }
  void Hgrn2LowerBoundForward(float* lower_bound, const float* p, int layers, int dim) override {
    cuda::Hgrn2LowerBoundForward(ctx_, lower_bound, p, layers, dim);
  }
  void Hgrn2LowerBoundBackward(float* dp, const float* dlower_bound, const float* p, int layers,
                               int dim) override {
    cuda::Hgrn2LowerBoundBackward(ctx_, dp, dlower_bound, p, layers, dim);
  }

  void LrpeForward(float* out, const float* inp, const float* theta, int batch, int seq, int heads,
                   int head_dim, int pos_offset) override {
    cuda::LrpeForward(ctx_, out, inp, theta, batch, seq, heads, head_dim, pos_offset);
  }
  void LrpeBackward(float* dinp, float* dtheta, const float* dout, const float* inp,
                    const float* theta, int batch, int seq, int heads, int head_dim,
                    int pos_offset) override {
    cuda::LrpeBackward(ctx_, dinp, dtheta, dout, inp, theta, batch, seq, heads, head_dim,
                       pos_offset);
  }

  void TpeForward(float* out, const float* inp, const float* b_weight, const float* log_gamma,
                  int batch, int seq, int dim, int tpe_dim) override {
    cuda::TpeForward(ctx_, out, inp, b_weight, log_gamma, batch, seq, dim, tpe_dim);
  }
  void TpeBackward(float* dinp, float* db_weight, const float* dout, const float* inp,
                   const float* b_weight, const float* log_gamma, int batch, int seq, int dim,
                   int tpe_dim) override {
    cuda::TpeBackward(ctx_, dinp, db_weight, dout, inp, b_weight, log_gamma, batch, seq, dim,
                      tpe_dim);
  }

  void SiluForward(float* out, const float* inp, int64_t n) override {
    cuda::SiluForward(ctx_, out, inp, n);
  }
  void SiluBackward(float* dinp, const float* dout, const float* inp, int64_t n) override {
    cuda::SiluBackward(ctx_, dinp, dout, inp, n);
  }
  void SigmoidGateForward(float* out, const float* u, const float* z, int64_t n) override {
    cuda::SigmoidGateForward(ctx_, out, u, z, n);
  }
  void SigmoidGateBackward(float* du, float* dz, const float* dout, const float* u, const float* z,
                           int64_t n) override {
    cuda::SigmoidGateBackward(ctx_, du, dz, dout, u, z, n);
  }
  void GluForward(float* out, const float* u, const float* v, int64_t n) override {
    cuda::GluForward(ctx_, out, u, v, n);
  }
  void GluBackward(float* du, float* dv, const float* dout, const float* u, const float* v,
                   int64_t n) override {
    cuda::GluBackward(ctx_, du, dv, dout, u, v, n);
  }
  void SwigluForward(float* out, const float* u, const float* v, int64_t n) override {
    cuda::SwigluForward(ctx_, out, u, v, n);
  }
  void SwigluBackward(float* du, float* dv, const float* dout, const float* u, const float* v,
                      int64_t n) override {
    cuda::SwigluBackward(ctx_, du, dv, dout, u, v, n);
  }
  void ResidualForward(float* out, const float* a, const float* b, int64_t n) override {
    cuda::ResidualForward(ctx_, out, a, b, n);
  }
  void ResidualBackward(float* da, float* db, const float* dout, int64_t n) override {
    cuda::ResidualBackward(ctx_, da, db, dout, n);
  }
  void Accumulate(float* y, const float* x, int64_t n) override { cuda::Accumulate(ctx_, y, x, n); }
  void Scale(float* x, float scale, int64_t n) override { cuda::Scale(ctx_, x, scale, n); }

  void ClassifierForwardBackward(float* losses, float* dx, float* dembed, const float* x,
                                 const float* embed, const int32_t* targets, int rows, int dim,
                                 int vocab, int padded_vocab, float grad_scale) override {
    Require(vocab >= 1 && vocab <= padded_vocab, "ClassifierForwardBackward",
            "vocab must be in [1, padded_vocab]");
    cuda::ClassifierForwardBackward(ctx_, losses, dx, dembed, x, embed, targets, rows, dim, vocab,
                                    padded_vocab, grad_scale);
  }

  void AdamWUpdate(float* param, const float* grad, float* m, float* v, int64_t n, float lr,
                   float beta1, float beta2, float eps, float weight_decay, int64_t step,
                   float grad_scale) override {
    Require(step >= 1, "AdamWUpdate", "step is 1-based and must be at least 1");
    cuda::AdamWUpdate(ctx_, param, grad, m, v, n, lr, beta1, beta2, eps, weight_decay, step,
                      grad_scale);
  }
  double SumOfSquares(const float* x, int64_t n) override { return cuda::SumOfSquares(ctx_, x, n); }

 private:
  const std::string name_;
  cuda::Scratch scratch_;
  cuda::Context ctx_;
};

absl::StatusOr<std::unique_ptr<Backend>> NewCudaBackend(int device,
                                                        const CudaBackendOptions& options) {
  int count = 0;
  if (const cudaError_t err = cudaGetDeviceCount(&count); err != cudaSuccess) {
    cudaGetLastError();
    return absl::FailedPreconditionError(CudaMessage("no usable CUDA device", err));
  }
  if (count == 0) return absl::FailedPreconditionError("no CUDA device on this machine");
  if (device < 0 || device >= count) {
    const std::string devices =
        count == 1 ? "one CUDA device here: cuda:0"
                   : std::to_string(count) +
                         " CUDA devices here: cuda:0 to cuda:" + std::to_string(count - 1);
    return absl::InvalidArgumentError("cuda:" + std::to_string(device) + ": no such device (" +
                                      devices + ")");
  }
  cuda::Context ctx;
  ctx.device = device;
  ctx.deterministic = options.deterministic;
  ctx.bf16_gemms = options.bf16_gemms;
  const std::string where = "cuda:" + std::to_string(device);
  if (const cudaError_t err = cudaSetDevice(device); err != cudaSuccess) {
    cudaGetLastError();
    return absl::FailedPreconditionError(CudaMessage(where + ": cannot use it", err));
  }
  if (const cudaError_t err = cudaStreamCreate(&ctx.stream); err != cudaSuccess) {
    cudaGetLastError();
    return absl::FailedPreconditionError(CudaMessage(where + ": cannot create a stream", err));
  }
  if (const cublasStatus_t status = cublasCreate(&ctx.cublas); status != CUBLAS_STATUS_SUCCESS) {
    cudaStreamDestroy(ctx.stream);
    return absl::FailedPreconditionError(
        where + ": cannot create a cuBLAS handle: " + cublasGetStatusString(status));
  }
  // CUBLAS_DEFAULT_MATH never rounds fp32 inputs to TF32, so fp32 GEMMs match
  // the CPU's to fp32 accuracy; bf16 mode asks for bf16 per call instead
  // (kernels/cuda/blas.h).
  FLOPWISE_CUBLAS_CHECK(cublasSetMathMode(ctx.cublas, CUBLAS_DEFAULT_MATH));
  FLOPWISE_CUBLAS_CHECK(cublasSetStream(ctx.cublas, ctx.stream));
  return std::unique_ptr<Backend>(std::make_unique<CudaBackend>(ctx));
}

}  // namespace
}  // namespace flopwise::kernels

// What load_cuda_backend.cc looks up in this library: MakeCudaBackend's
// result into *result. The name's version changes with the signature.
extern "C" void FlopwiseNewCudaBackendV2(
    int device, const flopwise::kernels::CudaBackendOptions* options,
    absl::StatusOr<std::unique_ptr<flopwise::kernels::Backend>>* result) {
  static_cast<void>(*result = flopwise::kernels::NewCudaBackend(device, *options));
}
