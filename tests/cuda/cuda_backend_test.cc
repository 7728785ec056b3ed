// Every op of the CUDA backend written so far against the CPU backend on the
// same random inputs (fp32 tolerance and metric: docs/kernels.md, "The CUDA
// backend"). Backward ops run on gradient buffers that already hold values, so
// the contract (+= for most, = for the element-wise and positional ones) is
// checked too. Skipped where no GPU is visible, except
// MakeCudaBackend's errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/device_info.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/kernels/test_util.h"

namespace flopwise::kernels::testing {
namespace {

// fp32 ops: |gpu − cpu| ≤ 1e-5 · max |cpu| over each tensor.
constexpr double kTolerance = 1e-5;

std::vector<float> Normal(int64_t n, uint64_t seed, double stddev = 1.0) {
  const std::vector<double> values = RandomNormal(n, seed, stddev);
  return {values.begin(), values.end()};
}

std::vector<int32_t> Tokens(int64_t n, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, vocab - 1);
  std::vector<int32_t> tokens(static_cast<size_t>(n));
  for (int32_t& token : tokens) token = dist(rng);
  return tokens;
}

// These two run everywhere: without a device (or without CUDA) MakeCudaBackend
// says why.
TEST(MakeCudaBackend, WithoutADeviceSaysWhy) {
  if (!ListGpus().empty()) GTEST_SKIP() << "a CUDA device is visible: cuda_backend_test covers it";
  auto backend = MakeCudaBackend(0, CudaBackendOptions());
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
#ifdef FLOPWISE_HAVE_CUDA
  EXPECT_NE(backend.status().message().find("CUDA device"), std::string::npos) << backend.status();
#else
  EXPECT_NE(backend.status().message().find("without the CUDA backend"), std::string::npos)
      << backend.status();
#endif
}

TEST(MakeCudaBackend, RejectsADeviceTheMachineDoesNotHave) {
  const int count = static_cast<int>(ListGpus().size());
  auto backend = MakeCudaBackend(count, CudaBackendOptions());  // one past the last
  ASSERT_FALSE(backend.ok());
  if (count > 0) {
    EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(backend.status().message().find("cuda:" + std::to_string(count)), std::string::npos)
        << backend.status();
  }
}

using CudaBackendTest = CudaVersusCpuTest;

TEST_F(CudaBackendTest, ReportsDeviceMemoryAndFailsLargeAllocations) {
  EXPECT_EQ(gpu_->name(), "cuda:0");
  const DeviceMemory memory = gpu_->memory();
  EXPECT_GT(memory.available_bytes, 0);
  EXPECT_LE(memory.available_bytes, memory.total_bytes);
  EXPECT_EQ(gpu_->Allocate(memory.total_bytes * 4), nullptr);
  // The failed allocation leaves the backend usable.
  float* buffer = gpu_->AllocateFloats(100);
  ASSERT_NE(buffer, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer) % 64, 0u);
  gpu_->Zero(buffer, 400);
  const std::vector<float> host = {1.f, 2.f, 3.f};
  gpu_->CopyFromHost(buffer + 10, host.data(), 12);
  gpu_->Copy(buffer + 50, buffer + 10, 12);
  std::vector<float> back(4);
  gpu_->CopyToHost(back.data(), buffer + 49, 16);
  EXPECT_EQ(back, (std::vector<float>{0.f, 1.f, 2.f, 3.f}));
  gpu_->Free(buffer);
}

TEST_F(CudaBackendTest, GemmInEveryTransposeCase) {
  const int m = 37, n = 53, k = 300, pad = 3;
  for (const bool trans_a : {false, true}) {
    for (const bool trans_b : {false, true}) {
      const int lda = (trans_a ? m : k) + pad, ldb = (trans_b ? k : n) + pad, ldc = n + pad;
      Mirrored<float> a(pair(), Normal(int64_t{trans_a ? k : m} * lda, 1));
      Mirrored<float> b(pair(), Normal(int64_t{trans_b ? n : k} * ldb, 2));
      Mirrored<float> c(pair(), Normal(int64_t{m} * ldc, 3));
      for (Backend* be : both()) {
        be->Gemm(trans_a, trans_b, m, n, k, 0.7f, a.on(be), lda, b.on(be), ldb, 0.3f, c.on(be),
                 ldc);
      }
      EXPECT_LE(MaxRelativeError(c), kTolerance) << "trans_a " << trans_a << " trans_b " << trans_b;
    }
  }
}

TEST_F(CudaBackendTest, MatmulForwardAndBackward) {
  const int rows = 70, in_dim = 96, out_dim = 40;
  Mirrored<float> inp(pair(), Normal(int64_t{rows} * in_dim, 1));
  Mirrored<float> weight(pair(), Normal(int64_t{out_dim} * in_dim, 2, 0.1));
  Mirrored<float> out(pair(), std::vector<float>(int64_t{rows} * out_dim));
  Mirrored<float> dout(pair(), Normal(int64_t{rows} * out_dim, 3));
  Mirrored<float> dinp(pair(), Normal(int64_t{rows} * in_dim, 4));
  Mirrored<float> dweight(pair(), Normal(int64_t{out_dim} * in_dim, 5));
  for (Backend* be : both()) {
    be->MatmulForward(out.on(be), inp.on(be), weight.on(be), rows, in_dim, out_dim);
    be->MatmulBackward(dinp.on(be), dweight.on(be), dout.on(be), inp.on(be), weight.on(be), rows,
                       in_dim, out_dim);
    be->MatmulBackward(nullptr, dweight.on(be), dout.on(be), inp.on(be), weight.on(be), rows,
                       in_dim, out_dim);
  }
  EXPECT_LE(MaxRelativeError(out), kTolerance);
  EXPECT_LE(MaxRelativeError(dinp), kTolerance);
  EXPECT_LE(MaxRelativeError(dweight), kTolerance);
}

TEST_F(CudaBackendTest, EmbeddingForwardAndDeterministicBackward) {
  const int rows = 500, dim = 48, vocab = 37;
  Mirrored<int32_t> tokens(pair(), Tokens(rows, vocab, 1));
  Mirrored<float> embed(pair(), Normal(int64_t{vocab} * dim, 2));
  Mirrored<float> out(pair(), std::vector<float>(int64_t{rows} * dim));
  Mirrored<float> dout(pair(), Normal(int64_t{rows} * dim, 3));
  const std::vector<float> dembed_start = Normal(int64_t{vocab} * dim, 4);
  Mirrored<float> dembed(pair(), dembed_start);
  Mirrored<float> dembed_again(pair(), dembed_start);
  for (Backend* be : both()) {
    be->EmbeddingForward(out.on(be), tokens.on(be), embed.on(be), rows, dim);
    be->EmbeddingBackward(dembed.on(be), dout.on(be), tokens.on(be), rows, dim);
  }
  gpu_->EmbeddingBackward(dembed_again.gpu(), dout.gpu(), tokens.gpu(), rows, dim);
  EXPECT_EQ(out.GpuValues(), out.CpuValues());
  EXPECT_LE(MaxRelativeError(dembed), kTolerance);
  EXPECT_EQ(dembed_again.GpuValues(), dembed.GpuValues());  // bit-identical between runs
}

TEST_F(CudaBackendTest, RmsNormWeightedAndSimple) {
  const int rows = 65, dim = 300;
  const float eps = 1e-6f;
  for (const bool weighted : {true, false}) {
    Mirrored<float> inp(pair(), Normal(int64_t{rows} * dim, 1, 2.0));
    std::vector<float> gains = Normal(dim, 2, 0.1);
    for (float& g : gains) g += 1.0f;
    Mirrored<float> weight(pair(), gains);
    Mirrored<float> out(pair(), std::vector<float>(int64_t{rows} * dim));
    Mirrored<float> rstd(pair(), std::vector<float>(rows));
    Mirrored<float> dout(pair(), Normal(int64_t{rows} * dim, 3));
    Mirrored<float> dinp(pair(), Normal(int64_t{rows} * dim, 4));
    const std::vector<float> dweight_start = Normal(dim, 5);
    Mirrored<float> dweight(pair(), dweight_start);
    for (Backend* be : both()) {
      const float* w = weighted ? weight.on(be) : nullptr;
      be->RmsNormForward(out.on(be), rstd.on(be), inp.on(be), w, rows, dim, eps);
      be->RmsNormBackward(dinp.on(be), dweight.on(be), dout.on(be), inp.on(be), w, rstd.on(be),
                          rows, dim);
    }
    EXPECT_LE(MaxRelativeError(out), kTolerance) << "weighted " << weighted;
    EXPECT_LE(MaxRelativeError(rstd), kTolerance) << "weighted " << weighted;
    EXPECT_LE(MaxRelativeError(dinp), kTolerance) << "weighted " << weighted;
    if (weighted) {
      EXPECT_LE(MaxRelativeError(dweight), kTolerance);
    } else {
      EXPECT_EQ(dweight.GpuValues(), dweight_start);  // ignored without a weight
    }
  }
}

TEST_F(CudaBackendTest, RopeForwardInPlaceAndBackward) {
  const int batch = 2, seq = 33, heads = 3, head_dim = 16, pos_offset = 7;
  const float base = 10000.f;
  const int64_t n = int64_t{batch} * seq * heads * head_dim;
  Mirrored<float> inp(pair(), Normal(n, 1));
  Mirrored<float> out(pair(), std::vector<float>(n));
  Mirrored<float> in_place(pair(), Normal(n, 1));
  Mirrored<float> dout(pair(), Normal(n, 2));
  Mirrored<float> dinp(pair(), Normal(n, 3));
  for (Backend* be : both()) {
    be->RopeForward(out.on(be), inp.on(be), batch, seq, heads, head_dim, pos_offset, base);
    be->RopeForward(in_place.on(be), in_place.on(be), batch, seq, heads, head_dim, pos_offset,
                    base);
    be->RopeBackward(dinp.on(be), dout.on(be), batch, seq, heads, head_dim, pos_offset, base);
  }
  EXPECT_LE(MaxRelativeError(out), kTolerance);
  EXPECT_LE(MaxRelativeError(in_place), kTolerance);
  EXPECT_EQ(in_place.GpuValues(), out.GpuValues());
  EXPECT_LE(MaxRelativeError(dinp), kTolerance);
}

TEST_F(CudaBackendTest, ElementwiseOps) {
  const int64_t n = 100003;  // not a multiple of any block size
  Mirrored<float> u(pair(), Normal(n, 1, 3.0));
  Mirrored<float> v(pair(), Normal(n, 2, 3.0));
  Mirrored<float> dout(pair(), Normal(n, 3));
  Mirrored<float> out(pair(), std::vector<float>(n));
  Mirrored<float> du(pair(), Normal(n, 4));
  Mirrored<float> dv(pair(), Normal(n, 5));
  // Each step runs one op on both backends and compares what it wrote.
  auto check = [&](const char* op, const Mirrored<float>& result) {
    EXPECT_LE(MaxRelativeError(result), kTolerance) << op;
  };
  for (Backend* be : both()) be->SiluForward(out.on(be), u.on(be), n);
  check("SiluForward", out);
  for (Backend* be : both()) be->SiluBackward(du.on(be), dout.on(be), u.on(be), n);
  check("SiluBackward", du);
  for (Backend* be : both()) be->SigmoidGateForward(out.on(be), u.on(be), v.on(be), n);
  check("SigmoidGateForward", out);
  for (Backend* be : both()) {
    be->SigmoidGateBackward(du.on(be), dv.on(be), dout.on(be), u.on(be), v.on(be), n);
    be->SigmoidGateBackward(nullptr, dv.on(be), dout.on(be), u.on(be), v.on(be), n);
    be->SigmoidGateBackward(du.on(be), nullptr, dout.on(be), u.on(be), v.on(be), n);
  }
  check("SigmoidGateBackward du", du);
  check("SigmoidGateBackward dz", dv);
  for (Backend* be : both()) be->GluForward(out.on(be), u.on(be), v.on(be), n);
  check("GluForward", out);
  for (Backend* be : both())
    be->GluBackward(du.on(be), dv.on(be), dout.on(be), u.on(be), v.on(be), n);
  check("GluBackward du", du);
  check("GluBackward dv", dv);
  for (Backend* be : both()) be->SwigluForward(out.on(be), u.on(be), v.on(be), n);
  check("SwigluForward", out);
  for (Backend* be : both()) {
    be->SwigluBackward(du.on(be), dv.on(be), dout.on(be), u.on(be), v.on(be), n);
  }
  check("SwigluBackward du", du);
  check("SwigluBackward dv", dv);
  for (Backend* be : both()) be->ResidualForward(out.on(be), u.on(be), v.on(be), n);
  check("ResidualForward", out);
  for (Backend* be : both()) be->ResidualForward(out.on(be), out.on(be), v.on(be), n);
  check("ResidualForward in place", out);
  for (Backend* be : both()) {
    be->ResidualBackward(du.on(be), dv.on(be), dout.on(be), n);
    be->ResidualBackward(nullptr, dv.on(be), dout.on(be), n);
  }
  check("ResidualBackward da", du);
  check("ResidualBackward db", dv);
  for (Backend* be : both()) be->Accumulate(out.on(be), u.on(be), n);
  check("Accumulate", out);
  for (Backend* be : both()) be->Scale(out.on(be), -0.37f, n);
  check("Scale", out);
}

// The fused classifier on both backends: every seventh target ignored, the
// padding rows of the embedding NaN (reading one would make the outputs
// non-finite), those of its gradient checked untouched. Gradient buffers start
// at values small against the gradient (1e-4·grad_scale), so that they check
// the += without hiding the gradient's own error.
void ExpectClassifierMatches(const CudaVersusCpuTest& test, int rows, int dim, int vocab) {
  const int padded_vocab = (vocab + 127) / 128 * 128 + 128;
  const float grad_scale = 1.0f / static_cast<float>(rows);
  std::vector<float> embed_values = Normal(int64_t{padded_vocab} * dim, 1, 0.5);
  std::fill(embed_values.begin() + int64_t{vocab} * dim, embed_values.end(), NAN);
  std::vector<int32_t> targets = Tokens(rows, vocab, 2);
  for (int r = 0; r < rows; r += 7) targets[r] = -1;
  const std::vector<float> dembed_start = Normal(int64_t{padded_vocab} * dim, 3, 1e-4 * grad_scale);
  Mirrored<float> x(test.pair(), Normal(int64_t{rows} * dim, 4));
  Mirrored<float> embed(test.pair(), embed_values);
  Mirrored<int32_t> target(test.pair(), targets);
  Mirrored<float> losses(test.pair(), std::vector<float>(rows));
  Mirrored<float> forward_losses(test.pair(), std::vector<float>(rows));
  Mirrored<float> dx(test.pair(), Normal(int64_t{rows} * dim, 5, 1e-4 * grad_scale));
  Mirrored<float> dembed(test.pair(), dembed_start);
  for (Backend* be : test.both()) {
    be->ClassifierForwardBackward(forward_losses.on(be), nullptr, nullptr, x.on(be), embed.on(be),
                                  target.on(be), rows, dim, vocab, padded_vocab, grad_scale);
    be->ClassifierForwardBackward(losses.on(be), dx.on(be), dembed.on(be), x.on(be), embed.on(be),
                                  target.on(be), rows, dim, vocab, padded_vocab, grad_scale);
  }
  EXPECT_LE(MaxRelativeError(forward_losses), kTolerance);
  EXPECT_LE(MaxRelativeError(losses), kTolerance);
  EXPECT_EQ(forward_losses.GpuValues(), losses.GpuValues());
  EXPECT_LE(MaxRelativeError(dx), kTolerance);
  const std::vector<float> gpu_dembed = dembed.GpuValues(), cpu_dembed = dembed.CpuValues();
  const int64_t used = int64_t{vocab} * dim;
  EXPECT_LE(MaxRelativeError(std::vector<float>(gpu_dembed.begin(), gpu_dembed.begin() + used),
                             std::vector<float>(cpu_dembed.begin(), cpu_dembed.begin() + used)),
            kTolerance);
  EXPECT_TRUE(std::equal(gpu_dembed.begin() + used, gpu_dembed.end(), dembed_start.begin() + used));
  const std::vector<float> gpu_losses = losses.GpuValues();
  for (int r = 0; r < rows; r += 7) EXPECT_EQ(gpu_losses[r], 0.0f) << "row " << r;
}

// One slice on each backend: the softmax part of the embedding gradient is
// large here (probabilities around 1e-3).
TEST_F(CudaBackendTest, ClassifierSmallVocabulary) { ExpectClassifierMatches(*this, 64, 48, 1000); }

// Vocabulary 100000 takes two token slices on the GPU (2^25 logits each) and
// five on the CPU.
TEST_F(CudaBackendTest, ClassifierOverSeveralSlices) {
  ExpectClassifierMatches(*this, 400, 32, 100000);
}

TEST_F(CudaBackendTest, AdamWUpdate) {
  const int64_t n = 10007;
  std::vector<float> second_moment = Normal(n, 4, 0.1);
  for (float& x : second_moment) x = x * x;
  Mirrored<float> param(pair(), Normal(n, 1));
  Mirrored<float> grad(pair(), Normal(n, 2));
  Mirrored<float> m(pair(), Normal(n, 3, 0.1));
  Mirrored<float> v(pair(), second_moment);
  for (Backend* be : both()) {
    be->AdamWUpdate(param.on(be), grad.on(be), m.on(be), v.on(be), n, 1e-3f, 0.9f, 0.95f, 1e-8f,
                    0.1f, 3, 0.5f);
  }
  EXPECT_LE(MaxRelativeError(param), kTolerance);
  EXPECT_LE(MaxRelativeError(m), kTolerance);
  EXPECT_LE(MaxRelativeError(v), kTolerance);
}

TEST_F(CudaBackendTest, SumOfSquaresInDoubleAndDeterministic) {
  const int64_t n = (int64_t{1} << 20) + 3;
  Mirrored<float> x(pair(), Normal(n, 1));
  const double cpu = cpu_->SumOfSquares(x.cpu(), n);
  const double gpu = gpu_->SumOfSquares(x.gpu(), n);
  // Both sum in double, in different orders: ~n·2^-53 relative at worst.
  EXPECT_NEAR(gpu, cpu, 1e-9 * cpu);
  EXPECT_EQ(gpu_->SumOfSquares(x.gpu(), n), gpu);
  EXPECT_EQ(gpu_->SumOfSquares(x.gpu(), 0), 0.0);
}

}  // namespace
}  // namespace flopwise::kernels::testing
