// Options of one training run (`flopwise-train`, docs/training.md).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flopwise/v1/types.pb.h"
#include "models/config.h"
#include "models/model_request.h"

namespace flopwise::train {

enum class Schedule { kConstant, kCosine };

struct TrainOptions {
  // Model: a preset, optionally overridden field by field, and model flags.
  models::ModelRequest model;
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
  std::string device = "cpu";  // cpu, cuda or cuda:N (worker/train/device.h)
  // fp32, or bf16 on a CUDA device: bf16 GEMMs, everything else (weights,
  // optimizer state, checkpoints) fp32 (worker/train/device.h).
  std::string precision = "fp32";
  uint64_t seed = 1;
  int64_t checkpoint_every_tokens = 0;  // 0: only the final checkpoint
  int keep_checkpoints = 0;             // newest checkpoint directories kept on disk (0: all)
  // >= 0: resume from the newest checkpoint at or below this step (0: from
  // scratch), ignoring newer folders; -1: from the newest in `out`.
  int64_t resume_step = -1;
  // How long to wait for another trainer that still holds `out` (a stopping
  // trainer of an earlier attempt finishes its step and checkpoint first).
  int out_wait_s = 600;
  int log_every_steps = 10;
  // Validation at every checkpoint (docs/training.md "Validation").
  bool validate = true;
  int64_t validation_tokens = 0;  // 0: CheckpointValidationTokens (≤ 5% of the compute)
  std::string validation_data;    // "": the validation split beside `data`
  std::string out;
  int threads = 0;  // 0: every available core
  // Data parallelism (docs/distributed.md): this process is rank `rank` of
  // `world_size`, meeting the others through the `rendezvous` store
  // ("file:DIR"; required when world_size > 1).
  int world_size = 1;
  int rank = 0;
  std::string rendezvous;
  int64_t rendezvous_timeout_s = 300;  // rendezvous and every collective
  // Where this rank's transport listens and what it tells its peers: an IP
  // address of this host, or a network interface; neither: 127.0.0.1 (all
  // ranks on one host). At most one of the two.
  std::string rank_address;
  std::string rank_interface;
  // All-reduce each bucket of gradients while the backward pass goes on (CPU
  // ranks; false: after the pass). Either way the same sums, to the bit.
  bool overlap_grad_reduce = true;
};

// The model config the options describe (preset + overrides), validated;
// InvalidArgument/NotFound name the flag at fault.
absl::StatusOr<models::ModelConfig> ResolveModelConfig(const TrainOptions& options);

// Sets the options a run config describes (its model and training fields; a
// zero field keeps the option's default, docs/training.md), `precision`
// included. `out`, `threads` and `device` are not part of a run config.
void ApplyRunConfig(const ::flopwise::v1::RunConfig& config, TrainOptions* options);

// Checks the non-model options (InvalidArgument naming the flag), the
// data-parallel ones included: every global batch must split into
// world_size × grad_accum equal micro-batches of whole sequences.
absl::Status ValidateTrainOptions(const TrainOptions& options, const models::ModelConfig& config);

absl::StatusOr<Schedule> ParseSchedule(const std::string& name);

// Learning rate at `step` (1-based) of a run of `total_steps`: linear warmup
// over warmup_steps, then constant or cosine decay to min_lr_ratio·lr.
double LearningRate(const TrainOptions& options, Schedule schedule, int64_t step,
                    int64_t total_steps, int64_t warmup_steps);

}  // namespace flopwise::train
