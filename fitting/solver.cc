#include "fitting/solver.h"

#include "absl/strings/str_cat.h"

namespace flopwise::fitting {

ceres::Solver::Options TightSolverOptions() {
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
