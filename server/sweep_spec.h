// The YAML sweep spec (docs/api.md, "Sweep spec"): what a researcher submits.
// Parsing checks types, ranges and names and collects every problem with its
// field path; the model-level checks (shapes, presets) happen in ExpandSweep.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flopwise/v1/types.pb.h"
#include "models/model_flags.h"

namespace flopwise::server {

// One entry of `sizes`: a preset name ("cpu-2", "1B"), optionally with shape
// overrides, or an explicit shape.
struct SizeSpec {
  std::string path;         // field path for errors, e.g. "grids[1].sizes[2]"
  std::string label;        // used in run names: `name`, else the preset, else "L<l>-d<d>"
  std::string preset;       // empty for an explicit shape
  std::string preset_path;  // "sizes[0]" for a bare name, "sizes[0].preset" in a mapping
  std::optional<int> layers, d_model, heads, head_dim, ffn_dim, gate_rank, tpe_dim;
  bool complete = true;  // false when a field of it had a problem: not expanded
};

struct OptimizerSpec {
  double lr = 3e-4;
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  std::string schedule = "constant";  // "constant" or "cosine"
  int64_t warmup_tokens = 0;
  double min_lr = 0;  // cosine floor
};

// Per rank; `replicas` ranks of a data-parallel run (1: one process).
struct ResourceSpec {
  int cpu_cores = 1;
  int gpus = 0;
  int64_t memory_bytes = 0;  // 0: the model's estimate
  int replicas = 1;
};

// One cross product architectures × sizes × contexts with one token budget.
struct GridSpec {
  std::string path;  // "" for the top level, "grids[i]" otherwise
  std::string name;
  std::vector<std::string> architectures;  // "llama", "tnl", "hgrn2", "cos2"
  std::vector<SizeSpec> sizes;
  std::vector<int> contexts;
  std::optional<int64_t> tokens;           // absolute budget per run
  std::optional<double> tokens_per_param;  // budget = ratio × non-embedding params
  int64_t batch_tokens = 0;
  // The `model` mapping: model flags by name (models/model_flags.h), values
  // checked. A grid's keys override the top-level ones, key by key; an
  // architecture ignores the flags that do not name it.
  models::ModelFlagValues model_flags;
};

struct SweepSpec {
  std::string name;
  std::string description;
  int priority = 0;
  int max_attempts = 3;
  uint64_t seed = 1;
  int vocab = 0;
  std::string data_path;  // absolute (server/spec_paths.h)
  int grad_accum = 1;
  int64_t checkpoint_every_tokens = 0;
  int checkpoint_keep_last = 0;  // 0: keep every checkpoint on disk
  int log_every_steps = 10;
  // "fp32" or "bf16" (--precision of every run); bf16 needs resources.gpus.
  std::string precision = "fp32";
  OptimizerSpec optimizer;
  ResourceSpec resources;
  // The `evaluation` section (docs/api.md), absent when the spec has none;
  // its task files are absolute paths.
  // Its priority defaults to the sweep's, so at equal priority training goes
  // first.
  std::optional<::flopwise::v1::EvaluationSpec> evaluation;
  // The top-level architectures/sizes/contexts/budget form one grid when
  // `grids` is absent; otherwise each grid inherits the top-level values it
  // does not set.
  std::vector<GridSpec> grids;
};

// Collects problems as "path: message" lines, in the order found.
class SpecProblems {
 public:
  void Add(std::string_view path, std::string_view message);
  bool empty() const { return lines_.empty(); }
  size_t size() const { return lines_.size(); }
  // InvalidArgument listing every problem, one per line; OK when empty.
  absl::Status ToStatus() const;

 private:
  std::vector<std::string> lines_;
};

// Parses and checks a spec, resolving its relative paths against `base_dir`
// (absolute, or empty when every path must be absolute; server/spec_paths.h).
// InvalidArgument lists every problem, one per line, each as
// `field.path: problem` (e.g. `optimizer.lr: must be in (0, 1]`).
absl::StatusOr<SweepSpec> ParseSweepSpec(std::string_view yaml_text, std::string_view base_dir);

// Parses what it can, adding every problem to `problems`. Values with a
// problem keep their defaults (sizes are marked incomplete).
SweepSpec ParseSweepSpec(std::string_view yaml_text, std::string_view base_dir,
                         SpecProblems* problems);

}  // namespace flopwise::server
