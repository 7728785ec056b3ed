// Ceres settings shared by every fit in fitting/ (private to fitting/).
#pragma once

#include <ceres/ceres.h>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace flopwise::fitting {

// Levenberg-Marquardt, dense QR, tolerances near machine precision, silent,
// one thread (bootstrap parallelism, if any, belongs to the caller).
ceres::Solver::Options TightSolverOptions();

// OK when Ceres reports CONVERGENCE; otherwise FailedPrecondition naming
// `what` and Ceres's termination message. A fit is never assumed converged.
absl::Status CheckConverged(const ceres::Solver::Summary& summary, absl::string_view what);

}  // namespace flopwise::fitting
