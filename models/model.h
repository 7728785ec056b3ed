// One LLaMA / TNL / HGRN2 / cosFormer2 language model composed from the
// kernels' Backend ops (llm.c style). The model owns four flat arenas of the
// same layout (parameters, gradients, AdamW first and second moments) and one
// activation arena, all sized once from (config, batch); nothing is allocated
// during a step. Forward and backward follow docs/model-contract.md §1–§7.
//
// Not thread-safe: one thread drives a Model (and its Backend) at a time.
#pragma once

#include <cstdint>
#include <functional>
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

// Told by the backward pass that grads()[offset, offset + count) is final:
// the pass will not write that range again.
using GradsFinalFn = std::function<void(int64_t offset, int64_t count)>;

class Model {
 public:
  // Validates `config` (InvalidArgument naming the field) and allocates every
  // arena for `batch` sequences of config.context tokens. Returns
  // ResourceExhausted, saying how much memory the model needs and how much the
  // backend's device has, when the arenas cannot be allocated: checked against
  // the device's available memory before anything is allocated. `backend`
  // must outlive the model.
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
  const std::vector<TensorSpec>& tensors() const { return layout_.tensors; }
  // Returns nullptr when the architecture has no tensor of that name.
  const TensorSpec* FindTensor(std::string_view name) const;
  int64_t arena_floats() const { return layout_.floats; }
  float* params() { return params_; }
  float* grads() { return grads_; }
  float* adam_m() { return adam_m_; }
  float* adam_v() { return adam_v_; }

  // Initialisation of docs/model-contract.md §1.4 from `rng`: every linear and the
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
  //
  // `grads_final`, when set, is called on this thread during the backward
  // pass for each range of the gradient arena as soon as the pass is done
  // with it: each layer's tensors from the last layer to the first, then the
  // tensors after the layers (if the architecture has any), then the
  // embedding. The ranges are disjoint, cover the arena, and depend on the
  // config alone, never on timing. What the caller does with a range may run
  // while the pass goes on, but must not write outside it. On a device
  // backend the range's values may still be queued on the device when the
  // call comes (Backend::Synchronize before reading them).
  double ForwardBackward(const int32_t* inputs, const int32_t* targets, float grad_scale,
                         const GradsFinalFn& grads_final = nullptr);

  // Per-target cross-entropy (nats) of the last Forward or ForwardBackward,
  // [batch, context] row-major: what evaluation sums into log-likelihoods.
  const std::vector<float>& token_losses() const { return host_losses_; }

  void ZeroGrads();
  double GradSquaredNorm();
  // One AdamW step on every tensor; grads are multiplied by grad_scale first
  // (global-norm clipping). step is 1-based.
  void AdamWStep(const AdamWOptions& options, float lr, int64_t step, float grad_scale);

 private:
  Model(const ModelConfig& config, int batch, kernels::Backend* backend);
  absl::Status Allocate();
  void FillConstantBuffers();

  // The block stack (model.cc): embedding (+ TPE), per layer norm → token
  // mixer → residual → norm → channel mixer → residual, final norm and the
  // fused classifier; Backward runs it in reverse with one running gradient
  // of the residual stream (acts_.d_residual).
  void ForwardPass(const int32_t* inputs, const int32_t* targets, float grad_scale);
  void Backward(const GradsFinalFn& grads_final);

  // Each sub-block's forward reads x̄ (its norm's output) and writes the
  // sub-block output into `out`; its backward takes d_out = ∂loss/∂(output)
  // and WRITES ∂loss/∂x̄ into acts_.d_norm (its first product into it
  // overwrites), weight gradients into grad_views_. One file per mixer holds
  // both directions.
  // MatmulBackward that overwrites dinp instead of adding into it, so that a
  // fresh gradient buffer needs no zeroing pass first (dweight still adds).
  void MatmulBackwardOverwritingInput(float* dinp, float* dweight, const float* dout,
                                      const float* inp, const float* weight, int rows, int in_dim,
                                      int out_dim);
  void TokenMixerForward(int layer, const float* x_norm, float* out);
  void TokenMixerBackward(int layer, const float* d_out);
  void LlamaMixerForward(int layer, const float* x_norm, float* out);  // mixer_llama.cc
  void LlamaMixerBackward(int layer, const float* d_out);
  void TnlMixerForward(int layer, const float* x_norm, float* out);  // mixer_tnl.cc
  void TnlMixerBackward(int layer, const float* d_out);
  void Cos2MixerForward(int layer, const float* x_norm, float* out);  // mixer_cos2.cc
  void Cos2MixerBackward(int layer, const float* d_out);
  void Hgrn2MixerForward(int layer, const float* x_norm, float* out);  // mixer_hgrn2.cc
  void Hgrn2MixerBackward(int layer, const float* d_out);
  void ChannelMixerForward(int layer, const float* x_norm, float* out);  // channel_mixer.cc
  void ChannelMixerBackward(int layer, const float* d_out);
  // The parts TNL and cos2 share (mixer_tnl_cos2_parts.cc):
  // q, k = silu(x̄W_q), silu(x̄W_k), v = x̄W_v (silu'd with v_act silu); and
  // out = (SRMSNorm(core) ⊙ σ((x̄W_gd)W_gu)) W_o. SiluQkvBackward reads
  // acts_.d_q, d_k, d_v; GatedOutputBackward writes acts_.d_core.
  void SiluQkvForward(int layer, const float* x_norm);
  void SiluQkvBackward(int layer);
  void GatedOutputForward(int layer, const float* x_norm, float* out);
  void GatedOutputBackward(int layer, const float* d_out);

  // cos2: layer `l`'s LRPE angles [h,D], a parameter or the shared fixed buffer.
  const float* LrpeTheta(int l) const {
    const float* theta = param_views_.layers[l].theta;
    return theta != nullptr ? theta : acts_.lrpe_theta;
  }
  // Layer `layer`'s slice of a per-layer activation buffer.
  static float* Slice(float* base, int layer, int64_t per_layer) {
    return base + layer * per_layer;
  }
  int tokens() const { return static_cast<int>(batch_tokens()); }

  ModelConfig config_;
  int batch_;
  kernels::Backend* backend_;
  ParamLayout layout_;
  float* params_ = nullptr;
  float* grads_ = nullptr;
  float* adam_m_ = nullptr;
  float* adam_v_ = nullptr;
  // Every tensor's place in params_ and grads_, by role; built once.
  ModelTensors<float*> param_views_;
  ModelTensors<float*> grad_views_;
  float* activation_arena_ = nullptr;
  Activations acts_;
  int32_t* inputs_ = nullptr;  // [batch·context] backend copies of the step's ids
  int32_t* targets_ = nullptr;
  std::vector<float> host_losses_;
};

}  // namespace flopwise::models
