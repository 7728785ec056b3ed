// The paper's Figure 2 for a study: downstream accuracy against training
// compute, one panel per accuracy metric of a task (multiple-choice acc and
// acc_norm, the needle's weighted accuracy), one series per architecture
// over every evaluated checkpoint of its runs, and chance as a dashed line.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "fitting/evaluation_rows.h"
#include "plot/scaling_figures.h"

namespace flopwise::plot {

// Series ids: "acc-<arch>" per architecture, "chance" where the task's chance
// level is known. nullopt when the rows hold no accuracy metric.
std::optional<NamedSvg> DownstreamFigure(const fitting::StudyEvaluation& eval);

// Writes DIR/downstream.svg and DIR/downstream.png; returns the stem
// ("downstream"), or "" when there is nothing to draw.
absl::StatusOr<std::string> WriteDownstreamFigure(const fitting::StudyEvaluation& eval,
                                                  const std::string& out_dir);

}  // namespace flopwise::plot
