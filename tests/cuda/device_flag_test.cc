// Choosing the device: `flopwise-train --device` (worker/train/device.h).
// Runs everywhere.

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "kernels/device_info.h"
#include "tests/cuda/train_binary.h"
#include "worker/train/device.h"

namespace flopwise::train {
namespace {

int VisibleGpus() { return static_cast<int>(kernels::ListGpus().size()); }

TEST(DeviceFlag, AcceptsCpuCudaAndCudaN) {
  for (const char* device : {"cpu", "cuda", "cuda:0", "cuda:3"}) {
    EXPECT_TRUE(ValidateDevice(device).ok()) << device;
  }
  for (const char* device :
       {"", "gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cuda:0:1", "cpu:0"}) {
    const absl::Status status = ValidateDevice(device);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << device;
    EXPECT_TRUE(absl::StartsWith(status.message(), "--device: ")) << status;
  }
}

TEST(DeviceFlag, CpuMakesTheCpuBackend) {
  auto backend = MakeDeviceBackend("cpu", "fp32", 1);
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_EQ((*backend)->name(), "cpu");
}

TEST(DeviceFlag, MissingCudaDeviceIsAnErrorNamingTheFlag) {
  const std::string device = "cuda:" + std::to_string(VisibleGpus());
  auto backend = MakeDeviceBackend(device, "fp32", 1);
  ASSERT_FALSE(backend.ok());
  EXPECT_TRUE(absl::StartsWith(backend.status().message(), "--device " + device + ": "))
      << backend.status();
}

// What a person sees: a malformed name is a usage error (exit 2); a device
// the machine or the build lacks stops the run before anything is read, with
// an error naming --device (exit 1).
TEST(DeviceFlag, FlopwiseTrainExplainsAMissingDevice) {
  const Result usage = RunTrainBinary("--device tpu");
  EXPECT_EQ(usage.exit_code, 2) << usage.out;
  EXPECT_NE(usage.out.find("--device"), std::string::npos) << usage.out;

  const std::string device = VisibleGpus() > 0 ? "cuda:" + std::to_string(VisibleGpus()) : "cuda";
  const Result missing = RunTrainBinary(
      "--arch llama --preset cpu-1 --vocab 64 --context 32 --batch-tokens 64 --total-tokens 64 "
      "--data /nonexistent/tokens.u32 --out /nonexistent/run --device " +
      device);
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_NE(missing.out.find("flopwise-train: --device " + device + ": "), std::string::npos)
      << missing.out;
}

}  // namespace
}  // namespace flopwise::train
