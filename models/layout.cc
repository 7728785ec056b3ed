#include "models/layout.h"

#include "absl/strings/str_cat.h"
#include "models/activations.h"

namespace flopwise::models {

int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

namespace {

// Appends tensors to a layout, each right after the previous one.
class LayoutBuilder {
 public:
  explicit LayoutBuilder(ParamLayout* layout) : layout_(layout) {}

  // Adds a tensor of `floats` floats in memory (its checkpoint shape may hold
  // fewer) and returns its offset.
  int64_t Add(std::string name, std::vector<int64_t> shape, TensorInit init, int64_t floats) {
    const bool weight_decay = init == TensorInit::kNormal || init == TensorInit::kResidualOutput;
    const int64_t offset = layout_->floats;
    layout_->tensors.push_back({std::move(name), std::move(shape), offset, weight_decay, init});
    layout_->floats += floats;
    return offset;
  }
  int64_t AddDense(std::string name, std::vector<int64_t> shape, TensorInit init) {
    int64_t floats = 1;
    for (int64_t s : shape) floats *= s;
    return Add(std::move(name), std::move(shape), init, floats);
  }

 private:
  ParamLayout* layout_;
};

}  // namespace

ParamLayout ComputeParamLayout(const ModelConfig& c) {
  const int64_t d = c.d_model, g = c.ffn_dim, t = c.gate_rank;
  ParamLayout layout;
  LayoutBuilder add(&layout);
  ModelTensors<int64_t>& at = layout.offsets;
  at.embed =
      add.Add("embed.weight", {c.vocab, d}, TensorInit::kNormal, int64_t{c.padded_vocab()} * d);
  const bool hgrn2 = c.arch == Arch::kHgrn2;
  for (int l = 0; l < c.layers; ++l) {
    const std::string p = absl::StrCat("layers.", l, ".");
    layout.layer_begin.push_back(layout.floats);
    LayerTensors<int64_t>& w = at.layers.emplace_back();
    if (c.has_norm_gains()) {
      w.norm1 = add.AddDense(p + "norm1.weight", {d}, TensorInit::kOnes);
      w.norm2 = add.AddDense(p + "norm2.weight", {d}, TensorInit::kOnes);
    }
    w.w_q = add.AddDense(p + "mixer.q.weight", {d, d}, TensorInit::kNormal);
    if (hgrn2) {
      w.w_f = add.AddDense(p + "mixer.f.weight", {d, d}, TensorInit::kNormal);
      w.w_i = add.AddDense(p + "mixer.i.weight", {d, d}, TensorInit::kNormal);
    } else {
      w.w_k = add.AddDense(p + "mixer.k.weight", {d, d}, TensorInit::kNormal);
      w.w_v = add.AddDense(p + "mixer.v.weight", {d, d}, TensorInit::kNormal);
    }
    w.w_o = add.AddDense(p + "mixer.o.weight", {d, d}, TensorInit::kResidualOutput);
    if (c.has_output_gate()) {
      w.gate_down = add.AddDense(p + "mixer.gate_down.weight", {t, d}, TensorInit::kNormal);
      w.gate_up = add.AddDense(p + "mixer.gate_up.weight", {d, t}, TensorInit::kNormal);
    }
    if (c.has_lrpe_theta_param()) {
      w.theta = add.AddDense(p + "mixer.theta", {c.heads, c.head_dim}, TensorInit::kLrpeTheta);
    }
    w.ffn_u = add.AddDense(p + "ffn.u.weight", {g, d}, TensorInit::kNormal);
    w.ffn_v = add.AddDense(p + "ffn.v.weight", {g, d}, TensorInit::kNormal);
    w.ffn_down = add.AddDense(p + "ffn.down.weight", {d, g}, TensorInit::kResidualOutput);
  }
  layout.layer_begin.push_back(layout.floats);
  if (hgrn2) at.lower_bound = add.AddDense("lower_bound", {c.layers, d}, TensorInit::kZeros);
  if (c.has_tpe()) at.tpe_b = add.AddDense("tpe.B", {d, c.tpe_dim}, TensorInit::kZeros);
  if (c.has_norm_gains()) at.norm_f = add.AddDense("norm_f.weight", {d}, TensorInit::kOnes);
  return layout;
}

std::vector<TensorSpec> ParamTensors(const ModelConfig& c) { return ComputeParamLayout(c).tensors; }

int64_t ParamFloats(const ModelConfig& c) { return ComputeParamLayout(c).floats; }

int64_t ActivationFloats(const ModelConfig& c, int64_t batch_tokens) {
  ActivationSizes sizes = ComputeActivationSizes(c, batch_tokens);
  int64_t total = 0;
  sizes.ForEach([&](int64_t size) { total += size; });
  return total;
}

}  // namespace flopwise::models
