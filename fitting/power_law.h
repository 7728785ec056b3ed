// y = coef * x^exponent fitted in log space with Ceres (private to fitting/).
#pragma once

#include <span>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "fitting/fit.h"

namespace flopwise::fitting {

// Residual of one point: (log coef + exponent * u) - log y, where
// u = log x - mean log x (centred for conditioning).
// Parameters: p[0] = log coef at the centre, p[1] = exponent.
struct LogPowerLawResidual {
  LogPowerLawResidual(double centred_log_x, double log_y)
      : centred_log_x_(centred_log_x), log_y_(log_y) {}
  template <typename T>
  bool operator()(const T* const p, T* residual) const {
    residual[0] = p[0] + p[1] * T(centred_log_x_) - T(log_y_);
    return true;
  }

 private:
  double centred_log_x_;
  double log_y_;
};

// Fits y = coef * x^exponent by least squares on log y. InvalidArgument
// (prefixed with `what`) for fewer than 2 points, non-positive or non-finite
// values, all x equal or all y equal; FailedPrecondition if Ceres does not
// report convergence.
absl::StatusOr<PowerLawFit> FitPowerLaw(std::span<const double> x, std::span<const double> y,
                                        absl::string_view what);

inline double Evaluate(const PowerLawFit& law, double x) {
  return law.coef * std::pow(x, law.exponent);
}

}  // namespace flopwise::fitting
