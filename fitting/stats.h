// Small statistics helpers shared by the fits (private to fitting/).
#pragma once

#include <span>
#include <vector>

namespace flopwise::fitting {

double Mean(std::span<const double> values);
// Median of the values (copied); NaN when empty.
double Median(std::vector<double> values);
// Percentile q in [0, 1] with linear interpolation between order statistics;
// non-finite values are ignored. NaN when no finite value is left.
double Percentile(std::span<const double> values, double q);
// Fit quality of `predicted` against `observed` (same length, non-empty):
// residual RMS and R^2 = 1 - SS_res / SS_tot (NaN when SS_tot is 0).
struct FitQuality {
  double rms = 0;
  double r2 = 0;
};
FitQuality Quality(std::span<const double> observed, std::span<const double> predicted);

}  // namespace flopwise::fitting
