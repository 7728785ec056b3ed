#include "models/model.h"

#include <cmath>
#include <numeric>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "models/lrpe_theta.h"
#include "models/model_constants.h"
#include "models/slopes.h"

namespace flopwise::models {

absl::StatusOr<std::unique_ptr<Model>> Model::Create(const ModelConfig& config, int batch,
                                                     kernels::Backend* backend) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (batch <= 0) {
    return absl::InvalidArgumentError("batch: must be positive (got " + std::to_string(batch) +
                                      ")");
  }
  std::unique_ptr<Model> model(new Model(config, batch, backend));
  model->Allocate();
  return model;
}

Model::Model(const ModelConfig& config, int batch, kernels::Backend* backend)
    : config_(config), batch_(batch), backend_(backend), tensors_(ParamTensors(config)) {
  layer_offsets_.resize(config_.layers);
  for (const TensorSpec& t : tensors_) {
    if (t.name == "embed.weight") embed_offset_ = t.offset;
    if (t.name == "lower_bound") lower_bound_offset_ = t.offset;
    if (t.name == "tpe.B") tpe_b_offset_ = t.offset;
    if (t.name == "norm_f.weight") norm_f_offset_ = t.offset;
    if (!absl::StartsWith(t.name, "layers.")) continue;
    // "layers.{l}.{rest}"
    const std::vector<std::string> parts = absl::StrSplit(t.name, absl::MaxSplits('.', 2));
    int layer = 0;
    if (!absl::SimpleAtoi(parts[1], &layer)) continue;
    LayerOffsets& o = layer_offsets_[layer];
    const std::string& rest = parts[2];
    if (rest == "norm1.weight") o.norm1 = t.offset;
    if (rest == "norm2.weight") o.norm2 = t.offset;
    if (rest == "mixer.q.weight") o.wq = t.offset;
    if (rest == "mixer.k.weight" || rest == "mixer.f.weight") o.wk = t.offset;
    if (rest == "mixer.v.weight" || rest == "mixer.i.weight") o.wv = t.offset;
    if (rest == "mixer.o.weight") o.wo = t.offset;
    if (rest == "mixer.gate_down.weight") o.gate_down = t.offset;
    if (rest == "mixer.gate_up.weight") o.gate_up = t.offset;
    if (rest == "mixer.theta") o.theta = t.offset;
    if (rest == "ffn.u.weight") o.ffn_u = t.offset;
    if (rest == "ffn.v.weight") o.ffn_v = t.offset;
    if (rest == "ffn.down.weight") o.ffn_down = t.offset;
  }
  arena_floats_ = ParamFloats(config_);
}

Model::~Model() {
  for (void* p :
       {static_cast<void*>(params_), static_cast<void*>(grads_), static_cast<void*>(adam_m_),
        static_cast<void*>(adam_v_), static_cast<void*>(activation_arena_),
        static_cast<void*>(inputs_), static_cast<void*>(targets_)}) {
    backend_->Free(p);
  }
}

void Model::Allocate() {
  const int64_t bytes = arena_floats_ * int64_t{sizeof(float)};
  params_ = backend_->AllocateFloats(arena_floats_);
  grads_ = backend_->AllocateFloats(arena_floats_);
  adam_m_ = backend_->AllocateFloats(arena_floats_);
  adam_v_ = backend_->AllocateFloats(arena_floats_);
  for (float* arena : {params_, grads_, adam_m_, adam_v_}) backend_->Zero(arena, bytes);

  ActivationSizes sizes = ComputeActivationSizes(config_, batch_tokens());
  int64_t total = 0;
  sizes.ForEach([&](int64_t size) { total += size; });
  activation_arena_ = backend_->AllocateFloats(total);
  backend_->Zero(activation_arena_, total * int64_t{sizeof(float)});
  // Carve: walk both structs in the same declaration order.
  std::vector<int64_t> size_list;
  sizes.ForEach([&](int64_t size) { size_list.push_back(size); });
  size_t index = 0;
  int64_t offset = 0;
  acts_.ForEach([&](float*& ptr) {
    ptr = size_list[index] > 0 ? activation_arena_ + offset : nullptr;
    offset += size_list[index++];
  });
  const int64_t token_bytes = batch_tokens() * int64_t{sizeof(int32_t)};
  inputs_ = static_cast<int32_t*>(backend_->Allocate(token_bytes));
  targets_ = static_cast<int32_t*>(backend_->Allocate(token_bytes));
  host_losses_.resize(batch_tokens());

  // Constant buffers: TNL decays per (layer, head), TPE decays, fixed LRPE angles.
  if (acts_.log_decay != nullptr) {
    const std::vector<double> slopes = HeadSlopes(config_.heads);
    std::vector<float> host(int64_t{config_.layers} * config_.heads);
    for (int l = 0; l < config_.layers; ++l) {
      const double kappa = LayerDecayFactor(l, config_.layers);
      for (int h = 0; h < config_.heads; ++h) {
        host[l * config_.heads + h] = static_cast<float>(-slopes[h] * kappa);
      }
    }
    backend_->CopyFromHost(acts_.log_decay, host.data(), host.size() * sizeof(float));
  }
  if (acts_.log_gamma != nullptr) {
    const std::vector<double> slopes = HeadSlopes(config_.tpe_dim);
    std::vector<float> host(slopes.size());
    for (size_t j = 0; j < slopes.size(); ++j) host[j] = static_cast<float>(-slopes[j]);
    backend_->CopyFromHost(acts_.log_gamma, host.data(), host.size() * sizeof(float));
  }
  if (acts_.lrpe_theta != nullptr) {
    const std::vector<float> host = XmixersLrpeTheta(config_.heads, config_.head_dim);
    backend_->CopyFromHost(acts_.lrpe_theta, host.data(), host.size() * sizeof(float));
  }
}

const TensorSpec* Model::FindTensor(std::string_view name) const {
  for (const TensorSpec& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

double Model::Forward(const int32_t* inputs, const int32_t* targets) {
  ForwardPass(inputs, targets, 0.0f);
  return std::accumulate(host_losses_.begin(), host_losses_.end(), 0.0) / host_losses_.size();
}

double Model::ForwardBackward(const int32_t* inputs, const int32_t* targets, float grad_scale) {
  ForwardPass(inputs, targets, grad_scale);
  Backward();
  return std::accumulate(host_losses_.begin(), host_losses_.end(), 0.0) / host_losses_.size();
}

// With grad_scale > 0 the fused classifier also writes ∂loss/∂final_norm into
// acts_.d_norm and adds the LM-head gradient into the embedding's gradient.
void Model::ForwardPass(const int32_t* inputs, const int32_t* targets, float grad_scale) {
  const ModelConfig& c = config_;
  const int n = static_cast<int>(batch_tokens());
  const int d = c.d_model;
  const int64_t nd = int64_t{n} * d;
  const int64_t token_bytes = int64_t{n} * sizeof(int32_t);
  backend_->CopyFromHost(inputs_, inputs, token_bytes);
  backend_->CopyFromHost(targets_, targets, token_bytes);

  // X_0 = E[tokens] (× √d with embed_scale, + TPE for cos2).
  float* embedded = c.has_tpe() ? acts_.embed_out : acts_.residual;
  backend_->EmbeddingForward(embedded, inputs_, P(embed_offset_), n, d);
  if (c.embed_scale) backend_->Scale(embedded, std::sqrt(static_cast<float>(d)), nd);
  if (c.has_tpe()) {
    backend_->TpeForward(acts_.residual, acts_.embed_out, P(tpe_b_offset_), acts_.log_gamma, batch_,
                         c.context, d, c.tpe_dim);
  }
  if (c.arch == Arch::kHgrn2) {
    backend_->Hgrn2LowerBoundForward(acts_.lower_bound, P(lower_bound_offset_), c.layers, d);
  }

  const int g = c.ffn_dim;
  const int64_t ng = int64_t{n} * g;
  for (int l = 0; l < c.layers; ++l) {
    const LayerOffsets& w = layer_offsets_[l];
    float* x = Slice(acts_.residual, l, nd);
    float* mid = Slice(acts_.mid, l, nd);
    float* x_norm1 = Slice(acts_.norm1, l, nd);
    backend_->RmsNormForward(x_norm1, Slice(acts_.rstd1, l, n), x, P(w.norm1), n, d, kNormEps);
    switch (c.arch) {
      case Arch::kLlama:
        LlamaMixerForward(l, x_norm1, acts_.scratch);
        break;
      case Arch::kTnl:
      case Arch::kCos2:
        TnlCos2MixerForward(l, x_norm1, acts_.scratch);
        break;
      case Arch::kHgrn2:
        Hgrn2MixerForward(l, x_norm1, acts_.scratch);
        break;
    }
    backend_->ResidualForward(mid, x, acts_.scratch, nd);

    // Channel mixer: (U ⊙ f(V)) W_down, f = silu (llama) or identity.
    float* x_norm2 = Slice(acts_.norm2, l, nd);
    float* ffn_u = Slice(acts_.ffn_u, l, ng);
    float* ffn_v = Slice(acts_.ffn_v, l, ng);
    float* ffn_h = Slice(acts_.ffn_h, l, ng);
    backend_->RmsNormForward(x_norm2, Slice(acts_.rstd2, l, n), mid, P(w.norm2), n, d, kNormEps);
    backend_->MatmulForward(ffn_u, x_norm2, P(w.ffn_u), n, d, g);
    backend_->MatmulForward(ffn_v, x_norm2, P(w.ffn_v), n, d, g);
    if (c.arch == Arch::kLlama) {
      backend_->SwigluForward(ffn_h, ffn_u, ffn_v, ng);
    } else {
      backend_->GluForward(ffn_h, ffn_u, ffn_v, ng);
    }
    backend_->MatmulForward(acts_.scratch, ffn_h, P(w.ffn_down), n, g, d);
    backend_->ResidualForward(Slice(acts_.residual, l + 1, nd), mid, acts_.scratch, nd);
  }

  backend_->RmsNormForward(acts_.final_norm, acts_.rstd_f, Slice(acts_.residual, c.layers, nd),
                           P(norm_f_offset_), n, d, kNormEps);
  const bool want_grads = grad_scale > 0.0f;
  if (want_grads) backend_->Zero(acts_.d_norm, nd * sizeof(float));
  backend_->ClassifierForwardBackward(
      acts_.losses, want_grads ? acts_.d_norm : nullptr, want_grads ? G(embed_offset_) : nullptr,
      acts_.final_norm, P(embed_offset_), targets_, n, d, c.vocab, c.padded_vocab(), grad_scale);
  backend_->CopyToHost(host_losses_.data(), acts_.losses, int64_t{n} * sizeof(float));
}

// q = RoPE(x̄W_q), k = RoPE(x̄W_k), v = x̄W_v; out = softmax-attention · W_o.
void Model::LlamaMixerForward(int l, const float* x_norm, float* out) {
  const ModelConfig& c = config_;
  const int n = static_cast<int>(batch_tokens()), d = c.d_model;
  const int64_t nd = int64_t{n} * d;
  const LayerOffsets& w = layer_offsets_[l];
  float* q = Slice(acts_.q, l, nd);
  float* k = Slice(acts_.k, l, nd);
  float* v = Slice(acts_.v, l, nd);
  float* core = Slice(acts_.core, l, nd);
  backend_->MatmulForward(q, x_norm, P(w.wq), n, d, d);
  backend_->MatmulForward(k, x_norm, P(w.wk), n, d, d);
  backend_->MatmulForward(v, x_norm, P(w.wv), n, d, d);
  backend_->RopeForward(q, q, batch_, c.context, c.heads, c.head_dim, 0, kRopeBase);
  backend_->RopeForward(k, k, batch_, c.context, c.heads, c.head_dim, 0, kRopeBase);
  backend_->AttentionForward(core, Slice(acts_.lse, l, int64_t{n} * c.heads), q, k, v, batch_,
                             c.context, c.heads, c.head_dim);
  backend_->MatmulForward(out, core, P(w.wo), n, d, d);
}

// TNL: q,k = silu(x̄W_q), silu(x̄W_k), v = x̄W_v (silu'd with v_act silu);
// o = LA(q, k, v; λ_l) per head.
// cos2: the same q, k lifted by LRPE to 2D channels, no decay; θ is the
// layer's parameter or the fixed xmixers buffer.
// Both: u = SRMSNorm(o); out = (u ⊙ σ((x̄W_gd)W_gu)) W_o.
void Model::TnlCos2MixerForward(int l, const float* x_norm, float* out) {
  const ModelConfig& c = config_;
  const int n = static_cast<int>(batch_tokens()), d = c.d_model, t = c.gate_rank;
  const int64_t nd = int64_t{n} * d;
  const LayerOffsets& w = layer_offsets_[l];
  float* q_pre = Slice(acts_.q_pre, l, nd);
  float* k_pre = Slice(acts_.k_pre, l, nd);
  float* q = Slice(acts_.q, l, nd);
  float* k = Slice(acts_.k, l, nd);
  float* v = Slice(acts_.v, l, nd);
  float* core = Slice(acts_.core, l, nd);
  float* u = Slice(acts_.u, l, nd);
  float* gate_low = Slice(acts_.gate_low, l, int64_t{n} * t);
  float* gate_z = Slice(acts_.gate_z, l, nd);
  float* gated = Slice(acts_.gated, l, nd);
  backend_->MatmulForward(q_pre, x_norm, P(w.wq), n, d, d);
  backend_->MatmulForward(k_pre, x_norm, P(w.wk), n, d, d);
  backend_->SiluForward(q, q_pre, nd);
  backend_->SiluForward(k, k_pre, nd);
  if (c.has_v_silu()) {
    float* v_pre = Slice(acts_.v_pre, l, nd);
    backend_->MatmulForward(v_pre, x_norm, P(w.wv), n, d, d);
    backend_->SiluForward(v, v_pre, nd);
  } else {
    backend_->MatmulForward(v, x_norm, P(w.wv), n, d, d);
  }
  if (c.arch == Arch::kTnl) {
    backend_->LinearAttentionForward(core, nullptr, q, k, v, Slice(acts_.log_decay, l, c.heads),
                                     nullptr, batch_, c.context, c.heads, c.head_dim, c.head_dim,
                                     backend_->PreferredChunk(/*gated=*/false));
  } else {
    float* q_lrpe = Slice(acts_.q_lrpe, l, 2 * nd);
    float* k_lrpe = Slice(acts_.k_lrpe, l, 2 * nd);
    const float* theta = LrpeTheta(l);
    backend_->LrpeForward(q_lrpe, q, theta, batch_, c.context, c.heads, c.head_dim, 0);
    backend_->LrpeForward(k_lrpe, k, theta, batch_, c.context, c.heads, c.head_dim, 0);
    backend_->LinearAttentionForward(core, nullptr, q_lrpe, k_lrpe, v, nullptr, nullptr, batch_,
                                     c.context, c.heads, 2 * c.head_dim, c.head_dim,
                                     backend_->PreferredChunk(/*gated=*/false));
  }
  backend_->RmsNormForward(u, Slice(acts_.rstd_o, l, n), core, nullptr, n, d, kNormEps);
  backend_->MatmulForward(gate_low, x_norm, P(w.gate_down), n, d, t);
  backend_->MatmulForward(gate_z, gate_low, P(w.gate_up), n, t, d);
  backend_->SigmoidGateForward(gated, u, gate_z, nd);
  backend_->MatmulForward(out, gated, P(w.wo), n, d, d);
}

// q = silu(x̄W_q), φ = x̄W_f, v = x̄W_i; f = LB + (1-LB)σ(φ), k = (1-LB)σ(-φ);
// o = GLA(q, k, v; log f); out = SRMSNorm(o) W_o.
void Model::Hgrn2MixerForward(int l, const float* x_norm, float* out) {
  const ModelConfig& c = config_;
  const int n = static_cast<int>(batch_tokens()), d = c.d_model;
  const int64_t nd = int64_t{n} * d;
  const LayerOffsets& w = layer_offsets_[l];
  float* q_pre = Slice(acts_.q_pre, l, nd);
  float* phi = Slice(acts_.k_pre, l, nd);
  float* q = Slice(acts_.q, l, nd);
  float* k = Slice(acts_.k, l, nd);
  float* v = Slice(acts_.v, l, nd);
  float* log_f = Slice(acts_.log_f, l, nd);
  float* core = Slice(acts_.core, l, nd);
  float* u = Slice(acts_.u, l, nd);
  backend_->MatmulForward(q_pre, x_norm, P(w.wq), n, d, d);
  backend_->MatmulForward(phi, x_norm, P(w.wk), n, d, d);
  backend_->MatmulForward(v, x_norm, P(w.wv), n, d, d);
  backend_->SiluForward(q, q_pre, nd);
  backend_->Hgrn2GateForward(log_f, k, phi, Slice(acts_.lower_bound, l, d), n, d);
  backend_->GatedLinearAttentionForward(core, nullptr, q, k, v, log_f, nullptr, batch_, c.context,
                                        c.heads, c.head_dim, c.head_dim,
                                        backend_->PreferredChunk(/*gated=*/true));
  backend_->RmsNormForward(u, Slice(acts_.rstd_o, l, n), core, nullptr, n, d, kNormEps);
  backend_->MatmulForward(out, u, P(w.wo), n, d, d);
}

void Model::ZeroGrads() { backend_->Zero(grads_, arena_floats_ * int64_t{sizeof(float)}); }

double Model::GradSquaredNorm() {
  double sum = 0.0;
  for (const TensorSpec& t : tensors_) sum += backend_->SumOfSquares(grads_ + t.offset, t.numel());
  return sum;
}

void Model::AdamWStep(const AdamWOptions& options, float lr, int64_t step, float grad_scale) {
  for (const TensorSpec& t : tensors_) {
    const int64_t o = t.offset;
    backend_->AdamWUpdate(params_ + o, grads_ + o, adam_m_ + o, adam_v_ + o, t.numel(), lr,
                          options.beta1, options.beta2, options.eps,
                          t.weight_decay ? options.weight_decay : 0.0f, step, grad_scale);
  }
}

}  // namespace flopwise::models
