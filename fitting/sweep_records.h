// A sweep's checkpoints as fitting records: the one rule the coordinator's
// fits (server/fit_inputs.h) and `flopwise plot --sweep` (client/) follow.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fitting/fit.h"

namespace flopwise::fitting {

// One effective checkpoint of a sweep's run, as the coordinator stores it.
struct SweepCheckpoint {
  std::string arch;                            // the run's architecture key ("llama")
  std::string run;                             // the run's name
  int64_t params_non_embedding = 0;            // the run's N (paper formula, models/accounting.h)
  int64_t tokens = 0;                          // as the trainer reported them
  double flops = 0;                            // training FLOPs so far
  double loss = 0;                             // training loss, nats per token
  double validation_loss = kNoValidationLoss;  // the trainer's, nats per token
};

// The record: arch, run, n_params = the non-embedding parameters, tokens,
// flops, loss and validation_loss (NaN when none ran; it does not decide
// whether the checkpoint is kept). nullopt when tokens, flops or loss is not positive and
// finite (a step-0 checkpoint, a diverged loss): such a checkpoint is left out
// of fits, and the caller says how many were.
std::optional<CheckpointRecord> RecordFromCheckpoint(SweepCheckpoint checkpoint);

}  // namespace flopwise::fitting
