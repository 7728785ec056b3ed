// The CUDA backend in bf16 mode (CudaBackendOptions::bf16_gemms) against the
// CPU backend in fp32: every op that multiplies matrices within the bound of
// docs/kernels.md ("Mixed precision"), element by element, and the fp32 ops
// unchanged. Skipped where no GPU is visible.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/backend.h"
#include "tests/cuda/bf16_bounds.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/kernels/test_util.h"

namespace flopwise::kernels::testing {
namespace {

std::vector<float> Normal(int64_t n, uint64_t seed, double stddev = 1.0) {
  const std::vector<double> values = RandomNormal(n, seed, stddev);
  return {values.begin(), values.end()};
}

std::vector<double> Scaled(std::vector<double> values, double factor) {
  for (double& v : values) v *= factor;
  return values;
}

class CudaBf16Test : public CudaVersusCpuTest {
 protected:
  CudaBackendOptions GpuOptions() const override {
    CudaBackendOptions options;
    options.bf16_gemms = true;
    return options;
  }
};

// 1 + 2^-10 has no bf16 form (8 significant bits): rounded to 1 it sums to
// exactly k where fp32 keeps k·(1 + 2^-10). So the GEMMs really run in bf16.
TEST_F(CudaBf16Test, GemmsMultiplyInBf16) {
  const int m = 128, n = 128, k = 128;
  Mirrored<float> a(pair(), std::vector<float>(int64_t{m} * k, 1.0f + 0x1p-10f));
  Mirrored<float> b(pair(), std::vector<float>(int64_t{k} * n, 1.0f));
  Mirrored<float> c(pair(), std::vector<float>(int64_t{m} * n));
  for (Backend* be : both()) {
    be->Gemm(false, false, m, n, k, 1.0f, a.on(be), k, b.on(be), n, 0.0f, c.on(be), n);
  }
  const std::vector<float> gpu = c.GpuValues(), cpu = c.CpuValues();
  EXPECT_EQ(cpu[0], k * (1.0f + 0x1p-10f));
  EXPECT_EQ(std::count(gpu.begin(), gpu.end(), static_cast<float>(k)), int64_t{m} * n)
      << "gpu[0] = " << gpu[0];
}

// The operands rounded to nearest bf16, then multiplied with fp32
// accumulation: the GPU's bf16 GEMM is the CPU's fp32 GEMM of the rounded
// operands to fp32 accuracy (1e-5 of the scale, as in fp32 mode; bf16
// accumulation or another rounding would be off by ~2^-8).
TEST_F(CudaBf16Test, GemmIsTheFp32GemmOfOperandsRoundedToNearest) {
  const int m = 64, n = 96, k = 320;
  const std::vector<float> a_values = Normal(int64_t{m} * k, 1);
  const std::vector<float> b_values = Normal(int64_t{n} * k, 2);
  Mirrored<float> a(pair(), a_values);
  Mirrored<float> b(pair(), b_values);
  Mirrored<float> a_rounded(pair(), RoundedToBf16(a_values));
  Mirrored<float> b_rounded(pair(), RoundedToBf16(b_values));
  Mirrored<float> c(pair(), std::vector<float>(int64_t{m} * n));
  gpu_->Gemm(false, true, m, n, k, 1.0f, a.gpu(), k, b.gpu(), k, 0.0f, c.gpu(), n);
  cpu_->Gemm(false, true, m, n, k, 1.0f, a_rounded.cpu(), k, b_rounded.cpu(), k, 0.0f, c.cpu(), n);
  EXPECT_LE(MaxRelativeError(c), 1e-5);
}

TEST_F(CudaBf16Test, GemmInEveryTransposeCase) {
  const int m = 37, n = 53, k = 300, pad = 3;
  const float alpha = 0.7f, beta = 0.3f;
  for (const bool trans_a : {false, true}) {
    for (const bool trans_b : {false, true}) {
      const int lda = (trans_a ? m : k) + pad, ldb = (trans_b ? k : n) + pad, ldc = n + pad;
      const std::vector<float> a_values = Normal(int64_t{trans_a ? k : m} * lda, 1);
      const std::vector<float> b_values = Normal(int64_t{trans_b ? n : k} * ldb, 2);
      Mirrored<float> a(pair(), a_values);
      Mirrored<float> b(pair(), b_values);
      Mirrored<float> c(pair(), Normal(int64_t{m} * ldc, 3));
      for (Backend* be : both()) {
        be->Gemm(trans_a, trans_b, m, n, k, alpha, a.on(be), lda, b.on(be), ldb, beta, c.on(be),
                 ldc);
      }
      // Bounds for the m×n elements inside the padded rows; padding stays as is.
      const std::vector<double> product =
          AbsoluteProduct(trans_a, trans_b, m, n, k, a_values, lda, b_values, ldb);
      std::vector<double> bound(int64_t{m} * ldc, 0.0);
      for (int i = 0; i < m; ++i) {
        for (int j = 0; j < n; ++j) {
          bound[int64_t{i} * ldc + j] = Bf16GemmEpsilon(k) * alpha * product[int64_t{i} * n + j];
        }
      }
      ExpectWithinBounds(
          c.GpuValues(), c.CpuValues(), bound,
          "trans_a " + std::to_string(trans_a) + " trans_b " + std::to_string(trans_b));
    }
  }
}

TEST_F(CudaBf16Test, MatmulForwardAndBackward) {
  const int rows = 70, in_dim = 96, out_dim = 40;
  const std::vector<float> inp_values = Normal(int64_t{rows} * in_dim, 1);
  const std::vector<float> weight_values = Normal(int64_t{out_dim} * in_dim, 2, 0.1);
  const std::vector<float> dout_values = Normal(int64_t{rows} * out_dim, 3);
  Mirrored<float> inp(pair(), inp_values);
  Mirrored<float> weight(pair(), weight_values);
  Mirrored<float> out(pair(), std::vector<float>(int64_t{rows} * out_dim));
  Mirrored<float> dout(pair(), dout_values);
  Mirrored<float> dinp(pair(), Normal(int64_t{rows} * in_dim, 4));
  Mirrored<float> dweight(pair(), Normal(int64_t{out_dim} * in_dim, 5));
  for (Backend* be : both()) {
    be->MatmulForward(out.on(be), inp.on(be), weight.on(be), rows, in_dim, out_dim);
    be->MatmulBackward(dinp.on(be), dweight.on(be), dout.on(be), inp.on(be), weight.on(be), rows,
                       in_dim, out_dim);
  }
  // out = inp·weightᵀ; dinp += dout·weight; dweight += doutᵀ·inp
  ExpectWithinBounds(out.GpuValues(), out.CpuValues(),
                     Scaled(AbsoluteProduct(false, true, rows, out_dim, in_dim, inp_values, in_dim,
                                            weight_values, in_dim),
                            Bf16GemmEpsilon(in_dim)),
                     "out");
  ExpectWithinBounds(dinp.GpuValues(), dinp.CpuValues(),
                     Scaled(AbsoluteProduct(false, false, rows, in_dim, out_dim, dout_values,
                                            out_dim, weight_values, in_dim),
                            Bf16GemmEpsilon(out_dim)),
                     "dinp");
  ExpectWithinBounds(dweight.GpuValues(), dweight.CpuValues(),
                     Scaled(AbsoluteProduct(true, false, out_dim, in_dim, rows, dout_values,
                                            out_dim, inp_values, in_dim),
                            Bf16GemmEpsilon(rows)),
                     "dweight");
}

// The fused classifier: logits z = x·embedᵀ in bf16 (|Δz_rj| ≤ δ_rj =
// ε(dim)·Σ_c|x_rc||e_jc|), softmax and loss in fp32. The loss moves by at most
// 2·max_j δ_rj; each probability by a factor within e^{±2 max_j δ_rj}, so
// dlogits (grad_scale·(p − onehot)) by at most D_rj = grad_scale·p_j·
// (e^{2 max_j δ_rj} − 1); the two gradient GEMMs then add their own ε over
// vocab (dx) and rows (dembed) on the perturbed dlogits.
TEST_F(CudaBf16Test, Classifier) {
  const int rows = 64, dim = 48, vocab = 1000, padded_vocab = 1152;
  const float grad_scale = 1.0f / rows;
  const std::vector<float> x_values = Normal(int64_t{rows} * dim, 4);
  std::vector<float> embed_values = Normal(int64_t{padded_vocab} * dim, 1, 0.5);
  std::fill(embed_values.begin() + int64_t{vocab} * dim, embed_values.end(), NAN);
  std::vector<int32_t> targets(rows);
  std::mt19937_64 rng(2);
  for (int32_t& t : targets) t = std::uniform_int_distribution<int32_t>(0, vocab - 1)(rng);
  for (int r = 0; r < rows; r += 7) targets[r] = -1;
  Mirrored<float> x(pair(), x_values);
  Mirrored<float> embed(pair(), embed_values);
  Mirrored<int32_t> target(pair(), targets);
  Mirrored<float> losses(pair(), std::vector<float>(rows));
  Mirrored<float> dx(pair(), std::vector<float>(int64_t{rows} * dim));
  Mirrored<float> dembed(pair(), std::vector<float>(int64_t{padded_vocab} * dim));
  for (Backend* be : both()) {
    be->ClassifierForwardBackward(losses.on(be), dx.on(be), dembed.on(be), x.on(be), embed.on(be),
                                  target.on(be), rows, dim, vocab, padded_vocab, grad_scale);
  }
  // The bounds, from the exact logits (double).
  std::vector<double> loss_bound(rows, 0.0), dx_bound(int64_t{rows} * dim, 0.0),
      dembed_bound(int64_t{padded_vocab} * dim, 0.0);
  std::vector<double> z(vocab), scale(vocab);
  for (int r = 0; r < rows; ++r) {
    if (targets[r] < 0) continue;  // ignored: loss 0 and no gradient on both backends
    double delta = 0, hi = -INFINITY;
    for (int j = 0; j < vocab; ++j) {
      z[j] = scale[j] = 0;
      for (int c = 0; c < dim; ++c) {
        const double product =
            double(x_values[int64_t{r} * dim + c]) * embed_values[int64_t{j} * dim + c];
        z[j] += product;
        scale[j] += std::abs(product);
      }
      delta = std::max(delta, Bf16GemmEpsilon(dim) * scale[j]);
      hi = std::max(hi, z[j]);
    }
    loss_bound[r] = 2 * delta;
    double sum = 0;
    for (int j = 0; j < vocab; ++j) sum += std::exp(z[j] - hi);
    for (int j = 0; j < vocab; ++j) {
      const double p = std::exp(z[j] - hi) / sum;
      const double dlogit = std::abs(grad_scale * (p - (j == targets[r] ? 1.0 : 0.0)));
      const double moved = grad_scale * p * std::expm1(2 * delta);
      for (int c = 0; c < dim; ++c) {
        const double e = std::abs(embed_values[int64_t{j} * dim + c]);
        const double xc = std::abs(x_values[int64_t{r} * dim + c]);
        dx_bound[int64_t{r} * dim + c] += moved * e + Bf16GemmEpsilon(vocab) * (dlogit + moved) * e;
        dembed_bound[int64_t{j} * dim + c] +=
            moved * xc + Bf16GemmEpsilon(rows) * (dlogit + moved) * xc;
      }
    }
  }
  ExpectWithinBounds(losses.GpuValues(), losses.CpuValues(), loss_bound, "losses");
  ExpectWithinBounds(dx.GpuValues(), dx.CpuValues(), dx_bound, "dx");
  // Padding rows of dembed are never written: 0 on both, bound 0.
  ExpectWithinBounds(dembed.GpuValues(), dembed.CpuValues(), dembed_bound, "dembed");
}

// What bf16 mode leaves alone computes as in fp32 mode (cuda_backend_test.cc's
// 1e-5 of the tensor's scale): norms, the optimizer, reductions.
TEST_F(CudaBf16Test, NormsOptimizerAndReductionsStayFp32) {
  constexpr double kTolerance = 1e-5;
  const int rows = 33, dim = 200;
  Mirrored<float> inp(pair(), Normal(int64_t{rows} * dim, 1));
  Mirrored<float> weight(pair(), Normal(dim, 2));
  Mirrored<float> out(pair(), std::vector<float>(int64_t{rows} * dim));
  Mirrored<float> rstd(pair(), std::vector<float>(rows));
  for (Backend* be : both()) {
    be->RmsNormForward(out.on(be), rstd.on(be), inp.on(be), weight.on(be), rows, dim, 1e-6f);
  }
  EXPECT_LE(MaxRelativeError(out), kTolerance);
  EXPECT_LE(MaxRelativeError(rstd), kTolerance);

  const int64_t n = 10007;
  std::vector<float> second_moment = Normal(n, 4, 0.1);
  for (float& v : second_moment) v = v * v;
  Mirrored<float> param(pair(), Normal(n, 1));
  Mirrored<float> grad(pair(), Normal(n, 2));
  Mirrored<float> m(pair(), Normal(n, 3, 0.1));
  Mirrored<float> v(pair(), second_moment);
  double sums[2];
  for (Backend* be : both()) {
    be->AdamWUpdate(param.on(be), grad.on(be), m.on(be), v.on(be), n, 1e-3f, 0.9f, 0.95f, 1e-8f,
                    0.1f, 3, 0.5f);
    sums[be == gpu_.get()] = be->SumOfSquares(grad.on(be), n);
  }
  EXPECT_LE(MaxRelativeError(param), kTolerance);
  EXPECT_LE(MaxRelativeError(m), kTolerance);
  EXPECT_LE(MaxRelativeError(v), kTolerance);
  EXPECT_NEAR(sums[1], sums[0], kTolerance * sums[0]);
}

}  // namespace
}  // namespace flopwise::kernels::testing
