// Tiny model configs and random batches shared by the model tests.
#pragma once

#include <cstdint>
#include <ostream>
#include <vector>

#include "models/config.h"
#include "models/rng.h"

namespace flopwise::models {

// L = 3 (κ takes an interior value), d = 32, h = 2 (D = 16), g = 64, t = e = 16.
inline ModelConfig TinyConfig(Arch arch, int vocab = 97, int context = 16) {
  ModelConfig c;
  c.arch = arch;
  c.layers = 3;
  c.d_model = 32;
  c.heads = 2;
  c.ffn_dim = 64;
  c.vocab = vocab;
  c.context = context;
  FillDerivedFields(&c);
  return c;
}

// An architecture with some of its flags set: the four defaults and one
// variant per flag of docs/model-contract.md (D3 norm_affine, D5 v_act, D11
// lrpe_variant, D14 embed_scale).
struct ModelVariant {
  const char* name;
  Arch arch;
  bool norm_affine = false;
  VAct v_act = VAct::kNone;
  LrpeVariant lrpe_variant = LrpeVariant::kTransnormer;
  bool embed_scale = false;

  ModelConfig Config(int vocab = 97, int context = 16) const {
    ModelConfig c = TinyConfig(arch, vocab, context);
    c.norm_affine = norm_affine;
    c.v_act = v_act;
    c.lrpe_variant = lrpe_variant;
    c.embed_scale = embed_scale;
    return c;
  }
};

// gtest prints a parameter with this (test names stay readable in ctest).
inline void PrintTo(const ModelVariant& variant, std::ostream* os) { *os << variant.name; }

inline std::vector<ModelVariant> AllModelVariants() {
  return {
      {"llama", Arch::kLlama},
      {"tnl", Arch::kTnl},
      {"hgrn2", Arch::kHgrn2},
      {"cos2", Arch::kCos2},
      {"tnl_norm_affine", Arch::kTnl, true},
      {"tnl_v_silu", Arch::kTnl, false, VAct::kSilu},
      {"hgrn2_norm_affine", Arch::kHgrn2, true},
      {"cos2_norm_affine", Arch::kCos2, true},
      {"cos2_lrpe_xmixers", Arch::kCos2, false, VAct::kNone, LrpeVariant::kXmixers},
      {"hgrn2_embed_scale", Arch::kHgrn2, false, VAct::kNone, LrpeVariant::kTransnormer, true},
      // TPE runs on the scaled embeddings.
      {"cos2_embed_scale", Arch::kCos2, false, VAct::kNone, LrpeVariant::kTransnormer, true},
  };
}

inline std::vector<int32_t> RandomTokens(int64_t count, int vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> ids(count);
  for (int32_t& id : ids) id = static_cast<int32_t>(rng.NextU64() % vocab);
  return ids;
}

}  // namespace flopwise::models
