#include "kernels/cpu/classifier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/kernels/test_util.h"

namespace flopwise::kernels {
namespace {

using testing::DirectionalError;
using testing::RandomNormal;

TEST(Classifier, LossMatchesLogSoftmaxAndGradientMatchesFiniteDifferences) {
  const int rows = 6, dim = 4, vocab = 11, padded = 16;
  std::vector<double> x = RandomNormal(rows * dim, 1);
  std::vector<double> embed = RandomNormal(padded * dim, 2);
  const std::vector<int32_t> targets = {3, 0, 10, -1, 7, 3};
  const double scale = 1.0 / 5;  // five counted tokens
  cpu::Scratch<double> scratch;
  std::vector<double> losses(rows);
  cpu::ClassifierForwardBackward<double>(losses.data(), nullptr, nullptr, x.data(), embed.data(),
                                         targets.data(), rows, dim, vocab, scale, scratch);
  for (int r = 0; r < rows; ++r) {
    if (targets[r] < 0) {
      EXPECT_EQ(losses[r], 0.0);
      continue;
    }
    std::vector<double> z(vocab);
    double sum = 0;
    for (int c = 0; c < vocab; ++c) {
      for (int i = 0; i < dim; ++i) z[c] += x[r * dim + i] * embed[c * dim + i];
      sum += std::exp(z[c]);
    }
    EXPECT_NEAR(losses[r], std::log(sum) - z[targets[r]], 1e-12);
  }
  auto loss = [&]() {
    std::vector<double> l(rows);
    cpu::ClassifierForwardBackward<double>(l.data(), nullptr, nullptr, x.data(), embed.data(),
                                           targets.data(), rows, dim, vocab, scale, scratch);
    double total = 0;
    for (double v : l) total += v * scale;
    return total;
  };
  std::vector<double> dx(x.size(), 0.0), dembed(embed.size(), 0.0);
  cpu::ClassifierForwardBackward<double>(losses.data(), dx.data(), dembed.data(), x.data(),
                                         embed.data(), targets.data(), rows, dim, vocab, scale,
                                         scratch);
  for (int i = vocab * dim; i < padded * dim; ++i) EXPECT_EQ(dembed[i], 0.0) << "padded row";
  for (int i = 0; i < dim; ++i) EXPECT_EQ(dx[3 * dim + i], 0.0) << "ignored target";
  EXPECT_LE(DirectionalError(loss, x, dx, 3), 1e-8);
  EXPECT_LE(DirectionalError(loss, embed, dembed, 4), 1e-8);
}

}  // namespace
}  // namespace flopwise::kernels
