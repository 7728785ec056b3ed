// RunPlan: one run of an expanded sweep, everything the scheduler and a worker
// need. Stored in the database as JSON (runs.config_json).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace flopwise::server {

struct RunPlan {
  int index_in_sweep = 0;
  std::string name;  // e.g. "tnl-cpu-2-ctx256"
  std::string grid;  // the grid it came from
  // Model shape (models::ModelConfig fields).
  std::string arch;
  std::string preset;  // empty for an explicit shape
  int layers = 0, d_model = 0, heads = 0, head_dim = 0, ffn_dim = 0, vocab = 0, context = 0;
  int gate_rank = 0, tpe_dim = 0;
  // Model flags (flopwise-train's names and defaults; docs/models.md, "Model
  // flags"): a flag keeps its default for an architecture it does not name.
  std::string tpe_variant = "ssm";  // cos2: ssm or none
  bool scaled_residual_init = false;
  bool norm_affine = false;                  // tnl, hgrn2, cos2
  std::string v_act = "none";                // tnl: none or silu
  std::string lrpe_variant = "transnormer";  // cos2: transnormer or xmixers
  // Training (flopwise-train flags).
  int64_t batch_tokens = 0;
  int grad_accum = 1;
  int64_t total_tokens = 0;
  double lr = 0, weight_decay = 0, beta1 = 0, beta2 = 0, min_lr = 0;
  std::string schedule;
  int64_t warmup_tokens = 0;
  uint64_t seed = 0;
  std::string data_path;
  int64_t checkpoint_every_tokens = 0;
  int checkpoint_keep_last = 0;  // 0: every checkpoint stays on disk
  int log_every_steps = 0;
  std::vector<std::string> eval_tasks;
  bool eval_every_checkpoint = false;
  // Accounting (models/accounting.h).
  int64_t params_non_embedding = 0;  // paper formula: N of the scaling laws
  int64_t params_embedding = 0;
  double flops_per_token = 0;  // paper formula, non-embedding, training
  double estimated_flops = 0;  // flops_per_token × total_tokens
  int64_t estimated_memory_bytes = 0;
  // Scheduling.
  int cpu_cores = 1;
  int gpus = 0;
  int64_t memory_bytes = 0;  // what a worker must have free: max(estimate, requested)
  int priority = 0;
  int max_attempts = 1;
};

std::string RunPlanToJson(const RunPlan& plan);
// InvalidArgument naming the field when the JSON is not a run plan.
absl::StatusOr<RunPlan> RunPlanFromJson(std::string_view json);

}  // namespace flopwise::server
