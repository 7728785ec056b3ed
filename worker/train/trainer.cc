#include "worker/train/trainer.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/backend.h"
#include "models/accounting.h"
#include "models/model.h"
#include "worker/train/checkpoint.h"
#include "worker/train/checkpoint_validation.h"
#include "worker/train/device.h"
#include "worker/train/token_source.h"

namespace flopwise::train {
namespace {

// The process's peak resident set so far, in bytes (0 if unknown).
int64_t PeakRssBytes() {
  struct rusage usage = {};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return int64_t{usage.ru_maxrss} * 1024;  // Linux reports KiB
}

// Optimizer steps of the run: the token budget rounded up to whole batches.
int64_t TotalSteps(const TrainOptions& o) {
  return (o.total_tokens + o.batch_tokens - 1) / o.batch_tokens;
}

class Run {
 public:
  Run(const TrainOptions& options, EventSink* sink) : o_(options), sink_(sink) {}

  int Execute(const std::atomic<bool>* stop_requested);

 private:
  absl::Status Setup();
  // Reads one micro-batch into inputs_/targets_.
  absl::Status NextMicroBatch();
  absl::Status Checkpoint();
  int Fail(const absl::Status& status) {
    sink_->Emit({{"event", "error"}, {"message", std::string(status.message())}});
    return ExitCodeOf(status);
  }
  double flops() const { return double(state_.tokens) * flops_per_token_; }
  int64_t memory_estimate_bytes() const {
    return models::EstimateTrainMemoryBytes(config_, model_->batch_tokens(), backend_->threads());
  }

  const TrainOptions& o_;
  EventSink* sink_;
  models::ModelConfig config_;
  Schedule schedule_ = Schedule::kConstant;
  std::unique_ptr<kernels::Backend> backend_;
  std::unique_ptr<models::Model> model_;
  std::unique_ptr<TokenSource> source_;
  std::unique_ptr<models::Rng> rng_;
  std::unique_ptr<CheckpointValidation> validation_;  // nullptr: none at checkpoints
  TrainState state_;
  int64_t resumed_from_step_ = 0;
  int64_t last_checkpoint_step_ = -1;
  int micro_batch_ = 0;
  double flops_per_token_ = 0.0;
  std::vector<int32_t> sequence_, inputs_, targets_;
};

absl::Status Run::Setup() {
  auto config = ResolveModelConfig(o_);
  if (!config.ok()) return config.status();
  config_ = *config;
  if (absl::Status s = ValidateTrainOptions(o_, config_); !s.ok()) return s;
  schedule_ = *ParseSchedule(o_.schedule);
  micro_batch_ = static_cast<int>(o_.batch_tokens / (int64_t{config_.context} * o_.grad_accum));
  auto backend = MakeDeviceBackend(o_.device, o_.threads);
  if (!backend.ok()) return backend.status();
  backend_ = *std::move(backend);
  auto model = models::Model::Create(config_, micro_batch_, backend_.get());
  if (!model.ok()) return model.status();
  model_ = std::move(*model);
  auto source = TokenSource::Open(o_.data, config_.context, o_.seed);
  if (!source.ok()) return source.status();
  source_ = std::move(*source);
  rng_ = std::make_unique<models::Rng>(o_.seed);
  model_->InitParams(rng_.get());
  // With --resume-step, never past the coordinator's step: a newer folder may
  // hold a checkpoint whose rows it never accepted (a trainer that outlived
  // its lease), and resuming there would leave a gap in the run's metrics.
  const std::optional<int64_t> at_most =
      o_.resume_step >= 0 ? std::optional<int64_t>(o_.resume_step) : std::nullopt;
  if (std::optional<std::string> latest = FindLatestCheckpoint(o_.out, at_most)) {
    if (absl::Status s = LoadCheckpoint(*latest, model_.get(), &state_); !s.ok()) return s;
    if (absl::Status s = source_->Seek(state_.data_position); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(*latest, ": ", s.message()));
    }
    rng_->set_state(state_.rng_state);
    resumed_from_step_ = state_.step;
    last_checkpoint_step_ = state_.step;
  }
  flops_per_token_ = models::TrainFlopsPerTokenFormula(config_);
  auto validation = CheckpointValidation::Open(o_, TotalSteps(o_) * o_.batch_tokens, model_.get());
  if (!validation.ok()) return validation.status();
  validation_ = *std::move(validation);
  const size_t n = static_cast<size_t>(model_->batch_tokens());
  sequence_.resize(config_.context + 1);
  inputs_.resize(n);
  targets_.resize(n);
  return absl::OkStatus();
}

absl::Status Run::NextMicroBatch() {
  const int t = config_.context;
  for (int b = 0; b < micro_batch_; ++b) {
    if (absl::Status s = source_->Next(sequence_); !s.ok()) return s;
    for (int i = 0; i <= t; ++i) {
      if (sequence_[i] < 0 || sequence_[i] >= config_.vocab) {
        return absl::InvalidArgumentError(absl::StrCat(
            "data: token id ", sequence_[i], " in ", o_.data, " is outside the vocabulary [0, ",
            config_.vocab, ") (wrong --vocab or tokenizer?)"));
      }
    }
    std::copy(sequence_.begin(), sequence_.begin() + t, inputs_.begin() + int64_t{b} * t);
    std::copy(sequence_.begin() + 1, sequence_.end(), targets_.begin() + int64_t{b} * t);
  }
  return absl::OkStatus();
}

absl::Status Run::Checkpoint() {
  state_.data_position = source_->position();
  state_.rng_state = rng_->state();
  auto written = WriteCheckpoint(o_.out, *model_, state_);
  if (!written.ok()) return written.status();
  last_checkpoint_step_ = state_.step;
  nlohmann::json event = {{"event", "checkpoint"},
                          {"step", state_.step},
                          {"tokens", state_.tokens},
                          {"flops", flops()},
                          {"loss", state_.loss},
                          {"path", written->path},
                          {"sha256", written->model_sha256},
                          {"validation_tokens", 0}};
  // After the write, so that a kill during validation still leaves the
  // checkpoint on disk.
  if (validation_ != nullptr) {
    auto validation = validation_->Evaluate();
    if (!validation.ok()) return validation.status();
    event["validation_loss"] = validation->loss_nats;
    event["validation_tokens"] = validation->tokens;
    if (validation->bits_per_byte) {
      event["validation_bits_per_byte"] = *validation->bits_per_byte;
    }
  }
  sink_->Emit(event);
  if (o_.keep_checkpoints > 0) {
    // Old checkpoints only cost disk: a failure to remove one is reported, not fatal.
    if (absl::Status s = PruneCheckpoints(o_.out, o_.keep_checkpoints); !s.ok()) {
      std::fprintf(stderr, "flopwise-train: warning: %s\n", std::string(s.message()).c_str());
    }
  }
  return absl::OkStatus();
}

int Run::Execute(const std::atomic<bool>* stop_requested) {
  if (absl::Status s = Setup(); !s.ok()) return Fail(s);
  const int64_t total_steps = TotalSteps(o_);
  const int64_t warmup_steps = (o_.warmup_tokens + o_.batch_tokens - 1) / o_.batch_tokens;
  sink_->Emit({{"event", "start"},
               {"arch", std::string(models::ArchName(config_.arch))},
               {"params_non_embedding", models::NonEmbeddingParamsExact(config_)},
               {"params_embedding", models::EmbeddingParams(config_)},
               {"flops_per_token", flops_per_token_},
               {"total_tokens", total_steps * o_.batch_tokens},
               {"memory_estimate_bytes", memory_estimate_bytes()},
               {"resumed_from_step", resumed_from_step_}});
  models::AdamWOptions adam;
  adam.beta1 = static_cast<float>(o_.beta1);
  adam.beta2 = static_cast<float>(o_.beta2);
  adam.weight_decay = static_cast<float>(o_.weight_decay);
  const float grad_scale = 1.0f / static_cast<float>(o_.batch_tokens);
  auto interval_start = std::chrono::steady_clock::now();
  int64_t interval_tokens = 0;
  for (int64_t step = state_.step + 1; step <= total_steps; ++step) {
    model_->ZeroGrads();
    double loss = 0.0;
    for (int micro = 0; micro < o_.grad_accum; ++micro) {
      if (absl::Status s = NextMicroBatch(); !s.ok()) return Fail(s);
      loss += model_->ForwardBackward(inputs_.data(), targets_.data(), grad_scale);
    }
    loss /= o_.grad_accum;
    const double grad_norm = std::sqrt(model_->GradSquaredNorm());
    if (!std::isfinite(loss) || !std::isfinite(grad_norm)) {
      sink_->Emit(
          {{"event", "diverged"}, {"step", step}, {"loss", std::isnan(loss) ? "nan" : "inf"}});
      return kExitDiverged;
    }
    const double clip =
        o_.grad_clip > 0 && grad_norm > o_.grad_clip ? o_.grad_clip / grad_norm : 1.0;
    const double lr = LearningRate(o_, schedule_, step, total_steps, warmup_steps);
    model_->AdamWStep(adam, static_cast<float>(lr), step, static_cast<float>(clip));
    const int64_t tokens_before = state_.tokens;
    state_.step = step;
    state_.tokens += o_.batch_tokens;
    state_.loss = loss;
    interval_tokens += o_.batch_tokens;
    if (step % o_.log_every_steps == 0 || step == total_steps) {
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - interval_start).count();
      sink_->Emit({{"event", "progress"},
                   {"step", step},
                   {"tokens", state_.tokens},
                   {"flops", flops()},
                   {"loss", loss},
                   {"lr", lr},
                   {"grad_norm", grad_norm},
                   {"tokens_per_s", seconds > 0 ? interval_tokens / seconds : 0.0}});
      interval_start = now;
      interval_tokens = 0;
    }
    const int64_t every = o_.checkpoint_every_tokens;
    if (every > 0 && state_.tokens / every > tokens_before / every && step < total_steps) {
      if (absl::Status s = Checkpoint(); !s.ok()) return Fail(s);
    }
    if (stop_requested != nullptr && stop_requested->load() && step < total_steps) {
      if (last_checkpoint_step_ != step) {
        if (absl::Status s = Checkpoint(); !s.ok()) return Fail(s);
      }
      sink_->Emit({{"event", "stopped"}, {"step", step}});
      return kExitStopped;
    }
  }
  if (last_checkpoint_step_ != state_.step) {
    if (absl::Status s = Checkpoint(); !s.ok()) return Fail(s);
  }
  sink_->Emit({{"event", "done"},
               {"step", state_.step},
               {"tokens", state_.tokens},
               {"flops", flops()},
               {"loss", state_.loss},
               {"peak_rss_bytes", PeakRssBytes()},
               {"memory_estimate_bytes", memory_estimate_bytes()}});
  return kExitDone;
}

}  // namespace

int ExitCodeOf(const absl::Status& status) {
  return absl::IsResourceExhausted(status) ? kExitOutOfMemory : kExitError;
}

int RunTraining(const TrainOptions& options, EventSink* sink,
                const std::atomic<bool>* stop_requested) {
  Run run(options, sink);
  return run.Execute(stop_requested);
}

}  // namespace flopwise::train
