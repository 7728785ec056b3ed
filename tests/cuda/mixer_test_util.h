// The fixture of the sequence-mixer CUDA tests: a Context of the test's own
// (device 0, a stream, a cuBLAS handle, a Scratch), device copies of host
// tensors, the CPU backend as the reference, and the fp32 budget of
// docs/model-contract.md §9.2. Every test skips where no CUDA device is visible.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_context.h"
#include "tests/kernels/test_util.h"

namespace flopwise::kernels::cuda {

inline std::vector<float> ToFloat(const std::vector<double>& x) { return {x.begin(), x.end()}; }

// n floats ~ N(0, stddev²) / silu(N(0, 1)), seeded.
inline std::vector<float> Normal(int64_t n, uint64_t seed, double stddev = 1.0) {
  return ToFloat(testing::RandomNormal(n, seed, stddev));
}
inline std::vector<float> SiluNormal(int64_t n, uint64_t seed) {
  return ToFloat(testing::RandomSiluNormal(n, seed));
}

// nullptr for an empty vector (an absent optional tensor).
inline float* OrNull(std::vector<float>& x) { return x.empty() ? nullptr : x.data(); }
inline const float* OrNull(const std::vector<float>& x) { return x.empty() ? nullptr : x.data(); }

// fp32 budget against the CPU backend: all finite, rms(got − want)/rms(want) ≤ rel,
// max|got − want| ≤ 10·rel·max|want|.
template <typename A, typename B>
void ExpectClose(const std::vector<A>& got, const std::vector<B>& want, const std::string& what,
                 double rel = 1e-5) {
  ASSERT_EQ(got.size(), want.size()) << what;
  EXPECT_TRUE(testing::AllFinite(got)) << what;
  EXPECT_LE(testing::RelativeError(got, want), rel) << what;
  double max_diff = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(got[i]) - want[i]));
  }
  EXPECT_LE(max_diff, 10 * rel * testing::MaxAbs(want)) << what;
}

// A gradient added into `initial` (backward ops add): compares what each side
// added, got − initial against want − initial, so the budget applies to the
// gradient itself and an op that overwrote would fail.
inline void ExpectAddedClose(const std::vector<float>& got, const std::vector<float>& want,
                             const std::vector<float>& initial, const std::string& what,
                             double rel = 1e-5) {
  ASSERT_EQ(got.size(), initial.size()) << what;
  ASSERT_EQ(want.size(), initial.size()) << what;
  std::vector<double> got_added(got.size()), want_added(want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    got_added[i] = static_cast<double>(got[i]) - initial[i];
    want_added[i] = static_cast<double>(want[i]) - initial[i];
  }
  ExpectClose(got_added, want_added, what, rel);
}

class CudaMixerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
      GTEST_SKIP() << "no CUDA device visible: the CUDA kernel is not run against the CPU backend";
    }
    FLOPWISE_CUDA_CHECK(cudaSetDevice(0));
    FLOPWISE_CUDA_CHECK(cudaStreamCreate(&ctx_.stream));
    FLOPWISE_CUBLAS_CHECK(cublasCreate(&ctx_.cublas));
    FLOPWISE_CUBLAS_CHECK(cublasSetStream(ctx_.cublas, ctx_.stream));
    scratch_ = std::make_unique<Scratch>();
    ctx_.scratch = scratch_.get();
    ctx_.deterministic = true;
  }

  void TearDown() override {
    if (ctx_.stream == nullptr) return;
    FLOPWISE_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
    for (float* ptr : buffers_) FLOPWISE_CUDA_CHECK(cudaFree(ptr));
    scratch_.reset();
    FLOPWISE_CUBLAS_CHECK(cublasDestroy(ctx_.cublas));
    FLOPWISE_CUDA_CHECK(cudaStreamDestroy(ctx_.stream));
  }

  // A device copy of `host`, freed at the end of the test.
  float* Upload(const std::vector<float>& host) {
    float* ptr = nullptr;
    FLOPWISE_CUDA_CHECK(cudaMalloc(&ptr, std::max<size_t>(host.size(), 1) * sizeof(float)));
    buffers_.push_back(ptr);
    FLOPWISE_CUDA_CHECK(
        cudaMemcpy(ptr, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
    return ptr;
  }

  // Upload(host), or nullptr for an empty vector (an absent optional tensor).
  float* UploadOrNull(const std::vector<float>& host) {
    return host.empty() ? nullptr : Upload(host);
  }

  // n floats of device memory (contents undefined), freed at the end of the test.
  float* Allocate(int64_t n) {
    float* ptr = nullptr;
    FLOPWISE_CUDA_CHECK(cudaMalloc(&ptr, std::max<int64_t>(n, 1) * sizeof(float)));
    buffers_.push_back(ptr);
    return ptr;
  }

  // The first n floats at `device`, after the stream's queued work.
  std::vector<float> Download(const float* device, int64_t n) {
    FLOPWISE_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
    std::vector<float> host(static_cast<size_t>(n));
    FLOPWISE_CUDA_CHECK(cudaMemcpy(host.data(), device, n * sizeof(float), cudaMemcpyDeviceToHost));
    return host;
  }

  Context ctx_;
  std::unique_ptr<Backend> cpu_ = MakeCpuBackend(1);

 private:
  std::unique_ptr<Scratch> scratch_;
  std::vector<float*> buffers_;
};

}  // namespace flopwise::kernels::cuda
