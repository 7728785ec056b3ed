// The fitting module's results as flopwise.v1 messages. Non-finite numbers
// never reach a message: a value that is not finite becomes 0 (with its
// has_interval flag false, or the law left out).
#pragma once

#include "absl/status/statusor.h"
#include "fitting/fit.h"
#include "flopwise/v1/user_service.pb.h"

namespace flopwise::server {

v1::ComputeUnit ComputeUnitToProto(fitting::ComputeUnit unit);

// Every law each method fitted (paper, approach2, approach3 in that order),
// with the coefficients' intervals, quality, holdout checks, errors and warnings.
void ArchFitToProto(const fitting::ArchFit& fit, const fitting::FitReport& report,
                    v1::ArchitectureFit* out);

// Fills recommendations (grouped by method, best predicted loss first),
// winners and best_arch (the first winner).
void BudgetReportToProto(const fitting::BudgetReport& budget, v1::QueryOptimalResponse* out);

// InvalidArgument naming `field` (e.g. "shapes[2]") for an unknown
// architecture or a non-positive n_params.
absl::StatusOr<fitting::ShapeOption> ShapeFromProto(const v1::ShapeOption& shape,
                                                    const std::string& field);

}  // namespace flopwise::server
