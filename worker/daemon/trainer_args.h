// The flopwise-train command line of one leased run (docs/training.md).
#pragma once

#include <string>
#include <vector>

#include "flopwise/v1/types.pb.h"

namespace flopwise::workerd {

// argv[0] is `trainer_path`; `run_dir` becomes --out and `threads` --threads.
// Zero-valued optional fields of the config and model flags at their defaults
// are left out (the trainer's defaults apply). min_lr becomes --min-lr-ratio
// (min_lr / lr, cosine only).
std::vector<std::string> TrainerArgv(const std::string& trainer_path,
                                     const ::flopwise::v1::RunConfig& config,
                                     const std::string& run_dir, int threads);

}  // namespace flopwise::workerd
