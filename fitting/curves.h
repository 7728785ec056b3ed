// Per-run training curves, the unit the fits work on (private to fitting/).
#pragma once

#include <span>
#include <string>
#include <vector>

namespace flopwise::fitting {

// One run's checkpoints, ascending in compute (strictly).
struct RunCurve {
  std::string run;
  double n_params = 0;          // non-embedding
  std::vector<double> compute;  // C in FitReport::unit
  std::vector<double> tokens;
  std::vector<double> loss;
};

// Interpolates ys linearly in (log x, log y) at x. REQUIRES: xs ascending,
// xs.front() <= x <= xs.back(), all values positive.
double InterpolateLogLog(std::span<const double> xs, std::span<const double> ys, double x);

// `points` values spaced evenly in log between lo and hi (inclusive).
// REQUIRES: 0 < lo <= hi, points >= 2.
std::vector<double> LogSpacedGrid(double lo, double hi, int points);

// Number of distinct n_params values among the runs.
int DistinctModelSizes(std::span<const RunCurve> runs);

}  // namespace flopwise::fitting
