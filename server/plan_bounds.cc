#include "server/plan_bounds.h"

#include <algorithm>

#include "base/str_cat.h"

namespace flopwise::server {

PlannedEnd PlannedEndOf(const RunPlan& plan) {
  const int64_t batch = std::max<int64_t>(1, plan.config().batch_tokens());
  const int64_t steps = (plan.config().total_tokens() + batch - 1) / batch;
  return PlannedEnd{steps, steps * batch};
}

absl::Status CheckWithinPlan(const RunPlan& plan, std::string_view field, int64_t step,
                             int64_t tokens) {
  const PlannedEnd end = PlannedEndOf(plan);
  const std::string limit =
      Cat(" is beyond the run's plan (", end.step, " steps, ", end.tokens, " tokens)");
  if (step > end.step) return absl::InvalidArgumentError(Cat(field, ".step: ", step, limit));
  if (tokens > end.tokens) {
    return absl::InvalidArgumentError(Cat(field, ".tokens: ", tokens, limit));
  }
  return absl::OkStatus();
}

absl::Status CheckReachedEnd(const RunPlan& plan, int64_t run_id, int64_t reached_step,
                             int64_t reached_tokens) {
  if (reached_tokens >= plan.config().total_tokens()) return absl::OkStatus();
  const PlannedEnd end = PlannedEndOf(plan);
  return absl::FailedPreconditionError(
      Cat("run ", run_id, " reached step ", reached_step, " (", reached_tokens,
          " tokens) but completing it needs step ", end.step, " (", end.tokens,
          " tokens): report the final step's metrics or checkpoint first"));
}

}  // namespace flopwise::server
