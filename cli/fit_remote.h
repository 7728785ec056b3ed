// `flopwise fit` and `optimal` with --sweep ID: the coordinator fits the
// sweep's effective checkpoints (FitScalingLaw, QueryOptimal; cached there)
// (client/remote_fit.h) and the CLI prints the same table or JSON as the
// offline mode.
#pragma once

#include "cli/fit_flags.h"

namespace flopwise::cli {

// Prints the coordinator's report (stdout) and warnings about the inputs
// (stderr); with flags.budget set, the recommendations too. Returns the exit code.
int RunRemoteFit(const char* command, const FitFlags& flags);

}  // namespace flopwise::cli
