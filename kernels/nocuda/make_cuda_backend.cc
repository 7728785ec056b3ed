// Built only when nvcc is absent: this binary has no CUDA backend.
#include "kernels/backend.h"

namespace flopwise::kernels {

absl::StatusOr<std::unique_ptr<Backend>> MakeCudaBackend(int device,
                                                         const CudaBackendOptions& /*options*/) {
  return absl::FailedPreconditionError(
      "this flopwise was built without the CUDA backend (nvcc was not found when it was "
      "configured; rebuild on a machine with the CUDA toolkit)");
}

}  // namespace flopwise::kernels
