#include "server/sweep_expand.h"

#include <cmath>
#include <set>
#include <string>
#include <tuple>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "models/accounting.h"
#include "models/config.h"
#include "models/presets.h"

namespace flopwise::server {
namespace {

// Builds the model of one (arch, size, context) cell of a grid with `flags`.
// InvalidArgument is "<size path>.<field>: problem".
absl::StatusOr<models::ModelConfig> ResolveModel(models::Arch arch, const SizeSpec& size,
                                                 const ModelFlagsSpec& flags, int vocab,
                                                 int context) {
  models::ModelConfig config;
  if (!size.preset.empty()) {
    auto preset = models::FindPreset(arch, size.preset, vocab, context);
    if (!preset.ok()) {
      return absl::InvalidArgumentError(Cat(size.preset_path, ": unknown preset '", size.preset,
                                            "' for ", models::ArchName(arch)));
    }
    config = *preset;
  } else {
    config.arch = arch;
    config.vocab = vocab;
    config.context = context;
  }
  // A flag is not part of the model of an architecture it does not name
  // (docs/models.md, "Model flags"): it keeps its default there.
  if (flags.scaled_residual_init) config.scaled_residual_init = *flags.scaled_residual_init;
  if (arch != models::Arch::kLlama && flags.norm_affine) config.norm_affine = *flags.norm_affine;
  if (arch == models::Arch::kTnl && flags.v_act) config.v_act = *flags.v_act;
  if (arch == models::Arch::kCos2) {
    if (flags.tpe_variant) config.tpe_variant = *flags.tpe_variant;
    if (flags.lrpe_variant) config.lrpe_variant = *flags.lrpe_variant;
  }
  const bool shape_changed = size.d_model || size.heads;
  if (size.layers) config.layers = *size.layers;
  if (size.d_model) config.d_model = *size.d_model;
  if (size.heads) config.heads = *size.heads;
  if (size.ffn_dim) config.ffn_dim = *size.ffn_dim;
  if (shape_changed) {
    // Derived widths follow the new head dimension unless given explicitly.
    config.head_dim = 0;
    config.gate_rank = 0;
    config.tpe_dim = 0;
  }
  if (size.head_dim) config.head_dim = *size.head_dim;
  if (size.gate_rank) config.gate_rank = *size.gate_rank;
  if (size.tpe_dim) config.tpe_dim = *size.tpe_dim;
  if (config.heads > 0 && config.d_model % config.heads == 0) models::FillDerivedFields(&config);
  if (absl::Status status = config.Validate(); !status.ok()) {
    return absl::InvalidArgumentError(Cat(size.path, ".", status.message()));
  }
  return config;
}

}  // namespace

std::vector<RunPlan> ExpandSweep(const SweepSpec& spec, SpecProblems* problems) {
  std::vector<RunPlan> runs;
  if (spec.vocab <= 0) return runs;
  size_t cells = 0;
  for (const GridSpec& grid : spec.grids) {
    cells += grid.architectures.size() * grid.sizes.size() * grid.contexts.size();
  }
  if (cells > kMaxRunsPerSweep) {
    problems->Add("spec", Cat("expands to ", cells, " runs; the limit is ", kMaxRunsPerSweep));
    return runs;
  }
  std::set<std::string> names;
  // (arch, shape, model flags, context, tokens, batch) of every run kept, to
  // drop duplicates.
  std::set<std::tuple<std::string, int, int, int, int, int, int, int, std::string, bool, bool,
                      std::string, std::string, int, int64_t, int64_t>>
      seen;
  std::set<std::string> reported;  // each problem once, though several cells share a size
  for (const GridSpec& grid : spec.grids) {
    if (grid.batch_tokens <= 0 || (!grid.tokens && !grid.tokens_per_param)) continue;
    for (const std::string& arch_name : grid.architectures) {
      const absl::StatusOr<models::Arch> arch = models::ParseArch(arch_name);
      if (!arch.ok()) continue;  // reported by the parser
      for (const SizeSpec& size : grid.sizes) {
        if (!size.complete) continue;
        for (int context : grid.contexts) {
          auto config = ResolveModel(*arch, size, grid.model, spec.vocab, context);
          if (!config.ok()) {
            const std::string problem(config.status().message());
            if (reported.insert(problem).second) problems->Add("", problem);
            continue;
          }
          RunPlan plan;
          plan.grid = grid.name;
          plan.arch = arch_name;
          plan.preset = size.preset;
          plan.layers = config->layers;
          plan.d_model = config->d_model;
          plan.heads = config->heads;
          plan.head_dim = config->head_dim;
          plan.ffn_dim = config->ffn_dim;
          plan.vocab = config->vocab;
          plan.context = config->context;
          plan.gate_rank = config->gate_rank;
          plan.tpe_dim = config->tpe_dim;
          plan.tpe_variant = std::string(models::TpeVariantName(config->tpe_variant));
          plan.scaled_residual_init = config->scaled_residual_init;
          plan.norm_affine = config->norm_affine;
          plan.v_act = std::string(models::VActName(config->v_act));
          plan.lrpe_variant = std::string(models::LrpeVariantName(config->lrpe_variant));
          plan.params_non_embedding = models::NonEmbeddingParamsFormula(*config);
          plan.params_embedding = models::EmbeddingParams(*config);
          plan.flops_per_token = models::TrainFlopsPerTokenFormula(*config);
          plan.batch_tokens = grid.batch_tokens;
          plan.grad_accum = spec.grad_accum;
          if (grid.tokens) {
            plan.total_tokens = *grid.tokens;
          } else {
            // Whole optimizer steps, at least one.
            const double wanted = *grid.tokens_per_param * plan.params_non_embedding;
            const int64_t steps =
                std::max<int64_t>(1, std::llround(wanted / static_cast<double>(grid.batch_tokens)));
            plan.total_tokens = steps * grid.batch_tokens;
          }
          plan.lr = spec.optimizer.lr;
          plan.weight_decay = spec.optimizer.weight_decay;
          plan.beta1 = spec.optimizer.beta1;
          plan.beta2 = spec.optimizer.beta2;
          plan.min_lr = spec.optimizer.min_lr;
          plan.schedule = spec.optimizer.schedule;
          plan.warmup_tokens = spec.optimizer.warmup_tokens;
          plan.seed = spec.seed;
          plan.data_path = spec.data_path;
          plan.checkpoint_every_tokens = spec.checkpoint_every_tokens;
          plan.checkpoint_keep_last = spec.checkpoint_keep_last;
          plan.log_every_steps = spec.log_every_steps;
          plan.eval_tasks = spec.evaluation.tasks;
          plan.eval_every_checkpoint = spec.evaluation.every_checkpoint;
          plan.estimated_flops = plan.flops_per_token * static_cast<double>(plan.total_tokens);
          plan.estimated_memory_bytes = models::EstimateTrainMemoryBytes(
              *config, grid.batch_tokens / spec.grad_accum, spec.resources.cpu_cores);
          plan.cpu_cores = spec.resources.cpu_cores;
          plan.gpus = spec.resources.gpus;
          plan.memory_bytes = std::max(plan.estimated_memory_bytes, spec.resources.memory_bytes);
          plan.priority = spec.priority;
          plan.max_attempts = spec.max_attempts;
          if (!seen.insert({plan.arch, plan.layers, plan.d_model, plan.heads, plan.head_dim,
                            plan.ffn_dim, plan.gate_rank, plan.tpe_dim, plan.tpe_variant,
                            plan.scaled_residual_init, plan.norm_affine, plan.v_act,
                            plan.lrpe_variant, plan.context, plan.total_tokens, plan.batch_tokens})
                   .second) {
            continue;
          }
          plan.name = Cat(arch_name, "-", size.label, "-ctx", context);
          if (names.contains(plan.name)) plan.name = Cat(plan.name, "-", grid.name);
          for (int suffix = 2; names.contains(plan.name); ++suffix) {
            plan.name =
                Cat(arch_name, "-", size.label, "-ctx", context, "-", grid.name, "-", suffix);
          }
          names.insert(plan.name);
          plan.index_in_sweep = static_cast<int>(runs.size());
          runs.push_back(std::move(plan));
        }
      }
    }
  }
  return runs;
}

absl::StatusOr<std::vector<RunPlan>> ExpandSweep(const SweepSpec& spec) {
  SpecProblems problems;
  std::vector<RunPlan> runs = ExpandSweep(spec, &problems);
  RETURN_IF_ERROR(problems.ToStatus());
  return runs;
}

absl::StatusOr<CompiledSweep> CompileSweep(std::string_view yaml_text) {
  SpecProblems problems;
  CompiledSweep compiled;
  compiled.spec = ParseSweepSpec(yaml_text, &problems);
  compiled.runs = ExpandSweep(compiled.spec, &problems);
  RETURN_IF_ERROR(problems.ToStatus());
  return compiled;
}

}  // namespace flopwise::server
