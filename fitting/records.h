// Reading checkpoint records from CSV or JSON Lines files (offline `flopwise
// fit`; the coordinator builds records from its database instead).
//
// CSV: a header row naming the columns, in any order: arch, run, n_params,
// tokens, flops, loss (required) and the optional n_params_total,
// validation_loss, and the run's settings context, layers, d_model, vocab,
// grid and flags (fitting/grouping.h, side_studies.h); an empty cell is an
// unknown value; other columns are ignored; fields may be double-quoted. JSON Lines: one object per
// line with the same keys (numbers as JSON numbers, grid and flags strings, null for unknown).
// Blank lines and lines starting with '#' are skipped in both. The format is chosen by content: a
// first non-blank character '{' means JSON Lines.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fitting/fit.h"

namespace flopwise::fitting {

// Parses `text`; `source` names it in errors, which give the line and the
// column, e.g. "runs.csv:14: column 'loss' (6): not a number: 'abc'".
absl::StatusOr<std::vector<CheckpointRecord>> ParseRecords(std::string_view text,
                                                           std::string_view source);

// Reads and parses a file. NotFound when it cannot be opened.
absl::StatusOr<std::vector<CheckpointRecord>> ReadRecordsFile(const std::string& path);

// Reads a table of shapes for recommendations, CSV with the header
// arch,name,layers,d_model,heads,n_params[,flops_per_token].
absl::StatusOr<std::vector<ShapeOption>> ReadShapesFile(const std::string& path);

}  // namespace flopwise::fitting
