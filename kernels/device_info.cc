#include "kernels/device_info.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

namespace flopwise::kernels {
namespace {

int64_t PhysicalMemoryBytes() {
  return static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) *
         static_cast<int64_t>(sysconf(_SC_PAGE_SIZE));
}

// The value of the line "<key>: <n> kB" of /proc/meminfo, in bytes.
std::optional<int64_t> MeminfoBytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with(key + ":")) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    int64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  return std::nullopt;
}

// The number in a cgroup v2 file of this process's cgroup; nullopt for "max",
// a missing file or a process outside cgroup v2.
std::optional<int64_t> CgroupBytes(const std::string& file) {
  std::ifstream cgroup("/proc/self/cgroup");
  std::string line;
  while (std::getline(cgroup, line)) {
    if (!line.starts_with("0::")) continue;
    std::ifstream in("/sys/fs/cgroup" + line.substr(3) + "/" + file);
    int64_t value = 0;
    if (in >> value) return value;
  }
  return std::nullopt;
}

// ulimit -v: this process's address-space limit and what of it is still
// unmapped (the limit less /proc/self/status's VmSize); nullopt when unlimited.
std::optional<std::pair<int64_t, int64_t>> AddressSpaceLimitAndLeft() {
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  const int64_t bytes = static_cast<int64_t>(limit.rlim_cur);
  int64_t mapped = 0;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (!line.starts_with("VmSize:")) continue;
    std::istringstream fields(line.substr(7));
    int64_t kib = 0;
    if (fields >> kib) mapped = kib * 1024;
  }
  return std::pair<int64_t, int64_t>{bytes, std::max<int64_t>(0, bytes - mapped)};
}

}  // namespace

HostInfo QueryHostInfo() {
  HostInfo info;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    info.cpu_cores = CPU_COUNT(&set);
  } else {
    info.cpu_cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  }
  info.memory_bytes = PhysicalMemoryBytes();
  info.gpus = ListGpus();
#ifdef FLOPWISE_HAVE_CUDA
  info.cuda_compiled = true;
#endif
  return info;
}

DeviceMemory QueryHostMemory() {
  DeviceMemory memory;
  memory.total_bytes = PhysicalMemoryBytes();
  memory.available_bytes = MeminfoBytes("MemAvailable").value_or(memory.total_bytes);
  // The cgroup's own usage counts page cache it can reclaim, so only its
  // limit caps what is available.
  if (std::optional<int64_t> limit = CgroupBytes("memory.max");
      limit && *limit < memory.total_bytes) {
    memory.total_bytes = *limit;
    memory.available_bytes = std::min(memory.available_bytes, *limit);
    memory.limited_by = "the cgroup's memory.max";
  }
  if (auto address_space = AddressSpaceLimitAndLeft();
      address_space && address_space->first < memory.total_bytes) {
    memory.total_bytes = address_space->first;
    memory.available_bytes = std::min(memory.available_bytes, address_space->second);
    memory.limited_by = "ulimit -v";
  }
  return memory;
}

}  // namespace flopwise::kernels
