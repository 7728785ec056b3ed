#include "worker/train/options.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "comm/local_endpoint.h"
#include "runspec/model_shape.h"
#include "worker/train/device.h"

namespace flopwise::train {
namespace {

namespace v1 = ::flopwise::v1;

// A models:: error "field_name: reason" restated for the command line as
// "--field-name: reason".
absl::Status FlagError(const absl::Status& status) {
  std::string message(status.message());
  const size_t colon = message.find(':');
  std::replace(message.begin(), message.begin() + (colon == std::string::npos ? 0 : colon), '_',
               '-');
  return absl::Status(status.code(), absl::StrCat("--", message));
}

// The data-parallel flags on their own (docs/distributed.md).
absl::Status ValidateRankOptions(const TrainOptions& o) {
  if (o.world_size < 1) return absl::InvalidArgumentError("--world-size: must be ≥ 1");
  if (o.rank < 0) return absl::InvalidArgumentError("--rank: must be ≥ 0");
  if (o.rank >= o.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rank: ", o.rank, " is not < --world-size ", o.world_size));
  }
  if (o.world_size > 1 && o.rendezvous.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--rendezvous: required when --world-size is ",
                                                   o.world_size, " (e.g. file:DIR)"));
  }
  if (o.rendezvous_timeout_s <= 0) {
    return absl::InvalidArgumentError("--rendezvous-timeout-s: must be positive");
  }
  return comm::CheckRankEndpointFlags(o.rank_address, o.rank_interface);
}

}  // namespace

absl::StatusOr<models::ModelConfig> ResolveModelConfig(const TrainOptions& o) {
  absl::StatusOr<models::ModelConfig> config = models::ResolveModel(o.model);
  if (!config.ok()) return FlagError(config.status());
  return config;
}

void ApplyRunConfig(const v1::RunConfig& config, TrainOptions* o) {
  o->model = runspec::RequestFromShape(config.model());
  if (!config.data_path().empty()) o->data = config.data_path();
  if (config.batch_tokens() > 0) o->batch_tokens = config.batch_tokens();
  if (config.grad_accum() > 0) o->grad_accum = config.grad_accum();
  if (config.total_tokens() > 0) o->total_tokens = config.total_tokens();
  if (config.lr() > 0) o->lr = config.lr();
  o->weight_decay = config.weight_decay();
  if (config.beta1() > 0) o->beta1 = config.beta1();
  if (config.beta2() > 0) o->beta2 = config.beta2();
  o->schedule = config.schedule() == v1::LR_SCHEDULE_COSINE ? "cosine" : "constant";
  if (config.schedule() == v1::LR_SCHEDULE_COSINE && config.min_lr() > 0 && config.lr() > 0) {
    o->min_lr_ratio = config.min_lr() / config.lr();
  }
  if (config.warmup_tokens() > 0) o->warmup_tokens = config.warmup_tokens();
  o->seed = config.seed();
  if (config.checkpoint_every_tokens() > 0) {
    o->checkpoint_every_tokens = config.checkpoint_every_tokens();
  }
  if (config.checkpoint_keep_last() > 0) o->keep_checkpoints = config.checkpoint_keep_last();
  if (config.log_every_steps() > 0) o->log_every_steps = config.log_every_steps();
  if (config.validation_tokens() > 0) o->validation_tokens = config.validation_tokens();
  if (!config.validation_data().empty()) o->validation_data = config.validation_data();
  if (config.precision() == v1::PRECISION_BF16) o->precision = "bf16";
  if (config.precision() == v1::PRECISION_FP32) o->precision = "fp32";
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
  if (absl::Status s = ValidateRankOptions(o); !s.ok()) return s;
  const int64_t micro = int64_t{c.context} * o.grad_accum;
  if (o.batch_tokens <= 0 || o.batch_tokens % micro != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--batch-tokens: must be a positive multiple of context × grad-accum (", micro,
                     "), got ", o.batch_tokens));
  }
  if (const int64_t sequences = o.batch_tokens / c.context;
      sequences % (int64_t{o.world_size} * o.grad_accum) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--batch-tokens: ", o.batch_tokens, " tokens are ", sequences, " sequences of --context ",
        c.context, " per step, which do not split evenly over --world-size ", o.world_size,
        " × --grad-accum ", o.grad_accum, " (use a multiple of ", micro * o.world_size,
        " tokens)"));
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
  if (o.validation_tokens < 0) {
    return absl::InvalidArgumentError("--validation-tokens: must be ≥ 0 (0: the default)");
  }
  if (o.log_every_steps <= 0)
    return absl::InvalidArgumentError("--log-every-steps: must be positive");
  if (o.min_lr_ratio < 0 || o.min_lr_ratio > 1) {
    return absl::InvalidArgumentError("--min-lr-ratio: must lie in [0, 1]");
  }
  if (absl::Status s = ValidatePrecision(o.precision, o.device); !s.ok()) return s;
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
