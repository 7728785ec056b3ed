// Choosing the precision: `flopwise-train --precision fp32|bf16`
// (worker/train/device.h), its refusal on the CPU, what a run records of it,
// and a CPU fp32 checkpoint resumed on the GPU in bf16. Runs everywhere except
// the resume test, which needs a GPU.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "kernels/device_info.h"
#include "nlohmann/json.hpp"
#include "tests/cuda/train_binary.h"
#include "worker/train/device.h"

namespace flopwise::train {
namespace {

namespace fs = std::filesystem;

constexpr char kCpuRefusal[] =
    "--precision bf16: the CPU backend computes in fp32 only; bf16 needs --device cuda or cuda:N";

// The JSON event `name` of a run's output (the last one), or null.
nlohmann::json Event(const std::string& output, const std::string& name) {
  nlohmann::json found;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (!absl::StartsWith(line, "{")) continue;
    nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
    if (!event.is_discarded() && event.value("event", "") == name) found = event;
  }
  return found;
}

// A fresh folder under the test's temporary directory.
std::string TempFolder(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("precision_flag_test." + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// Random uint32 tokens below `vocab` in DIR/tokens.u32.
std::string WriteTokens(const std::string& dir, int vocab, int count) {
  const std::string path = dir + "/tokens.u32";
  std::ofstream out(path, std::ios::binary);
  std::mt19937 rng(7);
  for (int i = 0; i < count; ++i) {
    const uint32_t token = rng() % static_cast<uint32_t>(vocab);
    out.write(reinterpret_cast<const char*>(&token), sizeof(token));
  }
  return path;
}

// A tiny run's flags up to --total-tokens (steps of 128 tokens).
std::string TinyRun(const std::string& data, const std::string& out, int steps) {
  return "--arch llama --preset cpu-1 --vocab 64 --context 32 --batch-tokens 128 --total-tokens " +
         std::to_string(128 * steps) +
         " --checkpoint-every-tokens 256 --no-validation --threads 1" + " --data " + data +
         " --out " + out;
}

TEST(PrecisionFlag, Bf16NeedsACudaDevice) {
  for (const char* device : {"cpu", "cuda", "cuda:1"}) {
    EXPECT_TRUE(ValidatePrecision("fp32", device).ok()) << device;
  }
  EXPECT_TRUE(ValidatePrecision("bf16", "cuda").ok());
  EXPECT_TRUE(ValidatePrecision("bf16", "cuda:2").ok());
  const absl::Status cpu = ValidatePrecision("bf16", "cpu");
  EXPECT_EQ(cpu.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(cpu.message(), kCpuRefusal)) << cpu;
  for (const char* precision : {"", "fp16", "BF16", "tf32"}) {
    const absl::Status status = ValidatePrecision(precision, "cuda");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << precision;
    EXPECT_TRUE(absl::StartsWith(status.message(), "--precision: unknown precision")) << status;
  }
}

TEST(PrecisionFlag, TheCpuBackendIsNeverMadeForBf16) {
  auto backend = MakeDeviceBackend("cpu", "bf16", 1);
  ASSERT_FALSE(backend.ok());
  EXPECT_TRUE(absl::StartsWith(backend.status().message(), kCpuRefusal)) << backend.status();
  auto fp32 = MakeDeviceBackend("cpu", "fp32", 1);
  ASSERT_TRUE(fp32.ok()) << fp32.status();
  EXPECT_EQ((*fp32)->name(), "cpu");
}

// What a person sees: an unknown precision is a usage error (exit 2); bf16 on
// the CPU stops the run or check before anything is read (exit 1), naming the
// flag.
TEST(PrecisionFlag, FlopwiseTrainRefusesBf16OnTheCpu) {
  const Result usage = RunTrainBinary("--precision fp16");
  EXPECT_EQ(usage.exit_code, 2) << usage.out;
  EXPECT_NE(usage.out.find("--precision"), std::string::npos) << usage.out;

  const Result train = RunTrainBinary(TinyRun("/nonexistent/tokens.u32", "/nonexistent/run", 1) +
                                      " --precision bf16");
  EXPECT_EQ(train.exit_code, 1) << train.out;
  EXPECT_NE(train.out.find(std::string("flopwise-train: ") + kCpuRefusal), std::string::npos)
      << train.out;

  const Result check = RunTrainBinary(
      "check --weights /nonexistent/model.safetensors --tokens /nonexistent/tokens.u32 --batch 1 "
      "--context 8 --precision bf16");
  EXPECT_EQ(check.exit_code, 1) << check.out;
  EXPECT_NE(check.out.find(std::string("flopwise-train check: ") + kCpuRefusal), std::string::npos)
      << check.out;
}

// The start event and every checkpoint's state.json say which precision ran.
TEST(PrecisionFlag, ARunRecordsItsPrecision) {
  const std::string dir = TempFolder("records");
  const std::string data = WriteTokens(dir, 64, 4096);
  const Result run = RunTrainBinary(TinyRun(data, dir + "/run", 2) + " --precision fp32");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const nlohmann::json start = Event(run.out, "start");
  EXPECT_EQ(start.value("precision", ""), "fp32") << run.out;
  EXPECT_EQ(start.value("device", ""), "cpu") << run.out;
  std::ifstream state(dir + "/run/step-00000002/state.json");
  ASSERT_TRUE(state.good());
  EXPECT_EQ(nlohmann::json::parse(state).value("precision", ""), "fp32");
}

// A run's first two steps on the CPU in fp32, its last two from that
// checkpoint on the GPU in bf16: the final loss within 1% of the same two
// steps on the CPU (docs/kernels.md, "Mixed precision").
TEST(PrecisionFlag, ACpuCheckpointResumesOnTheGpuInBf16) {
  if (kernels::ListGpus().empty()) {
    GTEST_SKIP() << "no CUDA device visible: resuming on the GPU is not exercised";
  }
  const std::string dir = TempFolder("resume");
  const std::string data = WriteTokens(dir, 64, 4096);
  const Result first = RunTrainBinary(TinyRun(data, dir + "/gpu", 2));
  ASSERT_EQ(first.exit_code, 0) << first.out;
  fs::copy(dir + "/gpu", dir + "/cpu", fs::copy_options::recursive);
  fs::remove(dir + "/cpu/trainer.lock");
  const Result gpu =
      RunTrainBinary(TinyRun(data, dir + "/gpu", 4) + " --device cuda --precision bf16");
  const Result cpu = RunTrainBinary(TinyRun(data, dir + "/cpu", 4));
  ASSERT_EQ(gpu.exit_code, 0) << gpu.out;
  ASSERT_EQ(cpu.exit_code, 0) << cpu.out;
  EXPECT_EQ(Event(gpu.out, "start").value("resumed_from_step", -1), 2) << gpu.out;
  EXPECT_EQ(Event(gpu.out, "start").value("precision", ""), "bf16") << gpu.out;
  const double gpu_loss = Event(gpu.out, "done").value("loss", NAN);
  const double cpu_loss = Event(cpu.out, "done").value("loss", NAN);
  EXPECT_NEAR(gpu_loss, cpu_loss, 1e-2 * cpu_loss);
  std::ifstream state(dir + "/gpu/step-00000004/state.json");
  ASSERT_TRUE(state.good());
  EXPECT_EQ(nlohmann::json::parse(state).value("precision", ""), "bf16");
}

}  // namespace
}  // namespace flopwise::train
