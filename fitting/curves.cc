#include "fitting/curves.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace flopwise::fitting {

double InterpolateLogLog(std::span<const double> xs, std::span<const double> ys, double x) {
  auto it = std::upper_bound(xs.begin(), xs.end(), x);
  if (it == xs.begin()) return ys.front();
  if (it == xs.end()) return ys.back();
  const size_t hi = static_cast<size_t>(it - xs.begin());
  const size_t lo = hi - 1;
  const double t = (std::log(x) - std::log(xs[lo])) / (std::log(xs[hi]) - std::log(xs[lo]));
  return std::exp(std::log(ys[lo]) + t * (std::log(ys[hi]) - std::log(ys[lo])));
}

std::vector<double> LogSpacedGrid(double lo, double hi, int points) {
  std::vector<double> grid(points);
  const double step = (std::log(hi) - std::log(lo)) / (points - 1);
  for (int i = 0; i < points; ++i) grid[i] = std::exp(std::log(lo) + step * i);
  grid.front() = lo;
  grid.back() = hi;
  return grid;
}

int DistinctModelSizes(std::span<const RunCurve> runs) {
  std::set<double> sizes;
  for (const RunCurve& r : runs) sizes.insert(r.n_params);
  return static_cast<int>(sizes.size());
}

}  // namespace flopwise::fitting
