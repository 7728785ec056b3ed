// CUDA device inventory through the runtime API. A machine without a driver
// or device answers with an error code, which we treat as "no GPUs".
#include <cuda_runtime.h>

#include "kernels/device_info.h"

namespace flopwise::kernels {

std::vector<GpuInfo> ListGpus() {
  std::vector<GpuInfo> gpus;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return gpus;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    GpuInfo gpu;
    gpu.index = i;
    gpu.name = prop.name;
    gpu.memory_bytes = static_cast<int64_t>(prop.totalGlobalMem);
    gpu.compute_capability_major = prop.major;
    gpu.compute_capability_minor = prop.minor;
    gpus.push_back(gpu);
  }
  return gpus;
}

}  // namespace flopwise::kernels
