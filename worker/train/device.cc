#include "worker/train/device.h"

#include <optional>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace flopwise::train {

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

absl::Status ValidateDevice(const std::string& device) { return ParseDevice(device).status(); }

absl::Status ValidatePrecision(const std::string& precision, const std::string& device) {
  if (precision != "fp32" && precision != "bf16") {
    return absl::InvalidArgumentError(
        absl::StrCat("--precision: unknown precision '", precision, "' (expected fp32 or bf16)"));
  }
  absl::StatusOr<std::optional<int>> cuda_index = ParseDevice(device);
  if (!cuda_index.ok()) return cuda_index.status();
  if (precision == "bf16" && !cuda_index->has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--precision bf16: the CPU backend computes in fp32 only; bf16 needs --device cuda or "
        "cuda:N (--device is ",
        device, "), or use --precision fp32"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<kernels::Backend>> MakeDeviceBackend(const std::string& device,
                                                                    const std::string& precision,
                                                                    int threads) {
  if (absl::Status s = ValidatePrecision(precision, device); !s.ok()) return s;
  const std::optional<int> cuda_index = *ParseDevice(device);
  if (!cuda_index.has_value()) return kernels::MakeCpuBackend(threads);
  kernels::CudaBackendOptions options;
  options.deterministic = true;
  options.bf16_gemms = precision == "bf16";
  auto backend = kernels::MakeCudaBackend(*cuda_index, options);
  if (!backend.ok()) {
    return absl::Status(backend.status().code(),
                        absl::StrCat("--device ", device, ": ", backend.status().message()));
  }
  return backend;
}

}  // namespace flopwise::train
