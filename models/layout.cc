#include "models/layout.h"

#include "absl/strings/str_cat.h"
#include "models/activations.h"

namespace flopwise::models {

int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

std::vector<TensorSpec> ParamTensors(const ModelConfig& c) {
  const int64_t d = c.d_model, g = c.ffn_dim, t = c.gate_rank;
  std::vector<TensorSpec> specs;
  int64_t offset = 0;
  auto add = [&](std::string name, std::vector<int64_t> shape, bool decay, int64_t floats) {
    TensorSpec spec{std::move(name), std::move(shape), offset, decay};
    offset += floats;
    specs.push_back(std::move(spec));
  };
  auto add_dense = [&](std::string name, std::vector<int64_t> shape, bool decay) {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    add(std::move(name), std::move(shape), decay, n);
  };
  add("embed.weight", {c.vocab, d}, true, int64_t{c.padded_vocab()} * d);
  const bool gains = c.has_norm_gains();
  const bool hgrn2 = c.arch == Arch::kHgrn2;
  for (int l = 0; l < c.layers; ++l) {
    const std::string p = absl::StrCat("layers.", l, ".");
    if (gains) {
      add_dense(p + "norm1.weight", {d}, false);
      add_dense(p + "norm2.weight", {d}, false);
    }
    add_dense(p + "mixer.q.weight", {d, d}, true);
    add_dense(p + (hgrn2 ? "mixer.f.weight" : "mixer.k.weight"), {d, d}, true);
    add_dense(p + (hgrn2 ? "mixer.i.weight" : "mixer.v.weight"), {d, d}, true);
    add_dense(p + "mixer.o.weight", {d, d}, true);
    if (c.has_output_gate()) {
      add_dense(p + "mixer.gate_down.weight", {t, d}, true);
      add_dense(p + "mixer.gate_up.weight", {d, t}, true);
    }
    if (c.has_lrpe_theta_param()) add_dense(p + "mixer.theta", {c.heads, c.head_dim}, false);
    add_dense(p + "ffn.u.weight", {g, d}, true);
    add_dense(p + "ffn.v.weight", {g, d}, true);
    add_dense(p + "ffn.down.weight", {d, g}, true);
  }
  if (hgrn2) add_dense("lower_bound", {c.layers, d}, false);
  if (c.has_tpe()) add_dense("tpe.B", {d, c.tpe_dim}, false);
  if (gains) add_dense("norm_f.weight", {d}, false);
  return specs;
}

int64_t ParamFloats(const ModelConfig& c) {
  const std::vector<TensorSpec> specs = ParamTensors(c);
  const TensorSpec& last = specs.back();
  return last.offset + last.numel();
}

int64_t ActivationFloats(const ModelConfig& c, int64_t batch_tokens) {
  ActivationSizes sizes = ComputeActivationSizes(c, batch_tokens);
  int64_t total = 0;
  sizes.ForEach([&](int64_t size) { total += size; });
  return total;
}

}  // namespace flopwise::models
