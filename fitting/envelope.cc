#include "fitting/envelope.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "fitting/power_law.h"

namespace flopwise::fitting {

std::vector<EnvelopePoint> ParetoFrontier(std::vector<EnvelopePoint> points) {
  std::vector<EnvelopePoint> frontier;
  double lowest = std::numeric_limits<double>::infinity();
  for (EnvelopePoint& p : points) {
    if (p.loss > lowest) continue;  // a point of lower compute reached a lower loss
    lowest = p.loss;
    frontier.push_back(std::move(p));
  }
  return frontier;
}

std::vector<EnvelopePoint> ComputeEnvelope(std::span<const RunCurve> runs, int grid_points,
                                           EnvelopeKind kind) {
  std::vector<EnvelopePoint> envelope;
  if (runs.empty()) return envelope;
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const RunCurve& r : runs) {
    lo = std::min(lo, r.compute.front());
    hi = std::max(hi, r.compute.back());
  }
  const std::vector<double> grid =
      lo < hi ? LogSpacedGrid(lo, hi, std::max(grid_points, 2)) : std::vector<double>{lo};
  for (double c : grid) {
    const RunCurve* best = nullptr;
    double best_loss = std::numeric_limits<double>::infinity();
    for (const RunCurve& r : runs) {
      if (c < r.compute.front() || c > r.compute.back()) continue;
      const double loss = InterpolateLogLog(r.compute, r.loss, c);
      if (loss < best_loss) {
        best_loss = loss;
        best = &r;
      }
    }
    if (best == nullptr) continue;
    envelope.push_back({.compute = c,
                        .loss = best_loss,
                        .run = best->run,
                        .n_params = best->n_params,
                        .tokens = InterpolateLogLog(best->compute, best->tokens, c)});
  }
  return kind == EnvelopeKind::kPareto ? ParetoFrontier(std::move(envelope)) : envelope;
}

absl::StatusOr<PaperFit> FitPaperMethod(std::span<const RunCurve> runs, int grid_points,
                                        EnvelopeKind kind) {
  const int sizes = DistinctModelSizes(runs);
  if (sizes < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "paper: need runs of at least 2 model sizes to fit N_opt(C) (got ", sizes, ")"));
  }
  PaperFit fit;
  fit.envelope = ComputeEnvelope(runs, grid_points, kind);
  std::vector<double> c, loss, n, d;
  for (const EnvelopePoint& p : fit.envelope) {
    c.push_back(p.compute);
    loss.push_back(p.loss);
    n.push_back(p.n_params);
    d.push_back(p.tokens);
  }
  ASSIGN_OR_RETURN(fit.loss, FitPowerLaw(c, loss, "paper: L(C) on the envelope"));
  ASSIGN_OR_RETURN(fit.n_opt, FitPowerLaw(c, n, "paper: N_opt(C) on the envelope"));
  ASSIGN_OR_RETURN(fit.d_opt, FitPowerLaw(c, d, "paper: D_opt(C) on the envelope"));
  return fit;
}

}  // namespace flopwise::fitting
