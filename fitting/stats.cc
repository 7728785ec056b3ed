#include "fitting/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace flopwise::fitting {

double Mean(std::span<const double> values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? std::numeric_limits<double>::quiet_NaN() : sum / values.size();
}

double Median(std::vector<double> values) { return Percentile(values, 0.5); }

double Percentile(std::span<const double> values, double q) {
  std::vector<double> finite;
  finite.reserve(values.size());
  for (double v : values) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  if (finite.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(finite.begin(), finite.end());
  const double pos = std::clamp(q, 0.0, 1.0) * (finite.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, finite.size() - 1);
  return finite[lo] + (pos - lo) * (finite[hi] - finite[lo]);
}

FitQuality Quality(std::span<const double> observed, std::span<const double> predicted) {
  const double mean = Mean(observed);
  double ss_res = 0, ss_tot = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    ss_res += (observed[i] - predicted[i]) * (observed[i] - predicted[i]);
    ss_tot += (observed[i] - mean) * (observed[i] - mean);
  }
  FitQuality q;
  q.rms = std::sqrt(ss_res / observed.size());
  q.r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : std::numeric_limits<double>::quiet_NaN();
  return q;
}

}  // namespace flopwise::fitting
