// Options of one training run (`flopwise-train`, docs/training.md).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/config.h"

namespace flopwise::train {

enum class Schedule { kConstant, kCosine };

struct TrainOptions {
  // Model: a preset, optionally overridden field by field (0 = keep).
  std::string arch;
  std::string preset;
  int layers = 0, d_model = 0, heads = 0, ffn_dim = 0, gate_rank = 0, tpe_dim = 0;
  std::string tpe_variant = "ssm";
  bool scaled_residual_init = false;
  bool norm_affine = false;                  // tnl, hgrn2, cos2
  std::string v_act = "none";                // tnl
  std::string lrpe_variant = "transnormer";  // cos2
  int vocab = 0;
  int context = 0;
  // Data and batch.
  std::string data;
  int64_t batch_tokens = 0;  // tokens per optimizer step
  int grad_accum = 1;        // micro-steps per optimizer step
  int64_t total_tokens = 0;
  // Optimizer.
  double lr = 3e-4;
  double weight_decay = 0.1;
  double beta1 = 0.9, beta2 = 0.95;
  double grad_clip = 1.0;  // global-norm clipping; ≤ 0 disables
  std::string schedule = "constant";
  int64_t warmup_tokens = 0;
  double min_lr_ratio = 0.1;  // cosine floor as a fraction of lr
  // Run.
  uint64_t seed = 1;
  int64_t checkpoint_every_tokens = 0;  // 0: only the final checkpoint
  int keep_checkpoints = 0;             // newest checkpoint directories kept on disk (0: all)
  int log_every_steps = 10;
  std::string out;
  int threads = 0;  // 0: every available core
};

// The model config the options describe (preset + overrides), validated;
// InvalidArgument/NotFound name the flag at fault.
absl::StatusOr<models::ModelConfig> ResolveModelConfig(const TrainOptions& options);

// Checks the non-model options (InvalidArgument naming the flag).
absl::Status ValidateTrainOptions(const TrainOptions& options, const models::ModelConfig& config);

absl::StatusOr<Schedule> ParseSchedule(const std::string& name);

// Learning rate at `step` (1-based) of a run of `total_steps`: linear warmup
// over warmup_steps, then constant or cosine decay to min_lr_ratio·lr.
double LearningRate(const TrainOptions& options, Schedule schedule, int64_t step,
                    int64_t total_steps, int64_t warmup_steps);

}  // namespace flopwise::train
