#include "server/sweep_expand.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "models/accounting.h"
#include "models/config.h"
#include "models/model_request.h"
#include "runspec/model_shape.h"
#include "server/limits.h"

namespace flopwise::server {
namespace {

namespace v1 = ::flopwise::v1;

size_t CountCells(const SweepSpec& spec) {
  size_t cells = 0;
  for (const GridSpec& grid : spec.grids) {
    cells += grid.architectures.size() * grid.sizes.size() * grid.contexts.size();
  }
  return cells;
}

// The model of one (arch, size, context) cell of a grid. InvalidArgument is
// "<size path>.<field>: problem", or "<preset path>: unknown preset ...".
absl::StatusOr<models::ModelConfig> ResolveCell(const std::string& arch, const SizeSpec& size,
                                                const models::ModelFlagValues& flags, int vocab,
                                                int context) {
  models::ModelRequest request;
  request.arch = arch;
  request.preset = size.preset;
  request.layers = size.layers.value_or(0);
  request.d_model = size.d_model.value_or(0);
  request.heads = size.heads.value_or(0);
  request.head_dim = size.head_dim.value_or(0);
  request.ffn_dim = size.ffn_dim.value_or(0);
  request.gate_rank = size.gate_rank.value_or(0);
  request.tpe_dim = size.tpe_dim.value_or(0);
  request.vocab = vocab;
  request.context = context;
  request.flags = flags;
  absl::StatusOr<models::ModelConfig> config = models::ResolveModel(request);
  if (absl::IsNotFound(config.status())) {
    return absl::InvalidArgumentError(
        Cat(size.preset_path, ": unknown preset '", size.preset, "' for ", arch));
  }
  if (!config.ok())
    return absl::InvalidArgumentError(Cat(size.path, ".", config.status().message()));
  return config;
}

// The grid's budget, or tokens_per_param × N in whole optimizer steps (at
// least one); nullopt when that is above kMaxTokens.
std::optional<int64_t> TokenBudget(const GridSpec& grid, int64_t params_non_embedding) {
  if (grid.tokens) return *grid.tokens;
  const double wanted = *grid.tokens_per_param * static_cast<double>(params_non_embedding);
  if (!(wanted <= static_cast<double>(kMaxTokens))) return std::nullopt;
  const int64_t steps =
      std::max<int64_t>(1, std::llround(wanted / static_cast<double>(grid.batch_tokens)));
  return steps * grid.batch_tokens;
}

// What a worker trains: the model and the spec's training settings.
v1::RunConfig MakeRunConfig(const SweepSpec& spec, const GridSpec& grid,
                            const models::ModelConfig& model, const std::string& preset,
                            int64_t total_tokens) {
  v1::RunConfig config;
  runspec::ShapeFromModelConfig(model, preset, config.mutable_model());
  config.set_batch_tokens(grid.batch_tokens);
  config.set_grad_accum(spec.grad_accum);
  config.set_total_tokens(total_tokens);
  config.set_lr(spec.optimizer.lr);
  config.set_weight_decay(spec.optimizer.weight_decay);
  config.set_beta1(spec.optimizer.beta1);
  config.set_beta2(spec.optimizer.beta2);
  config.set_min_lr(spec.optimizer.min_lr);
  config.set_schedule(spec.optimizer.schedule == "cosine" ? v1::LR_SCHEDULE_COSINE
                                                          : v1::LR_SCHEDULE_CONSTANT);
  config.set_warmup_tokens(spec.optimizer.warmup_tokens);
  config.set_seed(spec.seed);
  config.set_data_path(spec.data_path);
  if (spec.resources.replicas > 1) config.set_replicas(spec.resources.replicas);
  config.set_checkpoint_every_tokens(spec.checkpoint_every_tokens);
  config.set_checkpoint_keep_last(spec.checkpoint_keep_last);
  config.set_log_every_steps(spec.log_every_steps);
  // fp32 stays unset (PRECISION_UNSPECIFIED reads as fp32), so fp32 configs
  // are what they were before the field existed.
  if (spec.precision == "bf16") config.set_precision(v1::PRECISION_BF16);
  if (spec.evaluation) config.set_validation_tokens(spec.evaluation->validation_tokens());
  return config;
}

// The run config plus its accounting and what scheduling it needs.
RunPlan MakePlan(const SweepSpec& spec, const GridSpec& grid, const models::ModelConfig& model,
                 const std::string& preset, int64_t total_tokens) {
  RunPlan plan;
  plan.set_params_non_embedding(models::NonEmbeddingParamsFormula(model));
  plan.set_params_embedding(models::EmbeddingParams(model));
  *plan.mutable_config() = MakeRunConfig(spec, grid, model, preset, total_tokens);
  plan.set_estimated_flops(models::TrainFlopsPerTokenFormula(model) *
                           static_cast<double>(total_tokens));
  // Per rank: each rank trains its share of every micro-batch.
  plan.set_estimated_memory_bytes(models::EstimateTrainMemoryBytes(
      model, grid.batch_tokens / spec.grad_accum / spec.resources.replicas,
      spec.resources.cpu_cores));
  v1::Resources* resources = plan.mutable_resources();
  resources->set_cpu_cores(spec.resources.cpu_cores);
  resources->set_gpus(spec.resources.gpus);
  if (spec.resources.replicas > 1) resources->set_replicas(spec.resources.replicas);
  resources->set_memory_bytes(std::max(plan.estimated_memory_bytes(), spec.resources.memory_bytes));
  plan.set_priority(spec.priority);
  plan.set_max_attempts(spec.max_attempts);
  if (spec.evaluation) *plan.mutable_evaluation() = *spec.evaluation;
  return plan;
}

// Two runs are the same run when their model (whatever preset it came from),
// context, budget and batch are.
std::string DedupeKey(const v1::RunConfig& config) {
  v1::ModelShape model = config.model();
  model.clear_preset();
  return Cat(model.SerializeAsString(), "|", config.total_tokens(), "|", config.batch_tokens());
}

// Collects the runs of a sweep cell by cell: drops duplicates, names the rest
// uniquely and reports each model problem once.
class Expansion {
 public:
  Expansion(const SweepSpec& spec, SpecProblems* problems) : spec_(spec), problems_(problems) {}

  void AddCell(const GridSpec& grid, const std::string& arch, const SizeSpec& size, int context) {
    auto model = ResolveCell(arch, size, grid.model_flags, spec_.vocab, context);
    if (!model.ok()) {
      const std::string problem(model.status().message());
      if (reported_.insert(problem).second) problems_->Add("", problem);
      return;
    }
    const std::optional<int64_t> tokens =
        TokenBudget(grid, models::NonEmbeddingParamsFormula(*model));
    if (!tokens) {
      problems_->Add(grid.path.empty() ? "tokens_per_param" : Cat(grid.path, ".tokens_per_param"),
                     Cat("gives ", arch, " ", size.label, " more than ", kMaxTokens,
                         " tokens, the limit of a run"));
      return;
    }
    RunPlan plan = MakePlan(spec_, grid, *model, size.preset, *tokens);
    auto [seen, added] = seen_.emplace(DedupeKey(plan.config()), runs_.size());
    if (!added) {
      RunPlan& earlier = runs_[seen->second];
      if (std::find(earlier.grids().begin(), earlier.grids().end(), grid.name) ==
          earlier.grids().end()) {
        earlier.add_grids(grid.name);
      }
      return;
    }
    plan.set_name(UniqueName(grid, arch, size, context));
    plan.set_index_in_sweep(static_cast<int>(runs_.size()));
    plan.add_grids(grid.name);
    runs_.push_back(std::move(plan));
  }

  std::vector<RunPlan> TakeRuns() { return std::move(runs_); }

 private:
  // "<arch>-<size label>-ctx<context>", with the grid name (and then a
  // number) appended when taken.
  std::string UniqueName(const GridSpec& grid, const std::string& arch, const SizeSpec& size,
                         int context) {
    const std::string base = Cat(arch, "-", size.label, "-ctx", context);
    std::string name = names_.contains(base) ? Cat(base, "-", grid.name) : base;
    for (int suffix = 2; names_.contains(name); ++suffix) {
      name = Cat(base, "-", grid.name, "-", suffix);
    }
    names_.insert(name);
    return name;
  }

  const SweepSpec& spec_;
  SpecProblems* problems_;
  std::vector<RunPlan> runs_;
  std::set<std::string> names_;
  std::map<std::string, size_t> seen_;  // DedupeKey of every run kept -> its index in runs_
  std::set<std::string> reported_;      // several cells share a size: each problem once
};

}  // namespace

std::vector<RunPlan> ExpandSweep(const SweepSpec& spec, SpecProblems* problems, size_t max_runs) {
  if (spec.vocab <= 0) return {};
  if (const size_t cells = CountCells(spec); cells > max_runs) {
    problems->Add("spec", Cat("expands to ", cells, " runs; the coordinator takes at most ",
                              max_runs, " per sweep (--max-runs-per-sweep): split the sweep"));
    return {};
  }
  Expansion expansion(spec, problems);
  for (const GridSpec& grid : spec.grids) {
    if (grid.batch_tokens <= 0 || (!grid.tokens && !grid.tokens_per_param)) continue;
    for (const std::string& arch : grid.architectures) {
      if (!models::ParseArch(arch).ok()) continue;  // reported by the parser
      for (const SizeSpec& size : grid.sizes) {
        if (!size.complete) continue;
        for (int context : grid.contexts) expansion.AddCell(grid, arch, size, context);
      }
    }
  }
  return expansion.TakeRuns();
}

absl::StatusOr<std::vector<RunPlan>> ExpandSweep(const SweepSpec& spec) {
  SpecProblems problems;
  std::vector<RunPlan> runs = ExpandSweep(spec, &problems);
  RETURN_IF_ERROR(problems.ToStatus());
  return runs;
}

absl::StatusOr<CompiledSweep> CompileSweep(std::string_view yaml_text, std::string_view base_dir,
                                           size_t max_runs) {
  SpecProblems problems;
  CompiledSweep compiled;
  compiled.spec = ParseSweepSpec(yaml_text, base_dir, &problems);
  compiled.runs = ExpandSweep(compiled.spec, &problems, max_runs);
  RETURN_IF_ERROR(problems.ToStatus());
  return compiled;
}

}  // namespace flopwise::server
