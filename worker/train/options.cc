#include "worker/train/options.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "models/presets.h"

namespace flopwise::train {
namespace {

// A models:: error "field_name: reason" restated for the command line as
// "--field-name: reason".
absl::Status FlagError(const absl::Status& status) {
  std::string message(status.message());
  const size_t colon = message.find(':');
  std::replace(message.begin(), message.begin() + (colon == std::string::npos ? 0 : colon), '_',
               '-');
  return absl::Status(status.code(), absl::StrCat("--", message));
}

}  // namespace

absl::StatusOr<models::ModelConfig> ResolveModelConfig(const TrainOptions& o) {
  if (o.arch.empty())
    return absl::InvalidArgumentError("--arch: required (llama, tnl, hgrn2, cos2)");
  auto arch = models::ParseArch(o.arch);
  if (!arch.ok()) return FlagError(arch.status());
  if (o.vocab <= 0) return absl::InvalidArgumentError("--vocab: required and positive");
  if (o.context <= 0) return absl::InvalidArgumentError("--context: required and positive");
  models::ModelConfig c;
  c.arch = *arch;
  c.vocab = o.vocab;
  c.context = o.context;
  if (!o.preset.empty()) {
    auto preset = models::FindPreset(*arch, o.preset, o.vocab, o.context);
    if (!preset.ok()) return FlagError(preset.status());
    c = *preset;
  } else if (o.layers == 0 || o.d_model == 0 || o.heads == 0 || o.ffn_dim == 0) {
    return absl::InvalidArgumentError(
        "--preset: required unless --layers, --d-model, --heads and --ffn-dim are all given");
  }
  auto tpe = models::ParseTpeVariant(o.tpe_variant);
  if (!tpe.ok()) return FlagError(tpe.status());
  c.tpe_variant = *tpe;
  auto v_act = models::ParseVAct(o.v_act);
  if (!v_act.ok()) return FlagError(v_act.status());
  c.v_act = *v_act;
  auto lrpe = models::ParseLrpeVariant(o.lrpe_variant);
  if (!lrpe.ok()) return FlagError(lrpe.status());
  c.lrpe_variant = *lrpe;
  c.scaled_residual_init = o.scaled_residual_init;
  c.norm_affine = o.norm_affine;
  if (o.layers) c.layers = o.layers;
  if (o.d_model || o.heads) {
    if (o.d_model) c.d_model = o.d_model;
    if (o.heads) c.heads = o.heads;
    c.head_dim = 0;
    c.gate_rank = 0;
    c.tpe_dim = 0;
  }
  if (o.ffn_dim) c.ffn_dim = o.ffn_dim;
  if (c.heads > 0 && c.d_model % c.heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--d-model: must be divisible by --heads (", c.heads, ")"));
  }
  if (o.gate_rank) c.gate_rank = o.gate_rank;
  if (o.tpe_dim) c.tpe_dim = o.tpe_dim;
  models::FillDerivedFields(&c);
  if (absl::Status s = c.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("model config: ", s.message()));
  }
  return c;
}

absl::StatusOr<Schedule> ParseSchedule(const std::string& name) {
  if (name == "constant") return Schedule::kConstant;
  if (name == "cosine") return Schedule::kCosine;
  return absl::InvalidArgumentError(
      absl::StrCat("--schedule: unknown schedule '", name, "' (expected constant or cosine)"));
}

absl::Status ValidateTrainOptions(const TrainOptions& o, const models::ModelConfig& c) {
  if (o.data.empty()) return absl::InvalidArgumentError("--data: required");
  if (o.out.empty()) return absl::InvalidArgumentError("--out: required");
  if (o.grad_accum <= 0) return absl::InvalidArgumentError("--grad-accum: must be positive");
  const int64_t micro = int64_t{c.context} * o.grad_accum;
  if (o.batch_tokens <= 0 || o.batch_tokens % micro != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--batch-tokens: must be a positive multiple of context × grad-accum (", micro,
                     "), got ", o.batch_tokens));
  }
  if (o.total_tokens <= 0) return absl::InvalidArgumentError("--total-tokens: must be positive");
  if (!(o.lr > 0)) return absl::InvalidArgumentError("--lr: must be positive");
  if (o.weight_decay < 0) return absl::InvalidArgumentError("--weight-decay: must be ≥ 0");
  if (o.warmup_tokens < 0) return absl::InvalidArgumentError("--warmup-tokens: must be ≥ 0");
  if (o.keep_checkpoints < 0) {
    return absl::InvalidArgumentError("--keep-checkpoints: must be ≥ 0 (0 keeps every checkpoint)");
  }
  if (o.checkpoint_every_tokens < 0) {
    return absl::InvalidArgumentError("--checkpoint-every-tokens: must be ≥ 0");
  }
  if (o.log_every_steps <= 0)
    return absl::InvalidArgumentError("--log-every-steps: must be positive");
  if (o.min_lr_ratio < 0 || o.min_lr_ratio > 1) {
    return absl::InvalidArgumentError("--min-lr-ratio: must lie in [0, 1]");
  }
  return ParseSchedule(o.schedule).status();
}

double LearningRate(const TrainOptions& o, Schedule schedule, int64_t step, int64_t total_steps,
                    int64_t warmup_steps) {
  if (step <= warmup_steps) return o.lr * double(step) / double(warmup_steps);
  if (schedule == Schedule::kConstant) return o.lr;
  const double span = double(std::max<int64_t>(1, total_steps - warmup_steps));
  const double progress = std::min(1.0, double(step - warmup_steps) / span);
  const double floor = o.min_lr_ratio * o.lr;
  return floor + (o.lr - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace flopwise::train
