// What a run's plan allows its worker to report (docs/api.md, "Limits of
// worker reports"). The trainer runs ceil(total_tokens / batch_tokens)
// optimizer steps of batch_tokens tokens each, so its last step reports
// steps × batch_tokens tokens: the budget rounded up to a whole batch.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "server/run_plan.h"

namespace flopwise::server {

// The step and tokens of a run's last optimizer step.
struct PlannedEnd {
  int64_t step = 0;
  int64_t tokens = 0;
};
PlannedEnd PlannedEndOf(const RunPlan& plan);

// InvalidArgument naming `field`.step or `field`.tokens (`rows[2].step: 17 is
// beyond the run's plan (16 steps of 4096 tokens)`) when a report goes past
// the run's last step.
absl::Status CheckWithinPlan(const RunPlan& plan, std::string_view field, int64_t step,
                             int64_t tokens);

// FailedPrecondition saying which step run `run_id` reached and which it
// needs, unless `reached_tokens` (of its newest reported metric row or
// checkpoint) reaches the plan's total_tokens.
absl::Status CheckReachedEnd(const RunPlan& plan, int64_t run_id, int64_t reached_step,
                             int64_t reached_tokens);

}  // namespace flopwise::server
