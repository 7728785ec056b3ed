#include "server/eval_selection.h"

#include <algorithm>

namespace flopwise::server {

std::optional<db::EvalJobSpec> EvalJobFor(const RunPlan& plan, const db::CheckpointRow& row,
                                          int64_t now_ms) {
  const ::flopwise::v1::EvaluationSpec& evaluation = plan.evaluation();
  if (evaluation.tasks().empty()) return std::nullopt;
  const ::flopwise::v1::RunConfig& config = plan.config();
  bool selected = row.tokens >= config.total_tokens();
  const int64_t every = config.checkpoint_every_tokens();
  if (!selected && evaluation.every_checkpoint() && every > 0) {
    // The trainer's rule: a checkpoint after the step whose tokens crossed a
    // multiple of `every`.
    const int64_t crossed = row.tokens / every;
    const int64_t before = std::max<int64_t>(0, row.tokens - config.batch_tokens()) / every;
    const int64_t k = std::max(1, evaluation.every_k());
    selected = crossed > before && crossed % k == 0;
  }
  if (!selected) return std::nullopt;
  db::EvalJobSpec spec;
  spec.tasks.assign(evaluation.tasks().begin(), evaluation.tasks().end());
  spec.priority = evaluation.priority();
  spec.created_ms = now_ms;
  return spec;
}

}  // namespace flopwise::server
