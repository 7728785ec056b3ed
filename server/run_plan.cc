#include "server/run_plan.h"

#include <nlohmann/json.hpp>

#include "base/str_cat.h"

namespace flopwise::server {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(
    RunPlan, index_in_sweep, name, grid, arch, preset, layers, d_model, heads, head_dim, ffn_dim,
    vocab, context, gate_rank, tpe_dim, tpe_variant, scaled_residual_init, norm_affine, v_act,
    lrpe_variant, batch_tokens, grad_accum, total_tokens, lr, weight_decay, beta1, beta2, min_lr,
    schedule, warmup_tokens, seed, data_path, checkpoint_every_tokens, checkpoint_keep_last,
    log_every_steps, eval_tasks, eval_every_checkpoint, params_non_embedding, params_embedding,
    flops_per_token, estimated_flops, estimated_memory_bytes, cpu_cores, gpus, memory_bytes,
    priority, max_attempts)

std::string RunPlanToJson(const RunPlan& plan) { return nlohmann::json(plan).dump(); }

absl::StatusOr<RunPlan> RunPlanFromJson(std::string_view json) {
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InvalidArgumentError("config_json: not a JSON object");
  }
  try {
    return parsed.get<RunPlan>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(Cat("config_json: ", e.what()));
  }
}

}  // namespace flopwise::server
