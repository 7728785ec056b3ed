#include "kernels/cpu/dense_ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/fast_math.h"
#include "tests/kernels/test_util.h"

namespace flopwise::kernels {
namespace {

using testing::DirectionalError;
using testing::Dot;
using testing::kStaleGradient;
using testing::RandomNormal;

TEST(Matmul, ForwardMatchesNaiveAndBackwardMatchesFiniteDifferences) {
  const int rows = 5, in_dim = 4, out_dim = 3;
  std::vector<double> x = RandomNormal(rows * in_dim, 1), w = RandomNormal(out_dim * in_dim, 2);
  std::vector<double> out(rows * out_dim);
  cpu::MatmulForward<double>(out.data(), x.data(), w.data(), rows, in_dim, out_dim);
  for (int r = 0; r < rows; ++r) {
    for (int o = 0; o < out_dim; ++o) {
      double s = 0;
      for (int i = 0; i < in_dim; ++i) s += x[r * in_dim + i] * w[o * in_dim + i];
      EXPECT_NEAR(out[r * out_dim + o], s, 1e-14);
    }
  }
  std::vector<double> g = RandomNormal(rows * out_dim, 3);
  auto loss = [&]() {
    std::vector<double> y(rows * out_dim);
    cpu::MatmulForward<double>(y.data(), x.data(), w.data(), rows, in_dim, out_dim);
    return Dot(y, g);
  };
  std::vector<double> dx(x.size(), 0.0), dw(w.size(), 0.0);
  cpu::MatmulBackward<double>(dx.data(), dw.data(), g.data(), x.data(), w.data(), rows, in_dim,
                              out_dim);
  EXPECT_LE(DirectionalError(loss, x, dx, 4), 1e-8);
  EXPECT_LE(DirectionalError(loss, w, dw, 5), 1e-8);
}

TEST(Embedding, ScatterAddAccumulatesRepeatedTokens) {
  const int vocab = 5, dim = 3;
  std::vector<double> embed = RandomNormal(vocab * dim, 1);
  std::vector<int32_t> tokens = {2, 0, 2, 4};
  std::vector<double> out(tokens.size() * dim);
  cpu::EmbeddingForward<double>(out.data(), tokens.data(), embed.data(), 4, dim);
  EXPECT_EQ(out[2 * dim + 1], embed[2 * dim + 1]);
  std::vector<double> g = RandomNormal(4 * dim, 2);
  auto loss = [&]() {
    std::vector<double> y(4 * dim);
    cpu::EmbeddingForward<double>(y.data(), tokens.data(), embed.data(), 4, dim);
    return Dot(y, g);
  };
  std::vector<double> dembed(embed.size(), 0.0);
  cpu::EmbeddingBackward<double>(dembed.data(), g.data(), tokens.data(), 4, dim);
  EXPECT_NEAR(dembed[2 * dim], g[0 * dim] + g[2 * dim], 1e-15);
  EXPECT_EQ(dembed[1 * dim], 0.0);
  EXPECT_LE(DirectionalError(loss, embed, dembed, 3), 1e-8);
}

TEST(RmsNorm, SrmsNormHandVector) {
  // SRMSNorm([1, 2, 3, 4]) (docs/model-contract.md §9.1).
  std::vector<double> x = {1, 2, 3, 4}, y(4), rstd(1);
  cpu::RmsNormForward<double>(y.data(), rstd.data(), x.data(), nullptr, 1, 4, 1e-6);
  const double expected[4] = {0.36515, 0.73030, 1.09545, 1.46059};
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(y[c], expected[c], 1e-5);
  EXPECT_NEAR(rstd[0], 1 / std::sqrt(7.5 + 1e-6), 1e-15);
}

TEST(RmsNorm, BackwardMatchesFiniteDifferences) {
  const int rows = 6, dim = 5;
  for (bool gain : {true, false}) {
    std::vector<double> x = RandomNormal(rows * dim, 1), w = RandomNormal(dim, 2);
    std::vector<double> g = RandomNormal(rows * dim, 3);
    const double* wp = gain ? w.data() : nullptr;
    auto loss = [&]() {
      std::vector<double> y(rows * dim), r(rows);
      cpu::RmsNormForward<double>(y.data(), r.data(), x.data(), gain ? w.data() : nullptr, rows,
                                  dim, 1e-6);
      return Dot(y, g);
    };
    std::vector<double> y(rows * dim), rstd(rows), dx(x.size(), 0.0), dw(dim, 0.0);
    cpu::RmsNormForward<double>(y.data(), rstd.data(), x.data(), wp, rows, dim, 1e-6);
    cpu::Scratch<double> scratch;
    cpu::RmsNormBackward<double>(dx.data(), dw.data(), g.data(), x.data(), wp, rstd.data(), rows,
                                 dim, scratch);
    EXPECT_LE(DirectionalError(loss, x, dx, 4), 1e-7);
    if (gain) {
      EXPECT_LE(DirectionalError(loss, w, dw, 5), 1e-7);
    }
  }
}

// Every binary element-wise op: backward against finite differences, written
// over gradient buffers that hold stale values.
TEST(Elementwise, BackwardsMatchFiniteDifferences) {
  const int n = 17;
  std::vector<double> u = RandomNormal(n, 1, 2.0), v = RandomNormal(n, 2, 2.0);
  const std::vector<double> g = RandomNormal(n, 3);
  using Forward = void (*)(double*, const double*, const double*, int64_t);
  using Backward = void (*)(double*, double*, const double*, const double*, const double*, int64_t);
  const std::vector<std::pair<Forward, Backward>> ops = {
      {cpu::GluForward<double>, cpu::GluBackward<double>},
      {cpu::SwigluForward<double>, cpu::SwigluBackward<double>},
      {cpu::SigmoidGateForward<double>, cpu::SigmoidGateBackward<double>},
  };
  for (const auto& [forward, backward] : ops) {
    auto loss = [&]() {
      std::vector<double> y(n);
      forward(y.data(), u.data(), v.data(), n);
      return Dot(y, g);
    };
    std::vector<double> du(n, kStaleGradient), dv(n, kStaleGradient);
    backward(du.data(), dv.data(), g.data(), u.data(), v.data(), n);
    EXPECT_LE(DirectionalError(loss, u, du, 4), 1e-8);
    EXPECT_LE(DirectionalError(loss, v, dv, 5), 1e-8);
  }
  auto silu_loss = [&]() {
    std::vector<double> y(n);
    cpu::SiluForward<double>(y.data(), u.data(), n);
    return Dot(y, g);
  };
  std::vector<double> du(n, kStaleGradient);
  cpu::SiluBackward<double>(du.data(), g.data(), u.data(), n);
  EXPECT_LE(DirectionalError(silu_loss, u, du, 6), 1e-8);
  std::vector<double> y(n);
  cpu::SwigluForward<double>(y.data(), u.data(), v.data(), n);
  EXPECT_NEAR(y[3], u[3] * v[3] / (1 + std::exp(-v[3])), 1e-15);
}

TEST(Elementwise, ResidualAccumulateScale) {
  std::vector<double> a = {1, 2}, b = {10, 20}, out(2), da = {1, 1}, db = {0, 0};
  cpu::ResidualForward<double>(out.data(), a.data(), b.data(), 2);
  EXPECT_EQ(out[1], 22);
  const std::vector<double> g = {3, 4};
  cpu::ResidualBackward<double>(da.data(), db.data(), g.data(), 2);
  EXPECT_EQ(da[1], 5);
  EXPECT_EQ(db[0], 3);
  cpu::Scale<double>(da.data(), 0.5, 2);
  EXPECT_EQ(da[0], 2);
}

// Sizes below and above the threshold where the work is split over threads,
// odd lengths and an odd start, so every split edge is covered; the bytes
// just outside the range must stay untouched.
TEST(ParallelMemory, ZeroAndCopyTouchExactlyTheirRange) {
  for (const int64_t bytes : {int64_t{0}, int64_t{1}, int64_t{1000}, int64_t{1} << 18,
                              (int64_t{1} << 20) + 37, (int64_t{3} << 20) + 1}) {
    SCOPED_TRACE(bytes);
    std::vector<unsigned char> buf(bytes + 2), src(bytes + 2);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<unsigned char>(i * 31 + 7);
    std::fill(buf.begin(), buf.end(), 0xAB);
    cpu::ParallelCopy(buf.data() + 1, src.data() + 1, bytes);
    EXPECT_EQ(buf.front(), 0xAB);
    EXPECT_EQ(buf.back(), 0xAB);
    EXPECT_TRUE(std::equal(buf.begin() + 1, buf.end() - 1, src.begin() + 1));
    cpu::ParallelZero(buf.data() + 1, bytes);
    EXPECT_EQ(buf.front(), 0xAB);
    EXPECT_EQ(buf.back(), 0xAB);
    EXPECT_TRUE(
        std::all_of(buf.begin() + 1, buf.end() - 1, [](unsigned char b) { return b == 0; }));
  }
}

TEST(AdamW, TwoStepsMatchHandComputation) {
  std::vector<double> p = {1.0, -2.0}, m = {0, 0}, v = {0, 0};
  const std::vector<double> g1 = {0.5, -1.0}, g2 = {0.1, 0.3};
  const double lr = 0.1, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, scale = 0.5;
  std::vector<double> ep = p, em = m, ev = v;
  for (int step = 1; step <= 2; ++step) {
    const std::vector<double>& g = step == 1 ? g1 : g2;
    cpu::AdamWUpdate<double>(p.data(), g.data(), m.data(), v.data(), 2, lr, b1, b2, eps, wd, step,
                             scale);
    for (int i = 0; i < 2; ++i) {
      const double gs = g[i] * scale;
      em[i] = b1 * em[i] + (1 - b1) * gs;
      ev[i] = b2 * ev[i] + (1 - b2) * gs * gs;
      const double mh = em[i] / (1 - std::pow(b1, step)), vh = ev[i] / (1 - std::pow(b2, step));
      ep[i] -= lr * (mh / (std::sqrt(vh) + eps) + wd * ep[i]);
    }
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(p[i], ep[i], 1e-14);
    EXPECT_NEAR(m[i], em[i], 1e-14);
    EXPECT_NEAR(v[i], ev[i], 1e-14);
  }
}

TEST(SumOfSquares, MatchesDefinition) {
  std::vector<float> x = {1.f, -2.f, 3.f, 0.5f};
  EXPECT_DOUBLE_EQ(cpu::SumOfSquares<float>(x.data(), 4), 14.25);
}

TEST(FastExp, WithinTwoUlpOnTheUsedRange) {
  double worst = 0;
  for (double x = -87.0; x <= 88.0; x += 0.001) {
    const float xf = static_cast<float>(x);
    const double ref = std::exp(static_cast<double>(xf));
    worst = std::max(worst, std::abs(cpu::FastExp(xf) - ref) / ref);
  }
  EXPECT_LE(worst, 2.5e-7);
  EXPECT_EQ(cpu::FastExp(0.f), 1.f);
  EXPECT_GT(cpu::FastExp(-1000.f), 0.f);
  EXPECT_LT(cpu::FastExp(-1000.f), 1e-37f);
}

// Gemm<float> against a double loop, for every transpose pair, beta 0 / 0.5
// and sizes below and above the kernels' chunk sizes.
TEST(Gemm, SmallAndLargeProductsMatchDefinition) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  for (const int size : {3, 16, 40}) {
    const int m = size, n = size + 1, k = size + 2, ld = 48;
    std::vector<float> a(ld * ld), b(ld * ld), c0(ld * ld);
    for (auto* v : {&a, &b, &c0}) {
      for (float& x : *v) x = uniform(rng);
    }
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        for (const float beta : {0.f, 0.5f}) {
          std::vector<float> c = c0;
          cpu::Gemm<float>(ta, tb, m, n, k, 2.f, a.data(), ld, b.data(), ld, beta, c.data(), ld);
          double worst = 0;
          for (int i = 0; i < m; ++i) {
            for (int j = 0; j < n; ++j) {
              double sum = 0;
              for (int p = 0; p < k; ++p) {
                sum += double(ta ? a[p * ld + i] : a[i * ld + p]) *
                       double(tb ? b[j * ld + p] : b[p * ld + j]);
              }
              const double want = 2.0 * sum + (beta == 0.f ? 0.0 : beta * double(c0[i * ld + j]));
              worst = std::max(worst, std::abs(c[i * ld + j] - want));
            }
          }
          EXPECT_LE(worst, 1e-5) << size << ta << tb << beta;
        }
      }
    }
  }
}

TEST(FastLog1p, WithinTwoUlpOnZeroToOne) {
  double worst = 0;
  for (double x = 0.0; x <= 60.0; x += 0.001) {  // y = e^{-x}: the gates' softplus tails
    const float y = static_cast<float>(std::exp(-x));
    const double ref = std::log1p(static_cast<double>(y));
    worst = std::max(worst, std::abs(cpu::FastLog1p(y) - ref) / ref);
  }
  EXPECT_LE(worst, 2.5e-7);
  EXPECT_EQ(cpu::FastLog1p(0.f), 0.f);
  EXPECT_EQ(cpu::FastLog1p(1e-30f), 1e-30f);
}

}  // namespace
}  // namespace flopwise::kernels
