// Reading a study's checkpoint evaluations from export files for the offline
// report (`flopwise report --evals`): the rows of `flopwise export --what
// evals --format csv` joined to the checkpoints of `flopwise export --what
// checkpoints --format csv` (docs/fitting.md, "Evaluation").
//
// Evals CSV: a header naming at least run, step, task, metric, value and text;
// a row with an empty value is a text row (a figure's path for metric
// figure[i], else ignored). Checkpoints CSV: at least run, arch, n_params (or
// params_non_embedding), step, tokens and flops; validation_loss,
// validation_bits_per_byte and superseded are optional. Blank lines and lines
// starting with '#' are skipped; other columns are ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fitting/evaluation_rows.h"

namespace flopwise::fitting {

// Each eval row takes its checkpoint's (same run and step, superseded ones
// left out) arch, n_params, tokens and flops; each run's last checkpoint with
// a validation loss adds rows of task "validation", metrics "loss" and
// "bits_per_byte". A figure row becomes a heatmap whose path is the figure's
// path without its extension, as written. Errors name the source, line and
// column, e.g. "evals.csv:7: column 'step' (6): not a number: 'x'", or the
// eval row whose checkpoint is missing.
absl::StatusOr<StudyEvaluation> ParseEvaluation(std::string_view evals_text,
                                                std::string_view evals_source,
                                                std::string_view checkpoints_text,
                                                std::string_view checkpoints_source);

// Reads both files and parses them. NotFound when one cannot be opened.
absl::StatusOr<StudyEvaluation> ReadEvaluationFiles(const std::string& evals_path,
                                                    const std::string& checkpoints_path);

// Copies each heatmap's .svg and .png into <out_dir>/heatmaps/ (named
// <arch>-<run>-<task>-step-<step>) and sets its path relative to out_dir, as
// the report links it. A heatmap with neither file is dropped; its path is
// returned so the caller can say so. Unavailable when a copy fails.
absl::StatusOr<std::vector<std::string>> PlaceHeatmaps(StudyEvaluation& evaluation,
                                                       const std::string& out_dir);

}  // namespace flopwise::fitting
