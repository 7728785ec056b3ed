// The compute device of a run or check: `--device cpu|cuda[:N]`
// (docs/training.md).
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/backend.h"

namespace flopwise::train {

// OK when `device` is "cpu", "cuda" or "cuda:N" (N ≥ 0); InvalidArgument
// naming --device otherwise.
absl::Status ValidateDevice(const std::string& device);

// The backend of `device`: the CPU backend with `threads` threads (0: all),
// or the CUDA backend on device N (cuda = cuda:0) in deterministic mode, so
// that a resumed run repeats the steps it would have taken. Errors name
// --device: InvalidArgument for a malformed name or a device the machine does
// not have, FailedPrecondition when the binary or the machine has no CUDA.
absl::StatusOr<std::unique_ptr<kernels::Backend>> MakeDeviceBackend(const std::string& device,
                                                                    int threads);

}  // namespace flopwise::train
