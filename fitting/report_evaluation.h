// The report's evaluation section: per architecture a table of every run's
// last evaluated checkpoint (validation loss and bits per byte, the needle
// metrics, multiple-choice accuracy), the needle heatmaps of each
// architecture's largest run, and the downstream-accuracy figure.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fitting/evaluation_rows.h"

namespace flopwise::fitting {

// One run's metrics at the last checkpoint evaluated on each task.
struct RunEvaluation {
  std::string arch;
  std::string run;
  double n_params = 0;
  struct Value {
    int64_t step = 0;
    double tokens = 0;
    double value = 0;
  };
  std::map<std::pair<std::string, std::string>, Value> last;  // (task, metric) -> value
};

// Every run in `rows`, sorted by arch, then n_params, then run.
std::vector<RunEvaluation> LastEvaluations(const std::vector<EvaluationRow>& rows);

// The score of guessing for the bundled tasks: needle accuracies 0.5 (the
// true number against 10 others, score / 10), the NIAH score 1/11 (a cell
// succeeds only at 10/10), brown-continuation 0.25 (4 choices). nullopt for
// other tasks (a user's task file: its number of choices is unknown here).
std::optional<double> ChanceLevel(const std::string& task, const std::string& metric);

// Within the margin of chance where one is known: 0.05 for multiple choice
// (about 2 standard errors at the bundled task's 200 documents), 0.1 for the
// needle's accuracies and NIAH score (its grid has only 20 cells).
bool AtChance(const std::string& task, const std::string& metric, double value);

// The "## Evaluation" section; empty when `eval` has no rows. A non-empty
// `downstream_figure` is the stem of the figure of plot/evaluation_figures.h.
std::string EvaluationMarkdown(const StudyEvaluation& eval, const std::string& downstream_figure);

}  // namespace flopwise::fitting
