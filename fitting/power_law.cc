#include "fitting/power_law.h"

#include <ceres/ceres.h>

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "fitting/solver.h"
#include "fitting/stats.h"

namespace flopwise::fitting {

absl::StatusOr<PowerLawFit> FitPowerLaw(std::span<const double> x, std::span<const double> y,
                                        absl::string_view what) {
  if (x.size() != y.size() || x.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": need at least 2 points for 2 parameters (got ", x.size(), ")"));
  }
  std::vector<double> log_x(x.size()), log_y(y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    if (!(x[i] > 0) || !(y[i] > 0) || !std::isfinite(x[i]) || !std::isfinite(y[i])) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": point ", i, " (", x[i], ", ", y[i],
                                                     ") must be positive and finite"));
    }
    log_x[i] = std::log(x[i]);
    log_y[i] = std::log(y[i]);
  }
  const auto [x_min, x_max] = std::minmax_element(log_x.begin(), log_x.end());
  if (*x_max - *x_min < 1e-12) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": all x values are equal (", x[0], "); the exponent is undetermined"));
  }
  const auto [y_min, y_max] = std::minmax_element(log_y.begin(), log_y.end());
  if (*y_max - *y_min < 1e-12) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": all y values are equal (", y[0], "); nothing to fit"));
  }
  const double mean_log_x = Mean(log_x);
  double params[2] = {Mean(log_y), 0.0};
  ceres::Problem problem;
  for (size_t i = 0; i < x.size(); ++i) {
    problem.AddResidualBlock(new ceres::AutoDiffCostFunction<LogPowerLawResidual, 1, 2>(
                                 new LogPowerLawResidual(log_x[i] - mean_log_x, log_y[i])),
                             nullptr, params);
  }
  ceres::Solver::Summary summary;
  ceres::Solve(TightSolverOptions(), &problem, &summary);
  RETURN_IF_ERROR(CheckConverged(summary, what));

  PowerLawFit fit;
  fit.exponent = params[1];
  fit.coef = std::exp(params[0] - params[1] * mean_log_x);
  fit.points = static_cast<int>(x.size());
  std::vector<double> predicted(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    predicted[i] = params[0] + params[1] * (log_x[i] - mean_log_x);
  const FitQuality q = Quality(log_y, predicted);
  fit.rms_log = q.rms;
  fit.r2_log = q.r2;
  return fit;
}

}  // namespace flopwise::fitting
