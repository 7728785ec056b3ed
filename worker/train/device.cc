#include "worker/train/device.h"

#include <optional>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace flopwise::train {
namespace {

// The CUDA device index `device` names, std::nullopt for "cpu"; InvalidArgument
// for anything else.
absl::StatusOr<std::optional<int>> ParseDevice(const std::string& device) {
  if (device == "cpu") return std::optional<int>();
  if (device == "cuda") return std::optional<int>(0);
  constexpr absl::string_view kPrefix = "cuda:";
  const absl::string_view digits = absl::string_view(device).substr(
      absl::StartsWith(device, kPrefix) ? kPrefix.size() : device.size());
  int index = 0;
  if (!digits.empty() && absl::c_all_of(digits, absl::ascii_isdigit) &&
      absl::SimpleAtoi(digits, &index)) {
    return std::optional<int>(index);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--device: unknown device '", device, "' (expected cpu, cuda or cuda:N)"));
}

}  // namespace

absl::Status ValidateDevice(const std::string& device) { return ParseDevice(device).status(); }

absl::StatusOr<std::unique_ptr<kernels::Backend>> MakeDeviceBackend(const std::string& device,
                                                                    int threads) {
  absl::StatusOr<std::optional<int>> cuda_index = ParseDevice(device);
  if (!cuda_index.ok()) return cuda_index.status();
  if (!cuda_index->has_value()) return kernels::MakeCpuBackend(threads);
  auto backend = kernels::MakeCudaBackend(**cuda_index, /*deterministic=*/true);
  if (!backend.ok()) {
    return absl::Status(backend.status().code(),
                        absl::StrCat("--device ", device, ": ", backend.status().message()));
  }
  return backend;
}

}  // namespace flopwise::train
