// A FitReport as JSON and back without loss, for caches of fits (the
// coordinator's `fits` table): every field, doubles bit-exact, NaN and
// infinities included, bootstrap draws kept so that recommendations for any
// budget can be made from a stored fit. Not the document people read; that is
// report.h's FitReportJson.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "fitting/fit.h"

namespace flopwise::fitting {

std::string FitReportToState(const FitReport& fit);

// InvalidArgument saying what is wrong when `state` is not a document of
// FitReportToState (of this version).
absl::StatusOr<FitReport> FitReportFromState(std::string_view state);

}  // namespace flopwise::fitting
