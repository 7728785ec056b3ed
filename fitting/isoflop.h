// Chinchilla approach 2, IsoFLOP profiles (private to fitting/).
//
// Slices come from the data: at each of `levels` log-spaced compute values
// spanning the runs' range, every run whose compute range covers the value
// contributes its loss interpolated in log C (checkpoints of a constant-LR
// run stand in for runs trained to that budget, as in the paper). Per model
// size the lowest such loss is kept. A level is a usable slice when it has at
// least 3 model sizes, the lowest loss is at neither the smallest nor the
// largest size, and the parabola loss = c0 + c1 u + c2 u^2 in u = ln N is
// convex with its vertex inside the sizes' range.
#pragma once

#include <span>

#include "absl/status/statusor.h"
#include "fitting/curves.h"
#include "fitting/fit.h"

namespace flopwise::fitting {

// Parabola residual in centred log N. Parameters: p = (c0, c1, c2).
struct ParabolaResidual {
  ParabolaResidual(double u, double loss) : u_(u), loss_(loss) {}
  template <typename T>
  bool operator()(const T* const p, T* residual) const {
    residual[0] = p[0] + p[1] * T(u_) + p[2] * T(u_ * u_) - T(loss_);
    return true;
  }

 private:
  double u_;
  double loss_;
};

// D at a slice's minimum comes from the slice's own points: ln D is regressed
// linearly on ln N across the sizes and read at ln N_opt (no C = kND assumed).
// InvalidArgument, saying how many levels were tried and why they were
// rejected, when fewer than 2 usable slices exist.
absl::StatusOr<Approach2Fit> FitApproach2(std::span<const RunCurve> runs, int levels);

}  // namespace flopwise::fitting
