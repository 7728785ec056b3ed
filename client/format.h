// Text rendering shared by the CLI's service commands: state names, plus the
// progress bars, short numbers and durations of base/text_format.h.
#pragma once

#include <cstdint>
#include <string>

#include "base/text_format.h"
#include "flopwise/v1/types.pb.h"

namespace flopwise::client {

// One formatter for the CLI and flopwise-train: base/text_format.h.
using ::flopwise::ProgressBar;
using ::flopwise::ShortCount;
using ::flopwise::ShortDuration;

// RUN_STATE_SUCCEEDED -> "succeeded".
std::string RunStateName(::flopwise::v1::RunState state);
std::string SweepStateName(::flopwise::v1::SweepState state);

// Parses "pending", "running", ... back; UNSPECIFIED when unknown.
::flopwise::v1::RunState ParseRunState(const std::string& name);

}  // namespace flopwise::client
