// The block stack of docs/model-contract.md §1.1 and §1.5, forward and
// backward: embedding (+ TPE), L pre-norm blocks, final norm, tied LM head.
// The mixers themselves live in mixer_*.cc and channel_mixer.cc.
#include <cmath>
#include <vector>

#include "models/model.h"
#include "models/model_constants.h"

namespace flopwise::models {

// With grad_scale > 0 the fused classifier also writes ∂loss/∂final_norm into
// acts_.d_norm and adds the LM-head gradient into the embedding's gradient.
void Model::ForwardPass(const int32_t* inputs, const int32_t* targets, float grad_scale) {
  const ModelConfig& c = config_;
  const ModelTensors<float*>& w = param_views_;
  const int n = tokens(), d = c.d_model;
  const int64_t nd = int64_t{n} * d;
  const int64_t token_bytes = int64_t{n} * sizeof(int32_t);
  backend_->CopyFromHost(inputs_, inputs, token_bytes);
  backend_->CopyFromHost(targets_, targets, token_bytes);

  // X_0 = E[tokens] (× √d with embed_scale, + TPE for cos2).
  float* embedded = c.has_tpe() ? acts_.embed_out : acts_.residual;
  backend_->EmbeddingForward(embedded, inputs_, w.embed, n, d);
  if (c.embed_scale) backend_->Scale(embedded, std::sqrt(static_cast<float>(d)), nd);
  if (c.has_tpe()) {
    backend_->TpeForward(acts_.residual, acts_.embed_out, w.tpe_b, acts_.log_gamma, batch_,
                         c.context, d, c.tpe_dim);
  }
  if (c.arch == Arch::kHgrn2) {
    backend_->Hgrn2LowerBoundForward(acts_.lower_bound, w.lower_bound, c.layers, d);
  }

  for (int l = 0; l < c.layers; ++l) {
    const LayerTensors<float*>& lw = w.layers[l];
    float* x = Slice(acts_.residual, l, nd);
    float* mid = Slice(acts_.mid, l, nd);
    float* x_norm1 = Slice(acts_.norm1, l, nd);
    backend_->RmsNormForward(x_norm1, Slice(acts_.rstd1, l, n), x, lw.norm1, n, d, kNormEps);
    TokenMixerForward(l, x_norm1, acts_.scratch);
    backend_->ResidualForward(mid, x, acts_.scratch, nd);
    float* x_norm2 = Slice(acts_.norm2, l, nd);
    backend_->RmsNormForward(x_norm2, Slice(acts_.rstd2, l, n), mid, lw.norm2, n, d, kNormEps);
    ChannelMixerForward(l, x_norm2, acts_.scratch);
    backend_->ResidualForward(Slice(acts_.residual, l + 1, nd), mid, acts_.scratch, nd);
  }

  backend_->RmsNormForward(acts_.final_norm, acts_.rstd_f, Slice(acts_.residual, c.layers, nd),
                           w.norm_f, n, d, kNormEps);
  const bool want_grads = grad_scale > 0.0f;
  if (want_grads) backend_->Zero(acts_.d_norm, nd * sizeof(float));
  backend_->ClassifierForwardBackward(
      acts_.losses, want_grads ? acts_.d_norm : nullptr, want_grads ? grad_views_.embed : nullptr,
      acts_.final_norm, w.embed, targets_, n, d, c.vocab, c.padded_vocab(), grad_scale);
  backend_->CopyToHost(host_losses_.data(), acts_.losses, int64_t{n} * sizeof(float));
}

// REQUIRES: ForwardPass ran with grad_scale > 0, leaving ∂loss/∂final_norm in
// acts_.d_norm and the LM-head part of ∂loss/∂E in the embedding's gradient.
void Model::Backward(const GradsFinalFn& grads_final) {
  // Tells grads_final that [begin, end) of the gradient arena is done.
  auto done_with = [&grads_final](int64_t begin, int64_t end) {
    if (grads_final && end > begin) grads_final(begin, end - begin);
  };
  const std::vector<int64_t>& layer_begin = layout_.layer_begin;
  const ModelConfig& c = config_;
  const ModelTensors<float*>& w = param_views_;
  const ModelTensors<float*>& dw = grad_views_;
  kernels::Backend& be = *backend_;
  const int n = tokens(), d = c.d_model;
  const int64_t nd = int64_t{n} * d;
  const int64_t nd_bytes = nd * sizeof(float);
  float* d_res = acts_.d_residual;

  be.Zero(d_res, nd_bytes);
  be.RmsNormBackward(d_res, dw.norm_f, acts_.d_norm, Slice(acts_.residual, c.layers, nd), w.norm_f,
                     acts_.rstd_f, n, d);
  if (acts_.d_lower_bound != nullptr) {
    be.Zero(acts_.d_lower_bound, int64_t{c.layers} * d * sizeof(float));
  }

  for (int l = c.layers - 1; l >= 0; --l) {
    // X_{l+1} = A + ChannelMixer(norm2(A)); d_res holds ∂loss/∂X_{l+1}.
    ChannelMixerBackward(l, d_res);
    be.RmsNormBackward(d_res, dw.layers[l].norm2, acts_.d_norm, Slice(acts_.mid, l, nd),
                       w.layers[l].norm2, Slice(acts_.rstd2, l, n), n, d);
    // A = X_l + TokenMixer(norm1(X_l)); d_res now holds ∂loss/∂A.
    TokenMixerBackward(l, d_res);
    be.RmsNormBackward(d_res, dw.layers[l].norm1, acts_.d_norm, Slice(acts_.residual, l, nd),
                       w.layers[l].norm1, Slice(acts_.rstd1, l, n), n, d);
    done_with(layer_begin[l], layer_begin[l + 1]);
  }

  if (c.arch == Arch::kHgrn2) {
    be.Hgrn2LowerBoundBackward(dw.lower_bound, acts_.d_lower_bound, w.lower_bound, c.layers, d);
  }
  float* d_embedded = d_res;
  if (c.has_tpe()) {
    be.Zero(acts_.d_embed_out, nd_bytes);
    be.TpeBackward(acts_.d_embed_out, dw.tpe_b, d_res, acts_.embed_out, w.tpe_b, acts_.log_gamma,
                   batch_, c.context, d, c.tpe_dim);
    d_embedded = acts_.d_embed_out;
  }
  // norm_f's gradient (above), lower_bound's and tpe.B's.
  done_with(layer_begin[c.layers], layout_.floats);
  if (c.embed_scale) be.Scale(d_embedded, std::sqrt(static_cast<float>(d)), nd);
  be.EmbeddingBackward(dw.embed, d_embedded, inputs_, n, d);
  // Its LM-head part came in ForwardPass.
  done_with(0, layer_begin[0]);
}

void Model::MatmulBackwardOverwritingInput(float* dinp, float* dweight, const float* dout,
                                           const float* inp, const float* weight, int rows,
                                           int in_dim, int out_dim) {
  // dinp = dout·weight, then the weight gradient alone.
  backend_->Gemm(false, false, rows, in_dim, out_dim, 1.0f, dout, out_dim, weight, in_dim, 0.0f,
                 dinp, in_dim);
  backend_->MatmulBackward(nullptr, dweight, dout, inp, weight, rows, in_dim, out_dim);
}

void Model::TokenMixerForward(int l, const float* x_norm, float* out) {
  switch (config_.arch) {
    case Arch::kLlama:
      return LlamaMixerForward(l, x_norm, out);
    case Arch::kTnl:
      return TnlMixerForward(l, x_norm, out);
    case Arch::kCos2:
      return Cos2MixerForward(l, x_norm, out);
    case Arch::kHgrn2:
      return Hgrn2MixerForward(l, x_norm, out);
  }
}

void Model::TokenMixerBackward(int l, const float* d_out) {
  switch (config_.arch) {
    case Arch::kLlama:
      return LlamaMixerBackward(l, d_out);
    case Arch::kTnl:
      return TnlMixerBackward(l, d_out);
    case Arch::kCos2:
      return Cos2MixerBackward(l, d_out);
    case Arch::kHgrn2:
      return Hgrn2MixerBackward(l, d_out);
  }
}

}  // namespace flopwise::models
