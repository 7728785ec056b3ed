// What every CUDA op of the backend runs with (llm.c's habit: one stream, one
// cuBLAS handle, scratch sized once and reused). The ops of kernels/cuda/ are
// free functions taking a Context first and then exactly the arguments of the
// Backend method of the same name (kernels/backend.h), so a reader holds
// kernels/cpu/X.cc against kernels/cuda/X.cu.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

namespace flopwise::kernels::cuda {

// Aborts with `what`, the file and line and CUDA's message when `err` is an
// error (kernels' preconditions abort too, kernels/backend.h).
void CheckCuda(cudaError_t err, const char* what, const char* file, int line);
void CheckCublas(cublasStatus_t status, const char* what, const char* file, int line);
#define FLOPWISE_CUDA_CHECK(expr) \
  ::flopwise::kernels::cuda::CheckCuda((expr), #expr, __FILE__, __LINE__)
#define FLOPWISE_CUBLAS_CHECK(expr) \
  ::flopwise::kernels::cuda::CheckCublas((expr), #expr, __FILE__, __LINE__)

// Device scratch in numbered slots: Get(slot, bytes) returns a buffer of at
// least `bytes` that stays valid until the next Get of the same slot. A slot
// grows to its largest request and is then reused, so a training loop
// allocates only in its first step. Ops document which slots they use.
class Scratch {
 public:
  Scratch() = default;
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  void* Get(int slot, int64_t bytes);
  float* GetFloats(int slot, int64_t count) { return static_cast<float*>(Get(slot, count * 4)); }

 private:
  struct Buffer {
    void* ptr = nullptr;
    int64_t bytes = 0;
  };
  std::vector<Buffer> buffers_;
};

struct Context {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  Scratch* scratch = nullptr;
  // Deterministic mode: no atomics whose order varies between runs in
  // reductions (results bit-identical for one binary and device).
  bool deterministic = false;
  // bf16 mode (kernels/backend.h CudaBackendOptions): Gemm multiplies in bf16
  // with fp32 accumulation (kernels/cuda/blas.h).
  bool bf16_gemms = false;
};

}  // namespace flopwise::kernels::cuda
