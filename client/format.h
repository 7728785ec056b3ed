// Text rendering shared by the CLI's service commands: state names, plus the
// progress bars, short numbers and durations of base/text_format.h.
#pragma once

#include <cstdint>
#include <string>

#include "base/text_format.h"
#include "flopwise/v1/user_service.pb.h"

namespace flopwise::client {

// One formatter for the CLI and flopwise-train: base/text_format.h.
using ::flopwise::ProgressBar;
using ::flopwise::ShortCount;
using ::flopwise::ShortDuration;

// RUN_STATE_SUCCEEDED -> "succeeded".
std::string RunStateName(::flopwise::v1::RunState state);
std::string SweepStateName(::flopwise::v1::SweepState state);

// A sweep's state as `status` shows it: "active", "cancelled", "completed",
// or "completed with N failed" when N of its runs failed or diverged (counts
// from the coordinator's summary, runs_by_state).
std::string SweepOutcome(const ::flopwise::v1::Sweep& sweep);

// Runs of `sweep` that ended failed or diverged, as its summary counts them.
int FailedRuns(const ::flopwise::v1::Sweep& sweep);

// Whether every run of `sweep` succeeded: it completed and none failed.
bool SweepSucceeded(const ::flopwise::v1::Sweep& sweep);

// The loss a run reported, "%.4f", or "-" before it reported any (no tokens
// trained yet, e.g. pending).
std::string LossText(double loss, int64_t tokens);

// Parses "pending", "running", ... back; UNSPECIFIED when unknown.
::flopwise::v1::RunState ParseRunState(const std::string& name);

}  // namespace flopwise::client
