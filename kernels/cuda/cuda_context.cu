#include "kernels/cuda/cuda_context.h"

#include <cstdio>
#include <cstdlib>

namespace flopwise::kernels::cuda {

void CheckCuda(cudaError_t err, const char* what, const char* file, int line) {
  if (err == cudaSuccess) return;
  std::fprintf(stderr, "flopwise: CUDA error at %s:%d in %s: %s (%s)\n", file, line, what,
               cudaGetErrorString(err), cudaGetErrorName(err));
  std::abort();
}

void CheckCublas(cublasStatus_t status, const char* what, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  std::fprintf(stderr, "flopwise: cuBLAS error at %s:%d in %s: %s\n", file, line, what,
               cublasGetStatusString(status));
  std::abort();
}

Scratch::~Scratch() {
  for (Buffer& buffer : buffers_) cudaFree(buffer.ptr);
}

void* Scratch::Get(int slot, int64_t bytes) {
  if (slot < 0) {
    std::fprintf(stderr, "flopwise: Scratch::Get: slot %d < 0\n", slot);
    std::abort();
  }
  if (static_cast<size_t>(slot) >= buffers_.size()) buffers_.resize(slot + 1);
  Buffer& buffer = buffers_[slot];
  if (bytes > buffer.bytes) {
    // The old buffer may still be read by queued work on the stream.
    FLOPWISE_CUDA_CHECK(cudaDeviceSynchronize());
    FLOPWISE_CUDA_CHECK(cudaFree(buffer.ptr));
    buffer.ptr = nullptr;
    FLOPWISE_CUDA_CHECK(cudaMalloc(&buffer.ptr, bytes));
    buffer.bytes = bytes;
  }
  return buffer.ptr;
}

}  // namespace flopwise::kernels::cuda
