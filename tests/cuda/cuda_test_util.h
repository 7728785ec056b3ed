// The CUDA backend against the CPU backend on the same inputs: a fixture that
// holds both (and skips where no GPU is visible), tensors mirrored on both, and
// the comparison metric of docs/kernels.md ("The CUDA backend").
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "kernels/backend.h"
#include "kernels/device_info.h"

namespace flopwise::kernels::testing {

struct BackendPair {
  Backend* cpu = nullptr;
  Backend* gpu = nullptr;
};

// One tensor on both backends, filled with the same values; freed on destruction.
template <typename T>
class Mirrored {
 public:
  Mirrored(BackendPair pair, const std::vector<T>& values) : pair_(pair), size_(values.size()) {
    const int64_t bytes = Bytes();
    cpu_ = static_cast<T*>(pair.cpu->Allocate(bytes));
    gpu_ = static_cast<T*>(pair.gpu->Allocate(bytes));
    EXPECT_NE(cpu_, nullptr);
    EXPECT_NE(gpu_, nullptr);
    pair.cpu->CopyFromHost(cpu_, values.data(), bytes);
    pair.gpu->CopyFromHost(gpu_, values.data(), bytes);
  }
  ~Mirrored() {
    pair_.cpu->Free(cpu_);
    pair_.gpu->Free(gpu_);
  }
  Mirrored(const Mirrored&) = delete;
  Mirrored& operator=(const Mirrored&) = delete;

  T* cpu() const { return cpu_; }
  T* gpu() const { return gpu_; }
  // The copy on `backend` (one of the pair).
  T* on(const Backend* backend) const { return backend == pair_.cpu ? cpu_ : gpu_; }
  std::vector<T> CpuValues() const { return Values(pair_.cpu, cpu_); }
  std::vector<T> GpuValues() const { return Values(pair_.gpu, gpu_); }

 private:
  int64_t Bytes() const { return static_cast<int64_t>(size_ * sizeof(T)); }
  std::vector<T> Values(Backend* backend, const T* ptr) const {
    std::vector<T> host(size_);
    backend->CopyToHost(host.data(), ptr, Bytes());
    return host;
  }

  BackendPair pair_;
  size_t size_;
  T* cpu_ = nullptr;
  T* gpu_ = nullptr;
};

// max |gpu − cpu| / max |cpu| over a tensor (0 when both are all zero): error
// relative to the tensor's scale, because an element that cancels to near 0
// has no meaningful relative error of its own. Infinite when the GPU's values
// are not all finite or the sizes differ.
inline double MaxRelativeError(const std::vector<float>& gpu, const std::vector<float>& cpu) {
  if (gpu.size() != cpu.size()) return std::numeric_limits<double>::infinity();
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (!std::isfinite(gpu[i])) return std::numeric_limits<double>::infinity();
    max_diff = std::max(max_diff, std::abs(double(gpu[i]) - double(cpu[i])));
    max_ref = std::max(max_ref, std::abs(double(cpu[i])));
  }
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

// Error of a mirrored tensor after the same op ran on both backends.
inline double MaxRelativeError(const Mirrored<float>& tensor) {
  return MaxRelativeError(tensor.GpuValues(), tensor.CpuValues());
}

// The CPU backend (1 thread) and the CUDA backend on device 0 in deterministic
// mode (fp32 unless a fixture overrides GpuOptions); every test skips where no
// CUDA device is visible (or the build has no CUDA), and fails where one is
// but the backend cannot be made.
class CudaVersusCpuTest : public ::testing::Test {
 public:
  BackendPair pair() const { return {cpu_.get(), gpu_.get()}; }
  // Both backends, to run the same op on each: for (Backend* be : both()) ...
  std::array<Backend*, 2> both() const { return {cpu_.get(), gpu_.get()}; }

 protected:
  void SetUp() override {
    if (ListGpus().empty()) {
      GTEST_SKIP() << "no CUDA device visible: the CUDA backend is not exercised";
    }
    auto gpu = MakeCudaBackend(0, GpuOptions());
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    gpu_ = *std::move(gpu);
    cpu_ = MakeCpuBackend(1);
  }

  virtual CudaBackendOptions GpuOptions() const { return CudaBackendOptions(); }

  std::unique_ptr<Backend> cpu_, gpu_;
};

}  // namespace flopwise::kernels::testing
