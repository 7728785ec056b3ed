#include "fitting/chinchilla.h"

#include <ceres/ceres.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <set>

#include "absl/strings/str_cat.h"
#include "fitting/solver.h"
#include "fitting/stats.h"

namespace flopwise::fitting {
namespace {

double Huber(double r, double delta) {
  const double a = std::abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

absl::Status CheckPoints(std::span<const LogLossPoint> points) {
  if (points.size() < 6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "approach3: need more points than its 5 parameters (got ", points.size(), ")"));
  }
  std::set<double> sizes, tokens;
  for (const LogLossPoint& p : points) {
    sizes.insert(p.log_n);
    tokens.insert(p.log_d);
  }
  if (sizes.size() < 2) {
    return absl::InvalidArgumentError(
        "approach3: all points have the same model size; A and alpha are undetermined");
  }
  if (tokens.size() < 2) {
    return absl::InvalidArgumentError(
        "approach3: all points have the same token count; B and beta are undetermined");
  }
  return absl::OkStatus();
}

double ResidualAt(const LogLossPoint& point, const Approach3Params& p) {
  const Approach3Residual residual_of(point);
  double r = 0;
  residual_of(p.data(), &r);
  return r;
}

}  // namespace

double Approach3Objective(std::span<const LogLossPoint> points, const Approach3Params& p,
                          double huber_delta) {
  double sum = 0;
  for (const LogLossPoint& point : points) sum += Huber(ResidualAt(point, p), huber_delta);
  return sum;
}

absl::StatusOr<Approach3Fit> FitApproach3From(std::span<const LogLossPoint> points,
                                              std::span<const Approach3Params> starts,
                                              double huber_delta) {
  if (absl::Status s = CheckPoints(points); !s.ok()) return s;
  Approach3Params params{};
  ceres::Problem problem;
  problem.AddResidualBlock(
      new ceres::AutoDiffCostFunction<Approach3HuberResiduals, ceres::DYNAMIC, 5>(
          new Approach3HuberResiduals(points, huber_delta), static_cast<int>(points.size())),
      nullptr, params.data());
  const ceres::Solver::Options options = TightSolverOptions();
  Approach3Fit best;
  best.huber_objective = std::numeric_limits<double>::infinity();
  Approach3Params best_params{};
  std::string last_failure;
  for (const Approach3Params& start : starts) {
    params = start;
    ceres::Solver::Summary summary;
    ceres::Solve(options, &problem, &summary);
    ++best.starts_solved;
    if (absl::Status s = CheckConverged(summary, "approach3"); !s.ok()) {
      last_failure = std::string(s.message());
      continue;
    }
    ++best.starts_converged;
    // Ceres's cost is 1/2 sum h(r)^2 = sum Huber_delta(r).
    if (summary.final_cost < best.huber_objective) {
      best.huber_objective = summary.final_cost;
      best_params = params;
    }
  }
  if (best.starts_converged == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "approach3: none of ", best.starts_solved, " starts converged (last: ", last_failure, ")"));
  }
  best.a = std::exp(best_params[0]);
  best.b = std::exp(best_params[1]);
  best.e = std::exp(best_params[2]);
  best.alpha = best_params[3];
  best.beta = best_params[4];
  best.points = static_cast<int>(points.size());
  std::vector<double> observed(points.size()), predicted(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    observed[i] = points[i].log_loss;
    predicted[i] = points[i].log_loss + ResidualAt(points[i], best_params);
  }
  const FitQuality q = Quality(observed, predicted);
  best.rms_log = q.rms;
  best.r2_log = q.r2;
  return best;
}

absl::StatusOr<Approach3Result> FitApproach3(std::span<const LogLossPoint> points,
                                             const Approach3Grid& grid) {
  if (absl::Status s = CheckPoints(points); !s.ok()) return s;
  Approach3Result result;
  std::vector<double> objective;
  for (double a : grid.log_a)
    for (double b : grid.log_b)
      for (double e : grid.log_e)
        for (double alpha : grid.alpha)
          for (double beta : grid.beta) {
            result.ranked_starts.push_back({a, b, e, alpha, beta});
            objective.push_back(
                Approach3Objective(points, result.ranked_starts.back(), grid.huber_delta));
          }
  if (result.ranked_starts.empty()) {
    return absl::InvalidArgumentError("approach3: the starting grid is empty");
  }
  std::vector<size_t> order(objective.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t i, size_t j) { return objective[i] < objective[j]; });
  std::vector<Approach3Params> ranked;
  ranked.reserve(order.size());
  for (size_t i : order) ranked.push_back(result.ranked_starts[i]);
  result.ranked_starts = std::move(ranked);
  const size_t solves =
      std::min(result.ranked_starts.size(), static_cast<size_t>(std::max(grid.solves, 1)));
  auto fit = FitApproach3From(points,
                              std::span<const Approach3Params>(result.ranked_starts.data(), solves),
                              grid.huber_delta);
  if (!fit.ok()) return fit.status();
  result.fit = *fit;
  return result;
}

void Approach3Optimum(const Approach3Fit& fit, double compute_flops, double* n_opt, double* d_opt) {
  const double sum = fit.alpha + fit.beta;
  const double g = std::pow(fit.alpha * fit.a / (fit.beta * fit.b), 1 / sum);
  const double c_over_k = compute_flops / fit.flops_per_param_token;
  *n_opt = g * std::pow(c_over_k, fit.beta / sum);
  *d_opt = std::pow(c_over_k, fit.alpha / sum) / g;
}

double Approach3Loss(const Approach3Fit& fit, double n_params, double tokens) {
  return fit.e + fit.a * std::pow(n_params, -fit.alpha) + fit.b * std::pow(tokens, -fit.beta);
}

}  // namespace flopwise::fitting
