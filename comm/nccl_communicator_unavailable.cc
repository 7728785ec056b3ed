// MakeNcclCommunicator in a build without CUDA or without NCCL (CMake found
// no nvcc, or found CUDA but no NCCL: comm/CMakeLists.txt): every call fails.
#include "comm/nccl_communicator.h"

namespace flopwise::comm {

absl::StatusOr<std::unique_ptr<Communicator>> MakeNcclCommunicator(KeyValueStore&, int, int, int,
                                                                   const NcclOptions&) {
  return absl::UnimplementedError(
      "NCCL communicator: built without CUDA/NCCL (GPU ranks need a build where CMake finds nvcc "
      "and NCCL; docs/distributed.md)");
}

}  // namespace flopwise::comm
