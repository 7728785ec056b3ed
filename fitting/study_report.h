// The study report a researcher reads after a sweep: one markdown document
// with the runs, the fitted laws per architecture with their intervals, the
// compute-optimal allocation at a few budgets, which architecture wins where,
// the checkpoint evaluations, this study beside the paper's findings, and
// links to the figures. Pure rendering: the caller fits, recommends and
// draws (fitting/fit.h, plot/), then passes the results here.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "fitting/evaluation_rows.h"
#include "fitting/fit.h"
#include "fitting/side_studies.h"

namespace flopwise::fitting {

// A figure already written next to the report, by file stem ("overlay",
// "llama_figure1"); the markdown links <stem>.png and <stem>.svg.
struct ReportFigure {
  std::string stem;
  std::string caption;
};

struct StudyReportInput {
  std::string title;
  std::string source;  // where the records came from, shown under the title
  std::span<const CheckpointRecord> records;
  const FitReport* fit = nullptr;
  std::span<const BudgetReport> budgets;      // one section each, in the given order
  const SideStudies* side_studies = nullptr;  // the paper's Tables 5 and 6; null: none
  std::vector<ReportFigure> figures;
  // Checkpoint evaluations (optional): the evaluation section and the
  // retrieval part of the comparison with the paper. `downstream_figure` is
  // the stem of plot/evaluation_figures.h's figure, empty when not drawn.
  const StudyEvaluation* evaluation = nullptr;
  std::string downstream_figure;
};

// Three budgets that make a useful table for a fit: the geometric middle of
// the data's compute range (inside the sweep), and 10x and 100x its largest
// compute (beyond it), each rounded to one significant digit, in fit.unit.
// Empty when no architecture has a finite compute range.
std::vector<double> DefaultReportBudgets(const FitReport& fit);

// The markdown document. Never prints a non-finite number ("n/a" instead).
std::string StudyReportMarkdown(const StudyReportInput& input);

}  // namespace flopwise::fitting
