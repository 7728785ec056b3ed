// How the worker starts `flopwise-train eval` for one eval lease
// (docs/evaluation.md, "Scheduling"), and the checks it makes first.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "flopwise/v1/worker_service.pb.h"

namespace flopwise::workerd {

// {trainer_path, "eval", --checkpoint, --context, --tasks, --figures,
// --threads, and --data, --validation-tokens, --seed, --needle-* when set}.
// The data is the run's validation data, else its data path.
std::vector<std::string> EvalArgv(const std::string& trainer_path,
                                  const ::flopwise::v1::EvalLease& lease,
                                  const std::string& figures_dir, int threads);

// OK when every task file (a task ending in ".jsonl") of the lease can be
// opened for reading; FailedPrecondition "task file PATH: cannot read (...)"
// otherwise.
absl::Status CheckTaskFiles(const ::flopwise::v1::EvalLease& lease);

}  // namespace flopwise::workerd
