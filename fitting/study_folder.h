// The whole study in one folder, as `flopwise report` writes it: fit every
// method with a bootstrap, recommend N and D at a few budgets, draw the
// figures, and write report.md and fit.json beside them (docs/fitting.md).
// Library flopwise_fitting_study: the part of fitting that draws through
// plot/ and rounds to the models' presets, apart from the fits themselves.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fitting/evaluation_rows.h"
#include "fitting/fit.h"
#include "fitting/grouping.h"
#include "fitting/side_studies.h"

namespace flopwise::fitting {

struct StudyFolderOptions {
  std::string out_dir;  // created when missing
  std::string title = "Scaling study";
  std::string source;           // a line under the title saying where the data is from
  std::vector<double> budgets;  // in fit.unit; empty: DefaultReportBudgets
  FitOptions fit;
  Grouping grouping;           // which runs are fitted together (fitting/grouping.h)
  StudyEvaluation evaluation;  // checkpoint evaluations; empty: no evaluation section
};

struct StudyFolder {
  FitReport fit;
  SideStudies side_studies;           // the paper's Tables 5 and 6, where the runs have them
  std::vector<BudgetReport> budgets;  // one per budget, in the order asked
  std::string report_path;            // <out_dir>/report.md
  std::vector<std::string> files;     // every file written: figures, report.md, fit.json
};

// Groups `records` (options.grouping), fits them, finds the side studies,
// recommends at each budget (rounded to the models' presets), writes the
// figures (plot/scaling_figures.h; with evaluations also
// plot/evaluation_figures.h's downstream figure), report.md
// (StudyReportMarkdown, the overlay first among its figures) and fit.json
// (FitReportJson) into options.out_dir. Errors: the grouping's, the fit's and
// the recommendation's InvalidArgument; Unavailable naming the folder or the
// file that cannot be written.
absl::StatusOr<StudyFolder> WriteStudyReport(std::span<const CheckpointRecord> records,
                                             const StudyFolderOptions& options);

}  // namespace flopwise::fitting
