// What compute this process can see: CPU cores, memory and CUDA devices.
// Workers report it when they register; the scheduler places runs with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flopwise::kernels {

struct GpuInfo {
  int index = 0;
  std::string name;
  int64_t memory_bytes = 0;
  int compute_capability_major = 0;
  int compute_capability_minor = 0;
};

struct HostInfo {
  int cpu_cores = 0;           // cores usable by this process (affinity mask)
  int64_t memory_bytes = 0;    // physical memory
  std::vector<GpuInfo> gpus;   // empty without CUDA or without a device
  bool cuda_compiled = false;  // this binary has the CUDA backend
};

// Thread-safe. Never fails: a missing driver or device yields no GPUs.
HostInfo QueryHostInfo();

// CUDA devices only (empty without CUDA or without a device).
std::vector<GpuInfo> ListGpus();

}  // namespace flopwise::kernels
