#include "kernels/device_info.h"

#include <sched.h>
#include <unistd.h>

namespace flopwise::kernels {

HostInfo QueryHostInfo() {
  HostInfo info;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    info.cpu_cores = CPU_COUNT(&set);
  } else {
    info.cpu_cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  }
  info.memory_bytes =
      static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<int64_t>(sysconf(_SC_PAGE_SIZE));
  info.gpus = ListGpus();
#ifdef FLOPWISE_HAVE_CUDA
  info.cuda_compiled = true;
#endif
  return info;
}

}  // namespace flopwise::kernels
