// Built only when nvcc is absent: this binary cannot see GPUs.
#include "kernels/device_info.h"

namespace flopwise::kernels {

std::vector<GpuInfo> ListGpus() { return {}; }

}  // namespace flopwise::kernels
