// Runs the flopwise-train binary of this build (FLOPWISE_TRAIN_BIN) with
// `args`, its stdout and stderr together in `out`: the CUDA flag tests' helper.
#pragma once

#include <string>

#include "tests/run_command.h"

namespace flopwise::train {

using Result = ::flopwise::testing::CommandResult;

inline Result RunTrainBinary(const std::string& args) {
  return ::flopwise::testing::RunCommand(std::string(FLOPWISE_TRAIN_BIN) + " " + args + " 2>&1");
}

}  // namespace flopwise::train
