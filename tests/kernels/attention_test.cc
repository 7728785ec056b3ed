#include "kernels/cpu/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/kernels/test_util.h"

namespace flopwise::kernels {
namespace {

using testing::DirectionalError;
using testing::Dot;
using testing::kStaleGradient;
using testing::RandomNormal;
using testing::RelativeError;

// Materialised causal softmax attention in double.
std::vector<double> NaiveAttention(const std::vector<double>& q, const std::vector<double>& k,
                                   const std::vector<double>& v, int batch, int seq, int heads,
                                   int d) {
  std::vector<double> out(q.size());
  const int ld = heads * d;
  for (int b = 0; b < batch; ++b) {
    for (int h = 0; h < heads; ++h) {
      for (int i = 0; i < seq; ++i) {
        std::vector<double> s(i + 1);
        double hi = -1e300;
        for (int j = 0; j <= i; ++j) {
          double dot = 0;
          for (int c = 0; c < d; ++c) {
            dot += q[(b * seq + i) * ld + h * d + c] * k[(b * seq + j) * ld + h * d + c];
          }
          s[j] = dot / std::sqrt(static_cast<double>(d));
          hi = std::max(hi, s[j]);
        }
        double sum = 0;
        for (double& x : s) sum += (x = std::exp(x - hi));
        for (int c = 0; c < d; ++c) {
          double o = 0;
          for (int j = 0; j <= i; ++j) o += s[j] / sum * v[(b * seq + j) * ld + h * d + c];
          out[(b * seq + i) * ld + h * d + c] = o;
        }
      }
    }
  }
  return out;
}

TEST(Attention, ForwardMatchesMaterialisedSoftmax) {
  cpu::Scratch<double> scratch;
  for (int seq : {1, 5, 63, 64, 65, 150}) {
    const int batch = 2, heads = 3, d = 8;
    const int64_t n = static_cast<int64_t>(batch) * seq * heads * d;
    std::vector<double> q = RandomNormal(n, seq, 2.0), k = RandomNormal(n, seq + 1, 2.0),
                        v = RandomNormal(n, seq + 2);
    std::vector<double> out(n), lse(batch * heads * seq);
    cpu::AttentionForward<double>(out.data(), lse.data(), q.data(), k.data(), v.data(), batch, seq,
                                  heads, d, scratch);
    EXPECT_LE(RelativeError(out, NaiveAttention(q, k, v, batch, seq, heads, d)), 1e-13)
        << "seq " << seq;
    // Position 0 attends only to itself: lse = q·k/sqrt(D).
    double s0 = 0;
    for (int c = 0; c < d; ++c) s0 += q[c] * k[c];
    EXPECT_NEAR(lse[0], s0 / std::sqrt(8.0), 1e-12);
  }
}

TEST(Attention, BackwardMatchesFiniteDifferences) {
  const int batch = 2, seq = 70, heads = 2, d = 4;  // two blocks, a partial one
  const int64_t n = static_cast<int64_t>(batch) * seq * heads * d;
  std::vector<double> q = RandomNormal(n, 1), k = RandomNormal(n, 2), v = RandomNormal(n, 3);
  const std::vector<double> g = RandomNormal(n, 4);
  cpu::Scratch<double> scratch;
  std::vector<double> out(n), lse(batch * heads * seq);
  auto loss = [&]() {
    cpu::AttentionForward<double>(out.data(), lse.data(), q.data(), k.data(), v.data(), batch, seq,
                                  heads, d, scratch);
    return Dot(out, g);
  };
  loss();
  // Written over stale values (the backend's contract), not added to them.
  std::vector<double> dq(n, kStaleGradient), dk(n, kStaleGradient), dv(n, kStaleGradient);
  cpu::AttentionBackward<double>(dq.data(), dk.data(), dv.data(), g.data(), q.data(), k.data(),
                                 v.data(), out.data(), lse.data(), batch, seq, heads, d, scratch);
  EXPECT_LE(DirectionalError(loss, q, dq, 5), 1e-7);
  EXPECT_LE(DirectionalError(loss, k, dk, 6), 1e-7);
  EXPECT_LE(DirectionalError(loss, v, dv, 7), 1e-7);
}

}  // namespace
}  // namespace flopwise::kernels
