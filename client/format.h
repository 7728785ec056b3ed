// Text rendering shared by the CLI's service commands: progress bars, short
// numbers, durations and state names.
#pragma once

#include <cstdint>
#include <string>

#include "flopwise/v1/types.pb.h"

namespace flopwise::client {

// "[#######.....]  58%" with `width` cells between the brackets; fractions
// outside [0, 1] are clamped.
std::string ProgressBar(double fraction, int width);

// 1234 -> "1.23k", 2.5e9 -> "2.50G", 3e21 -> "3.00e+21" (above 999T).
std::string ShortCount(double value);

// Seconds as "45s", "12m05s", "3h20m"; "-" for a negative (unknown) value.
std::string ShortDuration(double seconds);

// RUN_STATE_SUCCEEDED -> "succeeded".
std::string RunStateName(::flopwise::v1::RunState state);
std::string SweepStateName(::flopwise::v1::SweepState state);

// Parses "pending", "running", ... back; UNSPECIFIED when unknown.
::flopwise::v1::RunState ParseRunState(const std::string& name);

}  // namespace flopwise::client
