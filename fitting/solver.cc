#include "fitting/solver.h"

#include <glog/logging.h>

#include "absl/strings/str_cat.h"

namespace flopwise::fitting {
namespace {

// Ceres reports a solve it gave up on through glog at ERROR whatever
// logging_type says ("Terminating: Number of consecutive invalid steps ...",
// with a "Logging before InitGoogleLogging()" banner). The fits report such
// solves themselves (CheckConverged, FitReport warnings), so glog only
// speaks for a fatal error.
void QuietCeresLogging() {
  static const bool quiet = [] {
    FLAGS_minloglevel = google::GLOG_FATAL;
    return true;
  }();
  (void)quiet;
}

}  // namespace

ceres::Solver::Options TightSolverOptions() {
  QuietCeresLogging();
  ceres::Solver::Options options;
  options.minimizer_type = ceres::TRUST_REGION;
  options.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  options.linear_solver_type = ceres::DENSE_QR;
  options.function_tolerance = 1e-15;
  options.gradient_tolerance = 1e-14;
  options.parameter_tolerance = 1e-13;
  options.max_num_iterations = 1000;
  options.use_nonmonotonic_steps = true;  // faster along the flat valleys of L(N, D)
  options.logging_type = ceres::SILENT;
  options.minimizer_progress_to_stdout = false;
  options.num_threads = 1;
  return options;
}

absl::Status CheckConverged(const ceres::Solver::Summary& summary, absl::string_view what) {
  if (summary.termination_type == ceres::CONVERGENCE) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(what, ": Ceres did not converge after ",
                                                    summary.iterations.size(), " iterations (",
                                                    summary.message, ")"));
}

}  // namespace flopwise::fitting
