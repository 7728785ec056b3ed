#include "fitting/isoflop.h"

#include <ceres/ceres.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "fitting/power_law.h"
#include "fitting/solver.h"
#include "fitting/stats.h"

namespace flopwise::fitting {
namespace {

struct SlicePoint {
  double loss = 0;
  double tokens = 0;
};

// Lowest interpolated loss per model size at compute c (with that run's
// tokens at c), ascending in size.
std::map<double, SlicePoint> SliceAt(std::span<const RunCurve> runs, double c) {
  std::map<double, SlicePoint> by_size;
  for (const RunCurve& r : runs) {
    if (c < r.compute.front() || c > r.compute.back()) continue;
    const SlicePoint p{InterpolateLogLog(r.compute, r.loss, c),
                       InterpolateLogLog(r.compute, r.tokens, c)};
    auto [it, inserted] = by_size.emplace(r.n_params, p);
    if (!inserted && p.loss < it->second.loss) it->second = p;
  }
  return by_size;
}

// ln D regressed on ln N over the slice, read at ln N = log_n.
double TokensAt(const std::vector<double>& log_n, const std::vector<double>& log_d,
                double log_n_at) {
  const double mean_n = Mean(log_n), mean_d = Mean(log_d);
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < log_n.size(); ++i) {
    sxy += (log_n[i] - mean_n) * (log_d[i] - mean_d);
    sxx += (log_n[i] - mean_n) * (log_n[i] - mean_n);
  }
  return std::exp(mean_d + sxy / sxx * (log_n_at - mean_n));
}

enum class SliceVerdict { kUsable, kTooFewSizes, kMinimumAtEdge, kNotConvex };

// Fits the parabola and fills the slice's optimum; returns why it is unusable.
absl::StatusOr<SliceVerdict> FitSlice(const std::map<double, SlicePoint>& by_size,
                                      IsoFlopSlice& slice) {
  if (by_size.size() < 3) return SliceVerdict::kTooFewSizes;
  auto lowest = std::min_element(by_size.begin(), by_size.end(), [](const auto& a, const auto& b) {
    return a.second.loss < b.second.loss;
  });
  if (lowest == by_size.begin() || std::next(lowest) == by_size.end()) {
    return SliceVerdict::kMinimumAtEdge;
  }
  std::vector<double> log_n, log_d;
  for (const auto& [n, point] : by_size) {
    slice.n_params.push_back(n);
    slice.loss.push_back(point.loss);
    log_n.push_back(std::log(n));
    log_d.push_back(std::log(point.tokens));
  }
  const double mean_log_n = Mean(log_n);
  double p[3] = {Mean(slice.loss), 0, 0};
  ceres::Problem problem;
  for (size_t i = 0; i < log_n.size(); ++i) {
    problem.AddResidualBlock(new ceres::AutoDiffCostFunction<ParabolaResidual, 1, 3>(
                                 new ParabolaResidual(log_n[i] - mean_log_n, slice.loss[i])),
                             nullptr, p);
  }
  ceres::Solver::Summary summary;
  ceres::Solve(TightSolverOptions(), &problem, &summary);
  RETURN_IF_ERROR(CheckConverged(summary, "approach2: iso-FLOP parabola"));
  slice.curvature = p[2];
  if (!(p[2] > 0)) return SliceVerdict::kNotConvex;
  const double u_opt = -p[1] / (2 * p[2]);
  if (u_opt + mean_log_n < log_n.front() || u_opt + mean_log_n > log_n.back()) {
    return SliceVerdict::kMinimumAtEdge;
  }
  slice.n_opt = std::exp(u_opt + mean_log_n);
  slice.d_opt = TokensAt(log_n, log_d, u_opt + mean_log_n);
  slice.loss_min = p[0] + p[1] * u_opt + p[2] * u_opt * u_opt;
  return SliceVerdict::kUsable;
}

}  // namespace

absl::StatusOr<Approach2Fit> FitApproach2(std::span<const RunCurve> runs, int levels) {
  Approach2Fit fit;
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const RunCurve& r : runs) {
    lo = std::min(lo, r.compute.front());
    hi = std::max(hi, r.compute.back());
  }
  int too_few = 0, at_edge = 0, not_convex = 0;
  if (!runs.empty() && lo < hi) {
    for (double c : LogSpacedGrid(lo, hi, std::max(levels, 2))) {
      ++fit.levels_tried;
      IsoFlopSlice slice;
      slice.compute = c;
      ASSIGN_OR_RETURN(SliceVerdict verdict, FitSlice(SliceAt(runs, c), slice));
      switch (verdict) {
        case SliceVerdict::kTooFewSizes:
          ++too_few;
          break;
        case SliceVerdict::kMinimumAtEdge:
          ++at_edge;
          break;
        case SliceVerdict::kNotConvex:
          ++not_convex;
          break;
        case SliceVerdict::kUsable:
          fit.slices.push_back(std::move(slice));
          break;
      }
    }
  }
  if (fit.slices.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "approach2: the data has ", fit.slices.size(), " usable iso-FLOP slices (need 2): of ",
        fit.levels_tried, " compute levels tried, ", too_few, " had fewer than 3 model sizes, ",
        at_edge, " had the lowest loss at the smallest or largest size, ", not_convex,
        " were not convex in log N"));
  }
  std::vector<double> c, n, d, loss;
  for (const IsoFlopSlice& s : fit.slices) {
    c.push_back(s.compute);
    n.push_back(s.n_opt);
    d.push_back(s.d_opt);
    loss.push_back(s.loss_min);
  }
  ASSIGN_OR_RETURN(fit.n_opt, FitPowerLaw(c, n, "approach2: N_opt(C) over slice minima"));
  ASSIGN_OR_RETURN(fit.d_opt, FitPowerLaw(c, d, "approach2: D_opt(C) over slice minima"));
  ASSIGN_OR_RETURN(fit.loss, FitPowerLaw(c, loss, "approach2: L(C) over slice minima"));
  return fit;
}

}  // namespace flopwise::fitting
