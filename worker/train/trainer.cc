#include "worker/train/trainer.h"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "comm/bucketed_all_reduce.h"
#include "comm/communicator.h"
#include "kernels/backend.h"
#include "kernels/blas_core.h"
#include "models/accounting.h"
#include "models/model.h"
#include "worker/train/checkpoint.h"
#include "worker/train/checkpoint_validation.h"
#include "worker/train/data_parallel.h"
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

// Seconds the gradient all-reduce took in collectives, and of those the
// seconds the training thread waited for it after the backward pass.
struct AllReduceTime {
  double reduce_s = 0.0;
  double wait_s = 0.0;
  // The fraction of the all-reduce time hidden behind the backward pass.
  double overlap() const {
    return reduce_s > 0 ? std::clamp(1.0 - wait_s / reduce_s, 0.0, 1.0) : 0.0;
  }
  void Add(const comm::BucketedAllReduce::StepTiming& step) {
    reduce_s += step.reduce_s;
    wait_s += step.wait_s;
  }
};

class Run {
 public:
  Run(const TrainOptions& options, EventSink* sink) : o_(options), sink_(sink) {}

  int Execute(const std::atomic<bool>* stop_requested);

 private:
  absl::Status Setup();
  // Every rank starts from rank 0's state: its weights (initial or resumed),
  // and when it resumed, its moments, step, data position and RNG.
  absl::Status ShareStartState();
  // Reads this rank's share of one micro-batch into inputs_/targets_.
  absl::Status NextMicroBatch();
  // The rank's forward and backward passes of one step, with the gradient
  // all-reduce of its last micro-step started during the last backward pass
  // (grads_reduce_), and the step's mean loss over this rank's micro-steps.
  absl::StatusOr<double> ForwardBackwardStep(float grad_scale);
  // Finishes the gradient all-reduce and sums the loss over the ranks:
  // grads() then holds the global batch's gradient (each rank scaled by
  // 1/batch_tokens), `loss` its mean.
  absl::Status ReduceAcrossRanks(double* loss);
  // Whether any rank was asked to stop (so all stop after the same step).
  absl::StatusOr<bool> AnyRankStops(const std::atomic<bool>* stop_requested);
  absl::Status Checkpoint();
  bool leader() const { return comm_->rank() == 0; }
  // Progress and checkpoint events come from rank 0 alone, so a run's
  // metrics are reported once (docs/distributed.md).
  void EmitFromLeader(const nlohmann::json& event) {
    if (leader()) sink_->Emit(event);
  }
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
  std::unique_ptr<comm::Communicator> comm_;
  models::ModelConfig config_;
  Schedule schedule_ = Schedule::kConstant;
  std::unique_ptr<kernels::Backend> backend_;
  std::unique_ptr<models::Model> model_;
  // With several ranks: the gradient all-reduce, bucket by bucket as the
  // last backward pass of a step finishes them (docs/distributed.md).
  std::unique_ptr<comm::BucketedAllReduce> grads_reduce_;
  AllReduceTime interval_all_reduce_, run_all_reduce_;
  std::unique_ptr<TokenSource> source_;
  std::unique_ptr<models::Rng> rng_;
  std::unique_ptr<CheckpointValidation> validation_;  // nullptr: none at checkpoints
  std::optional<FileLock> run_dir_lock_;              // rank 0: held until the run ends
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
  // The device before the rendezvous: a rank without its GPU fails at once
  // instead of holding up the others.
  auto backend = MakeDeviceBackend(o_.device, o_.precision, o_.threads);
  if (!backend.ok()) return backend.status();
  backend_ = *std::move(backend);
  auto communicator = OpenCommunicator(o_, config_);
  if (!communicator.ok()) return communicator.status();
  comm_ = *std::move(communicator);
  // This rank's sequences per micro-step: its share of the global batch.
  micro_batch_ = static_cast<int>(o_.batch_tokens /
                                  (int64_t{config_.context} * o_.grad_accum * comm_->world_size()));
  auto model = models::Model::Create(config_, micro_batch_, backend_.get());
  if (!model.ok()) return model.status();
  model_ = std::move(*model);
  if (comm_->world_size() > 1) {
    // On a device, backward's kernels are still queued when a range is
    // final on the host: those ranks all-reduce after the pass.
    const bool overlap = o_.overlap_grad_reduce && backend_->name() == "cpu";
    grads_reduce_ = std::make_unique<comm::BucketedAllReduce>(
        comm_.get(), model_->grads(),
        overlap ? comm::BucketedAllReduce::Mode::kOverlapped
                : comm::BucketedAllReduce::Mode::kAtFinish);
  }
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
  // One trainer writes a run folder at a time (LockRunDir): rank 0, the only
  // rank that writes it, waits for a stopping trainer of an earlier attempt.
  if (leader()) {
    auto lock = LockRunDir(o_.out, absl::Seconds(o_.out_wait_s));
    if (!lock.ok()) return lock.status();
    run_dir_lock_ = *std::move(lock);
  }
  // Rank 0 alone reads checkpoints; ShareStartState gives the others its state.
  if (std::optional<std::string> latest =
          leader() ? FindLatestCheckpoint(o_.out, at_most) : std::nullopt) {
    if (absl::Status s = LoadCheckpoint(*latest, model_.get(), &state_); !s.ok()) return s;
    if (absl::Status s = source_->Seek(state_.data_position); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(*latest, ": ", s.message()));
    }
    rng_->set_state(state_.rng_state);
    resumed_from_step_ = state_.step;
    last_checkpoint_step_ = state_.step;
  }
  RETURN_IF_ERROR(ShareStartState());
  flops_per_token_ = models::TrainFlopsPerTokenFormula(config_);
  if (leader()) {
    auto validation =
        CheckpointValidation::Open(o_, TotalSteps(o_) * o_.batch_tokens, model_.get());
    if (!validation.ok()) return validation.status();
    validation_ = *std::move(validation);
  }
  const size_t n = static_cast<size_t>(model_->batch_tokens());
  sequence_.resize(config_.context + 1);
  inputs_.resize(n);
  targets_.resize(n);
  return absl::OkStatus();
}

absl::Status Run::ShareStartState() {
  if (comm_->world_size() == 1) return absl::OkStatus();
  // step, tokens, loss (its bits), data position, RNG state.
  std::array<uint64_t, 8> packed = {static_cast<uint64_t>(state_.step),
                                    static_cast<uint64_t>(state_.tokens),
                                    std::bit_cast<uint64_t>(state_.loss), state_.data_position};
  std::copy(state_.rng_state.begin(), state_.rng_state.end(), packed.begin() + 4);
  RETURN_IF_ERROR(comm_->BroadcastBytes(packed.data(), sizeof(packed), 0));
  // A GPU backend's queued writes finish before NCCL reads its memory.
  backend_->Synchronize();
  RETURN_IF_ERROR(comm_->Broadcast(model_->params(), model_->arena_floats(), 0));
  const auto step = static_cast<int64_t>(packed[0]);
  if (step == 0) return absl::OkStatus();
  RETURN_IF_ERROR(comm_->Broadcast(model_->adam_m(), model_->arena_floats(), 0));
  RETURN_IF_ERROR(comm_->Broadcast(model_->adam_v(), model_->arena_floats(), 0));
  if (leader()) return absl::OkStatus();
  state_.step = step;
  state_.tokens = static_cast<int64_t>(packed[1]);
  state_.loss = std::bit_cast<double>(packed[2]);
  state_.data_position = packed[3];
  std::copy(packed.begin() + 4, packed.end(), state_.rng_state.begin());
  if (absl::Status s = source_->Seek(state_.data_position); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data: cannot seek to rank 0's position after step ", step, ": ", s.message()));
  }
  rng_->set_state(state_.rng_state);
  resumed_from_step_ = step;
  last_checkpoint_step_ = step;
  return absl::OkStatus();
}

absl::Status Run::NextMicroBatch() {
  const int t = config_.context;
  // Every rank reads the whole global micro-batch, in the order one process
  // would, and keeps its contiguous block: sequences [rank·m, (rank+1)·m) of
  // it. So all ranks share one data position, and the global batch does not
  // depend on the world size.
  const int first = comm_->rank() * micro_batch_;
  for (int read = 0; read < micro_batch_ * comm_->world_size(); ++read) {
    if (absl::Status s = source_->Next(sequence_); !s.ok()) return s;
    const int b = read - first;
    if (b < 0 || b >= micro_batch_) continue;
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

absl::StatusOr<double> Run::ForwardBackwardStep(float grad_scale) {
  models::GradsFinalFn grads_final;
  if (grads_reduce_ != nullptr) {
    grads_final = [this](int64_t offset, int64_t count) { grads_reduce_->Add(offset, count); };
  }
  double loss = 0.0;
  for (int micro = 0; micro < o_.grad_accum; ++micro) {
    RETURN_IF_ERROR(NextMicroBatch());
    // Earlier micro-steps' gradients are partial sums: only the last
    // backward pass hands out final ranges.
    const bool last = micro + 1 == o_.grad_accum;
    loss += model_->ForwardBackward(inputs_.data(), targets_.data(), grad_scale,
                                    last ? grads_final : nullptr);
  }
  return loss / o_.grad_accum;
}

absl::Status Run::ReduceAcrossRanks(double* loss) {
  if (grads_reduce_ == nullptr) return absl::OkStatus();
  backend_->Synchronize();  // the gradients' kernels, on a device
  RETURN_IF_ERROR(grads_reduce_->Finish());
  interval_all_reduce_.Add(grads_reduce_->last_step());
  run_all_reduce_.Add(grads_reduce_->last_step());
  RETURN_IF_ERROR(comm_->AllReduceSum(loss, 1));
  *loss /= comm_->world_size();
  return absl::OkStatus();
}

absl::StatusOr<bool> Run::AnyRankStops(const std::atomic<bool>* stop_requested) {
  double stops = stop_requested != nullptr && stop_requested->load() ? 1.0 : 0.0;
  RETURN_IF_ERROR(comm_->AllReduceSum(&stops, 1));
  return stops > 0;
}

absl::Status Run::Checkpoint() {
  if (comm_->world_size() > 1) {
    RETURN_IF_ERROR(CheckWeightsMatch(*comm_, *backend_, model_->params(), model_->arena_floats(),
                                      state_.step));
  }
  last_checkpoint_step_ = state_.step;
  if (!leader()) return absl::OkStatus();
  state_.data_position = source_->position();
  state_.rng_state = rng_->state();
  state_.precision = o_.precision;
  auto written = WriteCheckpoint(o_.out, *model_, state_);
  if (!written.ok()) return written.status();
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
  nlohmann::json start = {{"event", "start"},
                          {"arch", std::string(models::ArchName(config_.arch))},
                          {"params_non_embedding", models::NonEmbeddingParamsExact(config_)},
                          {"params_embedding", models::EmbeddingParams(config_)},
                          {"flops_per_token", flops_per_token_},
                          {"total_tokens", total_steps * o_.batch_tokens},
                          {"memory_estimate_bytes", memory_estimate_bytes()},
                          {"resumed_from_step", resumed_from_step_},
                          {"device", std::string(backend_->name())},
                          {"precision", o_.precision}};
  if (o_.device == "cpu") start["blas_core"] = kernels::BlasCoreName();
  if (comm_->world_size() > 1) {
    start["rank"] = comm_->rank();
    start["world_size"] = comm_->world_size();
  }
  sink_->Emit(start);
  models::AdamWOptions adam;
  adam.beta1 = static_cast<float>(o_.beta1);
  adam.beta2 = static_cast<float>(o_.beta2);
  adam.weight_decay = static_cast<float>(o_.weight_decay);
  const float grad_scale = 1.0f / static_cast<float>(o_.batch_tokens);
  auto interval_start = std::chrono::steady_clock::now();
  int64_t interval_tokens = 0;
  for (int64_t step = state_.step + 1; step <= total_steps; ++step) {
    model_->ZeroGrads();
    absl::StatusOr<double> rank_loss = ForwardBackwardStep(grad_scale);
    if (!rank_loss.ok()) return Fail(rank_loss.status());
    double loss = *rank_loss;
    if (absl::Status s = ReduceAcrossRanks(&loss); !s.ok()) return Fail(s);
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
      nlohmann::json progress = {{"event", "progress"},
                                 {"step", step},
                                 {"tokens", state_.tokens},
                                 {"flops", flops()},
                                 {"loss", loss},
                                 {"lr", lr},
                                 {"grad_norm", grad_norm},
                                 {"tokens_per_s", seconds > 0 ? interval_tokens / seconds : 0.0}};
      if (grads_reduce_ != nullptr) {
        const double steps = static_cast<double>(interval_tokens / o_.batch_tokens);
        progress["allreduce_s_per_step"] = interval_all_reduce_.reduce_s / steps;
        progress["allreduce_wait_s_per_step"] = interval_all_reduce_.wait_s / steps;
        progress["allreduce_overlap"] = interval_all_reduce_.overlap();
      }
      EmitFromLeader(progress);
      interval_start = now;
      interval_tokens = 0;
      interval_all_reduce_ = {};
    }
    const int64_t every = o_.checkpoint_every_tokens;
    if (every > 0 && state_.tokens / every > tokens_before / every && step < total_steps) {
      if (absl::Status s = Checkpoint(); !s.ok()) return Fail(s);
    }
    if (step == total_steps) break;
    const absl::StatusOr<bool> stop = AnyRankStops(stop_requested);
    if (!stop.ok()) return Fail(stop.status());
    if (!*stop) continue;
    if (last_checkpoint_step_ != step) {
      if (absl::Status s = Checkpoint(); !s.ok()) return Fail(s);
    }
    // No rank reports the end before rank 0's checkpoint is on disk.
    if (absl::Status s = comm_->Barrier(); !s.ok()) return Fail(s);
    sink_->Emit({{"event", "stopped"}, {"step", step}});
    return kExitStopped;
  }
  if (last_checkpoint_step_ != state_.step) {
    if (absl::Status s = Checkpoint(); !s.ok()) return Fail(s);
  }
  if (absl::Status s = comm_->Barrier(); !s.ok()) return Fail(s);
  nlohmann::json done = {{"event", "done"},
                         {"step", state_.step},
                         {"tokens", state_.tokens},
                         {"flops", flops()},
                         {"loss", state_.loss},
                         {"peak_rss_bytes", PeakRssBytes()},
                         {"memory_estimate_bytes", memory_estimate_bytes()}};
  if (grads_reduce_ != nullptr) {
    done["allreduce_s"] = run_all_reduce_.reduce_s;
    done["allreduce_wait_s"] = run_all_reduce_.wait_s;
    done["allreduce_overlap"] = run_all_reduce_.overlap();
  }
  sink_->Emit(done);
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
