// The paper's method (private to fitting/): the loss envelope over runs and
// the three power laws L(C), N_opt(C), D_opt(C) fitted on it.
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "fitting/curves.h"
#include "fitting/fit.h"

namespace flopwise::fitting {

// For each of `grid_points` log-spaced compute values spanning the runs'
// range, the minimum over runs of the loss interpolated in log C (a run takes
// part only inside its own compute range), with the run attaining it and that
// run's tokens at C. Grid values no run covers are skipped. kPaper keeps every
// such point; kPareto keeps only those on the frontier (ParetoFrontier).
std::vector<EnvelopePoint> ComputeEnvelope(std::span<const RunCurve> runs, int grid_points,
                                           EnvelopeKind kind = EnvelopeKind::kPareto);

// The points of `points` (sorted by increasing compute) that no point of
// lower or equal compute beats with a strictly lower loss: a non-increasing
// loss sequence. Ties in loss are all kept.
std::vector<EnvelopePoint> ParetoFrontier(std::vector<EnvelopePoint> points);

// Envelope plus L(C) = coef*C^exp, N_opt(C), D_opt(C), each fitted
// independently (C = 6ND is not imposed). InvalidArgument when the runs have
// fewer than 2 model sizes or the envelope has fewer than 2 points.
absl::StatusOr<PaperFit> FitPaperMethod(std::span<const RunCurve> runs, int grid_points,
                                        EnvelopeKind kind = EnvelopeKind::kPareto);

}  // namespace flopwise::fitting
