#include "kernels/cpu/position_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "kernels/cpu/linear_attention.h"
#include "tests/kernels/test_util.h"

namespace flopwise::kernels {
namespace {

using testing::DirectionalError;
using testing::Dot;
using testing::kStaleGradient;
using testing::RandomNormal;
using testing::RelativeError;

TEST(Rope, RotateHalfConventionAndRelativeScores) {
  // One head, D = 4: position 1 rotates pair (0, 2) by ω_0 = 1 and pair (1, 3) by ω_1 = 0.01.
  std::vector<double> x = {1, 0, 0, 0, 1, 0, 0, 0}, y(8);
  cpu::Scratch<double> scratch;
  cpu::RopeForward<double>(y.data(), x.data(), 1, 2, 1, 4, 0, 10000.0, scratch);
  EXPECT_NEAR(y[4], std::cos(1.0), 1e-15);
  EXPECT_NEAR(y[6], std::sin(1.0), 1e-15);  // x' = x cos + rot(x) sin, rot([x1; x2]) = [−x2; x1]
  // q(τ)·k(σ) depends only on τ − σ: compare offsets 0 and 5000.
  const int seq = 6, heads = 2, d = 8;
  std::vector<double> q = RandomNormal(seq * heads * d, 1), k = RandomNormal(seq * heads * d, 2);
  auto scores = [&](int offset) {
    std::vector<double> qr(q.size()), kr(k.size()), s;
    cpu::RopeForward<double>(qr.data(), q.data(), 1, seq, heads, d, offset, 10000.0, scratch);
    cpu::RopeForward<double>(kr.data(), k.data(), 1, seq, heads, d, offset, 10000.0, scratch);
    for (int t = 0; t < seq; ++t) {
      for (int u = 0; u < seq; ++u) {
        double dot = 0;
        for (int c = 0; c < d; ++c) dot += qr[t * heads * d + c] * kr[u * heads * d + c];
        s.push_back(dot);
      }
    }
    return s;
  };
  EXPECT_LE(RelativeError(scores(5000), scores(0)), 1e-10);
}

TEST(Rope, BackwardMatchesFiniteDifferences) {
  const int batch = 2, seq = 5, heads = 2, d = 6;
  std::vector<double> x = RandomNormal(batch * seq * heads * d, 1);
  const std::vector<double> g = RandomNormal(x.size(), 2);
  cpu::Scratch<double> scratch;
  auto loss = [&]() {
    std::vector<double> y(x.size());
    cpu::RopeForward<double>(y.data(), x.data(), batch, seq, heads, d, 3, 10000.0, scratch);
    return Dot(y, g);
  };
  std::vector<double> dx(x.size(), kStaleGradient);  // written, not added
  cpu::RopeBackward<double>(dx.data(), g.data(), batch, seq, heads, d, 3, 10000.0, scratch);
  EXPECT_LE(DirectionalError(loss, x, dx, 3), 1e-8);
}

// LRPE then linear attention without decay (the cos2 core op).
std::vector<double> Cos2Attention(const std::vector<double>& q, const std::vector<double>& k,
                                  const std::vector<double>& v, const std::vector<double>& theta,
                                  int batch, int seq, int heads, int d, int offset) {
  cpu::Scratch<double> scratch;
  std::vector<double> qt(2 * q.size()), kt(2 * k.size()), out(v.size());
  cpu::LrpeForward<double>(qt.data(), q.data(), theta.data(), batch, seq, heads, d, offset,
                           scratch);
  cpu::LrpeForward<double>(kt.data(), k.data(), theta.data(), batch, seq, heads, d, offset,
                           scratch);
  cpu::LinearAttentionForward<double>(out.data(), nullptr, qt.data(), kt.data(), v.data(), nullptr,
                                      nullptr, batch, seq, heads, 2 * d, d, 2, scratch);
  return out;
}

TEST(Lrpe, HandVector) {
  // n = 3, D = 1, q = k = v = 1, θ = π/2 → o = [1, 1, 0] (docs/model-contract.md §9.1).
  const std::vector<double> ones(3, 1.0), theta = {std::numbers::pi / 2};
  const std::vector<double> out = Cos2Attention(ones, ones, ones, theta, 1, 3, 1, 1, 0);
  EXPECT_NEAR(out[0], 1.0, 1e-15);
  EXPECT_NEAR(out[1], 1.0, 1e-15);
  EXPECT_NEAR(out[2], 0.0, 1e-15);
}

TEST(Lrpe, ShiftInvariantAtOffset8000) {
  const int batch = 2, seq = 40, heads = 2, d = 8;
  const int64_t n = static_cast<int64_t>(batch) * seq * heads * d;
  std::vector<double> q = RandomNormal(n, 1), k = RandomNormal(n, 2), v = RandomNormal(n, 3);
  std::vector<double> theta(heads * d);
  for (int i = 0; i < heads * d; ++i) theta[i] = std::pow(10000.0, -2.0 * i / (heads * d));
  const std::vector<double> at0 = Cos2Attention(q, k, v, theta, batch, seq, heads, d, 0);
  const std::vector<double> at8000 = Cos2Attention(q, k, v, theta, batch, seq, heads, d, 8000);
  EXPECT_LE(RelativeError(at8000, at0), 1e-10);
  // float: angles of up to 8040 rad rounded to fp32 stay within the fp32 budget.
  std::vector<float> qf(q.begin(), q.end()), thf(theta.begin(), theta.end()), yf(2 * n);
  std::vector<double> yd(2 * n);
  cpu::Scratch<float> sf;
  cpu::Scratch<double> sd;
  cpu::LrpeForward<float>(yf.data(), qf.data(), thf.data(), batch, seq, heads, d, 8000, sf);
  std::vector<double> th_rounded(thf.begin(), thf.end()), q_rounded(qf.begin(), qf.end());
  cpu::LrpeForward<double>(yd.data(), q_rounded.data(), th_rounded.data(), batch, seq, heads, d,
                           8000, sd);
  EXPECT_LE(RelativeError(yf, yd), 1e-3);
  EXPECT_TRUE(testing::AllFinite(yf));
}

TEST(Lrpe, BackwardMatchesFiniteDifferencesIncludingTheta) {
  const int batch = 2, seq = 5, heads = 2, d = 3, offset = 7;
  std::vector<double> x = RandomNormal(batch * seq * heads * d, 1);
  std::vector<double> theta = RandomNormal(heads * d, 2, 0.3);
  const std::vector<double> g = RandomNormal(2 * x.size(), 3);
  cpu::Scratch<double> scratch;
  auto loss = [&]() {
    std::vector<double> y(2 * x.size());
    cpu::LrpeForward<double>(y.data(), x.data(), theta.data(), batch, seq, heads, d, offset,
                             scratch);
    return Dot(y, g);
  };
  // dx is written over a stale value; dtheta, a parameter gradient, is added to.
  std::vector<double> dx(x.size(), kStaleGradient), dtheta(theta.size(), 0.0);
  cpu::LrpeBackward<double>(dx.data(), dtheta.data(), g.data(), x.data(), theta.data(), batch, seq,
                            heads, d, offset, scratch);
  EXPECT_LE(DirectionalError(loss, x, dx, 4), 1e-8);
  EXPECT_LE(DirectionalError(loss, theta, dtheta, 5), 1e-8);
}

TEST(Tpe, HandVector) {
  // e = 1, γ = 0.5, B = 1, X = [1, 0, 0] → X + Y = [2, 0.5, 0.25] (docs/model-contract.md §9.1).
  const std::vector<double> x = {1, 0, 0}, b = {1}, log_gamma = {std::log(0.5)};
  std::vector<double> y(3);
  cpu::Scratch<double> scratch;
  cpu::TpeForward<double>(y.data(), x.data(), b.data(), log_gamma.data(), 1, 3, 1, 1, scratch);
  EXPECT_NEAR(y[0], 2.0, 1e-15);
  EXPECT_NEAR(y[1], 0.5, 1e-15);
  EXPECT_NEAR(y[2], 0.25, 1e-15);
}

TEST(Tpe, BackwardMatchesFiniteDifferences) {
  const int batch = 2, seq = 9, dim = 37, e = 3;  // dim spans two channel blocks
  std::vector<double> x = RandomNormal(batch * seq * dim, 1), b = RandomNormal(dim * e, 2);
  const std::vector<double> log_gamma = {-0.1, -0.7, -2.0};
  const std::vector<double> g = RandomNormal(x.size(), 3);
  cpu::Scratch<double> scratch;
  auto loss = [&]() {
    std::vector<double> y(x.size());
    cpu::TpeForward<double>(y.data(), x.data(), b.data(), log_gamma.data(), batch, seq, dim, e,
                            scratch);
    return Dot(y, g);
  };
  std::vector<double> dx(x.size(), 0.0), db(b.size(), 0.0);
  cpu::TpeBackward<double>(dx.data(), db.data(), g.data(), x.data(), b.data(), log_gamma.data(),
                           batch, seq, dim, e, scratch);
  EXPECT_LE(DirectionalError(loss, x, dx, 4), 1e-8);
  EXPECT_LE(DirectionalError(loss, b, db, 5), 1e-8);
}

}  // namespace
}  // namespace flopwise::kernels
