// Where each parameter lives in a model's flat parameter arena, and how many
// floats the trainer's arenas take. Pure arithmetic on a ModelConfig.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/config.h"

namespace flopwise::models {

// How InitParams fills a tensor (docs/model-contract.md §1.4).
enum class TensorInit {
  kNormal,          // N(0, 0.02²)
  kResidualOutput,  // W_o, W_down: N(0, 0.02²), std / sqrt(2L) with scaled_residual_init
  kOnes,            // norm gains
  kZeros,           // HGRN2 lower-bound logits, TPE B
  kLrpeTheta,       // cos2 θ_i[c] = 10000^(-2(i·D+c)/d)
};

// One named tensor of docs/model-contract.md §12. `shape` is the checkpoint
// shape; `offset` counts floats from the start of the parameter arena. The
// embedding occupies padded_vocab() rows in memory (the extra rows stay zero)
// and is stored with `vocab` rows.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset = 0;
  bool weight_decay = true;  // false for norm gains, lower_bound, theta, tpe.B
  TensorInit init = TensorInit::kNormal;
  int64_t numel() const;
};

// The value of a tensor an architecture lacks: offset -1, pointer nullptr.
template <typename T>
inline constexpr T kNoTensor = nullptr;
template <>
inline constexpr int64_t kNoTensor<int64_t> = -1;

// One layer's tensors, by role: arena offsets (T = int64_t) or pointers into
// an arena (T = float*). Fields the architecture lacks hold kNoTensor<T>.
template <typename T>
struct LayerTensors {
  T norm1 = kNoTensor<T>;      // gain of the norm before the token mixer (llama, or norm_affine)
  T norm2 = kNoTensor<T>;      // gain of the norm before the channel mixer (same)
  T w_q = kNoTensor<T>;        // query projection (all; HGRN2's output gate)
  T w_k = kNoTensor<T>;        // key projection (llama, tnl, cos2)
  T w_v = kNoTensor<T>;        // value projection (llama, tnl, cos2)
  T w_f = kNoTensor<T>;        // HGRN2 forget-gate projection, φ = x̄W_f
  T w_i = kNoTensor<T>;        // HGRN2 input projection, the value of its recurrence
  T w_o = kNoTensor<T>;        // output projection (all)
  T gate_down = kNoTensor<T>;  // low-rank output gate x̄W_gd (tnl, cos2)
  T gate_up = kNoTensor<T>;    // ... and its up projection W_gu
  T theta = kNoTensor<T>;      // learnable LRPE angles (cos2, lrpe_variant transnormer)
  T ffn_u = kNoTensor<T>;      // channel mixer W_u (all)
  T ffn_v = kNoTensor<T>;      // channel mixer W_v (all)
  T ffn_down = kNoTensor<T>;   // channel mixer W_down (all)

  // The same struct with fn applied to every field.
  template <typename Fn>
  auto Map(Fn&& fn) const -> LayerTensors<decltype(fn(T{}))> {
    return {fn(norm1), fn(norm2),     fn(w_q),     fn(w_k),   fn(w_v),   fn(w_f),   fn(w_i),
            fn(w_o),   fn(gate_down), fn(gate_up), fn(theta), fn(ffn_u), fn(ffn_v), fn(ffn_down)};
  }
};

// Every tensor of a model, by role (see LayerTensors).
template <typename T>
struct ModelTensors {
  T embed = kNoTensor<T>;        // [padded_vocab, d], tied LM head
  T lower_bound = kNoTensor<T>;  // HGRN2 lower-bound logits P [L, d]
  T tpe_b = kNoTensor<T>;        // cos2 TPE B [d, e]
  T norm_f = kNoTensor<T>;       // final norm gain (llama, or norm_affine)
  std::vector<LayerTensors<T>> layers;

  template <typename Fn>
  auto Map(Fn&& fn) const -> ModelTensors<decltype(fn(T{}))> {
    ModelTensors<decltype(fn(T{}))> mapped{fn(embed), fn(lower_bound), fn(tpe_b), fn(norm_f), {}};
    for (const LayerTensors<T>& layer : layers) mapped.layers.push_back(layer.Map(fn));
    return mapped;
  }
};

// The parameter arena of one config: its tensors in arena order (the
// embedding first), their offsets by role, and its size in floats (the
// embedding with padded rows).
struct ParamLayout {
  std::vector<TensorSpec> tensors;
  ModelTensors<int64_t> offsets;
  int64_t floats = 0;
  // layer_begin[l]: where layer l's tensors begin (each layer's tensors are
  // contiguous, layer after layer); layer_begin[layers]: where the tensors
  // after the layers (lower_bound, tpe.B, norm_f) begin.
  std::vector<int64_t> layer_begin;
};

ParamLayout ComputeParamLayout(const ModelConfig& config);

// Shorthands for ComputeParamLayout(config).tensors and .floats.
std::vector<TensorSpec> ParamTensors(const ModelConfig& config);
int64_t ParamFloats(const ModelConfig& config);

// Floats in the activation arena for `batch_tokens` tokens per micro-step
// (what forward stores for backward plus backward's scratch and the loss
// slices), as the CPU Model allocates it.
int64_t ActivationFloats(const ModelConfig& config, int64_t batch_tokens);

}  // namespace flopwise::models
