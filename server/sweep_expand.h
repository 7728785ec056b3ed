// Deterministic expansion of a parsed sweep spec into runs.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "server/limits.h"
#include "server/run_plan.h"
#include "server/sweep_spec.h"

namespace flopwise::server {

// Expands every grid in order (architectures, then sizes, then contexts, as
// listed) into runs, resolving presets and validating each model shape.
// The same spec always yields the same runs in the same order; a run identical
// to an earlier one (same model shape and flags, context and budget) is kept
// once (with the grid of each cell that asked for it in RunPlan::grids), and
// a name already taken gets the grid name appended. InvalidArgument
// lists every problem as `field.path: problem` (`sizes[2].d_model: must be
// divisible by heads (8)`, `sizes[0].preset: unknown preset 'cpu-99'`).
absl::StatusOr<std::vector<RunPlan>> ExpandSweep(const SweepSpec& spec);

// As above, adding problems to `problems`; parts of the spec that are
// incomplete (a size with a bad field, a grid without a budget) are skipped.
// A spec of more than `max_runs` cells is a problem, found before expanding.
std::vector<RunPlan> ExpandSweep(const SweepSpec& spec, SpecProblems* problems,
                                 size_t max_runs = kMaxRunsPerSweep);

struct CompiledSweep {
  SweepSpec spec;
  std::vector<RunPlan> runs;
};

// Parses, validates and expands a YAML spec into at most `max_runs` runs
// (the coordinator's --max-runs-per-sweep), its relative paths resolved
// against `base_dir` (see ParseSweepSpec); InvalidArgument lists every
// problem of both stages, one per line.
absl::StatusOr<CompiledSweep> CompileSweep(std::string_view yaml_text, std::string_view base_dir,
                                           size_t max_runs = kMaxRunsPerSweep);

}  // namespace flopwise::server
