// A study's checkpoint evaluations as the report reads them: one row per
// (checkpoint, task, metric), and the heatmap figures the evaluator drew.
// Plain data with no source attached: the coordinator's eval storage, an
// export file or a test builds it; the report sections
// (fitting/report_evaluation.h, fitting/report_paper_comparison.h) and the
// downstream figure (plot/evaluation_figures.h) render from it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flopwise::fitting {

struct EvaluationRow {
  std::string arch;
  std::string run;
  double n_params = 0;  // non-embedding, as in CheckpointRecord
  int64_t step = 0;     // the checkpoint's optimizer step
  double tokens = 0;    // training tokens at the checkpoint
  double flops = 0;     // training FLOPs at the checkpoint
  // The evaluator's task and metric names (docs/evaluation.md): task
  // validation, needle-easy, needle-standard, brown-continuation or a task
  // file's name; metric loss, bits_per_byte, weighted_average_accuracy,
  // niah_score, acc, acc_norm (others are kept and not shown).
  std::string task;
  std::string metric;
  double value = 0;
};

// A figure of one checkpoint's task (a needle heatmap), by its path relative
// to the report's folder, without extension: the report links <path>.png and
// <path>.svg.
struct EvaluationFigure {
  std::string arch;
  std::string run;
  int64_t step = 0;
  std::string task;
  std::string path;
};

struct StudyEvaluation {
  std::vector<EvaluationRow> rows;
  std::vector<EvaluationFigure> heatmaps;
};

}  // namespace flopwise::fitting
