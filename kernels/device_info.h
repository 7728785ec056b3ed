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

// A device's memory: all of it, and what can be allocated now.
struct DeviceMemory {
  int64_t total_bytes = 0;
  int64_t available_bytes = 0;
  // What capped the two below the machine's memory, for messages: "" (nothing),
  // "the cgroup's memory.max" or "ulimit -v".
  std::string limited_by;
  // Whose memory, for messages: "this machine" (the host) or "the GPU cuda:0".
  std::string holder = "this machine";
};

// The host's: physical memory, and what can be allocated without swapping
// (/proc/meminfo's MemAvailable, reclaimable page cache included; the total
// where that cannot be read), both capped by this process's cgroup limit
// (memory.max of cgroup v2) and its address-space limit (ulimit -v: the
// limit, and what of it is not mapped yet) when it has them. Thread-safe.
DeviceMemory QueryHostMemory();

// CUDA devices only (empty without CUDA or without a device).
std::vector<GpuInfo> ListGpus();

}  // namespace flopwise::kernels
