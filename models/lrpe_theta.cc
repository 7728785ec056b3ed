#include "models/lrpe_theta.h"

#include <cmath>

namespace flopwise::models {
namespace {

constexpr double kLrpeBase = 10000.0;

}  // namespace

std::vector<float> TransnormerLrpeTheta(int heads, int head_dim) {
  const int d = heads * head_dim;
  std::vector<float> theta(d);
  for (int j = 0; j < d; ++j) theta[j] = static_cast<float>(std::pow(kLrpeBase, -2.0 * j / d));
  return theta;
}

std::vector<float> XmixersLrpeTheta(int heads, int head_dim) {
  std::vector<float> theta(int64_t{heads} * head_dim, 0.0f);
  for (int i = 0; i < heads; ++i) {
    for (int c = 0; 2 * c < head_dim; ++c) {
      theta[int64_t{i} * head_dim + c] =
          static_cast<float>(std::pow(kLrpeBase, -2.0 * c / head_dim));
    }
  }
  return theta;
}

}  // namespace flopwise::models
