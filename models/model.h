// One LLaMA / TNL / HGRN2 / cosFormer2 language model composed from the
// kernels' Backend ops (llm.c style). The model owns four flat arenas of the
// same layout (parameters, gradients, AdamW first and second moments) and one
// activation arena, all sized once from (config, batch); nothing is allocated
// during a step. Forward and backward follow architectures.md §1–§7.
//
// Not thread-safe: one thread drives a Model (and its Backend) at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "models/activations.h"
#include "models/config.h"
#include "models/layout.h"
#include "models/rng.h"

namespace flopwise::models {

struct AdamWOptions {
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;  // applied to TensorSpec::weight_decay tensors only
};

class Model {
 public:
  // Validates `config` (InvalidArgument naming the field) and allocates every
  // arena for `batch` sequences of config.context tokens. `backend` must
  // outlive the model.
  static absl::StatusOr<std::unique_ptr<Model>> Create(const ModelConfig& config, int batch,
                                                       kernels::Backend* backend);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return config_; }
  int batch() const { return batch_; }
  int64_t batch_tokens() const { return int64_t{batch_} * config_.context; }
  kernels::Backend* backend() { return backend_; }

  // The §12 tensors in arena order; offsets index params(), grads(),
  // adam_m() and adam_v() alike.
  const std::vector<TensorSpec>& tensors() const { return tensors_; }
  // Returns nullptr when the architecture has no tensor of that name.
  const TensorSpec* FindTensor(std::string_view name) const;
  int64_t arena_floats() const { return arena_floats_; }
  float* params() { return params_; }
  float* grads() { return grads_; }
  float* adam_m() { return adam_m_; }
  float* adam_v() { return adam_v_; }

  // Initialisation of architectures.md §1.4 from `rng`: every linear and the
  // embedding N(0, 0.02²) (W_o, W_down divided by sqrt(2L) with
  // scaled_residual_init), norm gains 1, HGRN2 lower-bound logits 0, LRPE θ
  // 10000^(-2(i·D+c)/d) (lrpe_variant transnormer), TPE B 0. Zeroes gradients
  // and moments.
  void InitParams(Rng* rng);

  // inputs, targets: host arrays [batch, context], ids in [0, vocab) (the
  // caller validates). Returns the mean cross-entropy (nats) over all tokens.
  double Forward(const int32_t* inputs, const int32_t* targets);
  // Forward, then backward: ADDS grad_scale · ∂(Σ token losses)/∂θ into
  // grads() (grad_scale = 1/(tokens per optimizer step) gives the mean).
  double ForwardBackward(const int32_t* inputs, const int32_t* targets, float grad_scale);

  // Per-target cross-entropy (nats) of the last Forward or ForwardBackward,
  // [batch, context] row-major: what evaluation sums into log-likelihoods.
  const std::vector<float>& token_losses() const { return host_losses_; }

  void ZeroGrads();
  double GradSquaredNorm();
  // One AdamW step on every tensor; grads are multiplied by grad_scale first
  // (global-norm clipping). step is 1-based.
  void AdamWStep(const AdamWOptions& options, float lr, int64_t step, float grad_scale);

 private:
  struct LayerOffsets {
    int64_t norm1 = -1, norm2 = -1, wq = -1, wk = -1, wv = -1, wo = -1;
    int64_t gate_down = -1, gate_up = -1, theta = -1, ffn_u = -1, ffn_v = -1, ffn_down = -1;
  };

  Model(const ModelConfig& config, int batch, kernels::Backend* backend);
  void Allocate();
  void ForwardPass(const int32_t* inputs, const int32_t* targets, float grad_scale);
  void LlamaMixerForward(int layer, const float* x_norm, float* out);
  void TnlCos2MixerForward(int layer, const float* x_norm, float* out);
  void Hgrn2MixerForward(int layer, const float* x_norm, float* out);
  void Backward();
  // Each adds the gradient at the mixer's input (x̄ of `layer`) into acts_.d_norm
  // given d_out = ∂loss/∂(mixer output).
  void LlamaMixerBackward(int layer, const float* d_out);
  void TnlCos2MixerBackward(int layer, const float* d_out);
  void Hgrn2MixerBackward(int layer, const float* d_out);

  // cos2: layer `l`'s LRPE angles [h,D], a parameter or the shared fixed buffer.
  const float* LrpeTheta(int l) {
    const int64_t offset = layer_offsets_[l].theta;
    return offset >= 0 ? params_ + offset : acts_.lrpe_theta;
  }
  float* P(int64_t offset) { return offset < 0 ? nullptr : params_ + offset; }
  float* G(int64_t offset) { return offset < 0 ? nullptr : grads_ + offset; }
  float* Slice(float* base, int layer, int64_t per_layer) { return base + layer * per_layer; }

  ModelConfig config_;
  int batch_;
  kernels::Backend* backend_;
  std::vector<TensorSpec> tensors_;
  std::vector<LayerOffsets> layer_offsets_;
  int64_t embed_offset_ = 0, lower_bound_offset_ = -1, tpe_b_offset_ = -1, norm_f_offset_ = -1;
  int64_t arena_floats_ = 0;
  float* params_ = nullptr;
  float* grads_ = nullptr;
  float* adam_m_ = nullptr;
  float* adam_v_ = nullptr;
  float* activation_arena_ = nullptr;
  Activations acts_;
  int32_t* inputs_ = nullptr;  // [batch·context] backend copies of the step's ids
  int32_t* targets_ = nullptr;
  std::vector<float> host_losses_;
};

}  // namespace flopwise::models
