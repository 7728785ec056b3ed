// The exit statuses of the `flopwise` command, one table for every
// sub-command (docs/operations.md "Exit codes"), and the one an error maps to.
#pragma once

#include "absl/status/status.h"

namespace flopwise::client {

// Done (also --help and --version).
inline constexpr int kExitOk = 0;
// The command failed: the coordinator refused or failed a call (NOT_FOUND,
// PERMISSION_DENIED, FAILED_PRECONDITION, ...), or a file could not be read
// or written.
inline constexpr int kExitFailed = 1;
// Usage: an unknown command or flag, a missing or malformed argument, or input
// refused as invalid (INVALID_ARGUMENT, from the command's own checks or from
// the coordinator's, e.g. a bad sweep spec).
inline constexpr int kExitUsage = 2;
// `status --watch`: a watched sweep ended, but not every run succeeded (runs
// failed or diverged, or the sweep was cancelled).
inline constexpr int kExitSweepFailed = 3;
// The coordinator could not be reached or did not answer in time
// (UNAVAILABLE, DEADLINE_EXCEEDED), or went away during a watch.
inline constexpr int kExitNoCoordinator = 4;
// The coordinator refused the call for one of its limits (RESOURCE_EXHAUSTED:
// too many submissions from this client, too many pending runs); the message
// says when to retry (docs/operations.md "Limits").
inline constexpr int kExitRetryLater = 5;

// kExitUsage for INVALID_ARGUMENT, kExitNoCoordinator for UNAVAILABLE and
// DEADLINE_EXCEEDED, kExitRetryLater for RESOURCE_EXHAUSTED, kExitFailed for
// every other error, kExitOk for OK.
int ExitCodeFor(const absl::Status& status);

}  // namespace flopwise::client
