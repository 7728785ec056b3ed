#include "models/slopes.h"

#include <cmath>

namespace flopwise::models {
namespace {

std::vector<double> PowerOfTwoSlopes(int heads) {
  const double ratio = std::pow(2.0, -8.0 / heads);
  std::vector<double> slopes(heads);
  double s = ratio;
  for (int i = 0; i < heads; ++i, s *= ratio) slopes[i] = s;
  return slopes;
}

}  // namespace

std::vector<double> HeadSlopes(int heads) {
  int power = 1;
  while (power * 2 <= heads) power *= 2;
  std::vector<double> slopes = PowerOfTwoSlopes(power);
  if (power == heads) return slopes;
  const std::vector<double> doubled = PowerOfTwoSlopes(2 * power);
  for (int i = 0; static_cast<int>(slopes.size()) < heads; i += 2) slopes.push_back(doubled[i]);
  return slopes;
}

double LayerDecayFactor(int layer, int layers) {
  if (layers == 1) return 1.0;
  return 1.0 - double(layer) / double(layers - 1) + 1e-5;
}

}  // namespace flopwise::models
