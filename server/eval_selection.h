// Which checkpoints of a run get an eval job (docs/evaluation.md,
// "Scheduling"): the rule of the run's `evaluation` section.
#pragma once

#include <cstdint>
#include <optional>

#include "db/records.h"
#include "server/run_plan.h"

namespace flopwise::server {

// The eval job the landed checkpoint `row` of the run `plan` gets, or nullopt
// (no `evaluation` section, or the checkpoint is not selected). The trainer
// writes a checkpoint each time its tokens cross a multiple of
// checkpoint_every_tokens; those are numbered 1, 2, ... by the multiple they
// crossed. The final checkpoint (tokens >= total_tokens) is always selected;
// with every_checkpoint, so is every every_k-th numbered one. A checkpoint
// written between multiples (a graceful stop) is not.
std::optional<db::EvalJobSpec> EvalJobFor(const RunPlan& plan, const db::CheckpointRow& row,
                                          int64_t now_ms);

}  // namespace flopwise::server
