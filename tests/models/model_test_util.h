// Tiny model configs and random batches shared by the model tests.
#pragma once

#include <cstdint>
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

inline std::vector<int32_t> RandomTokens(int64_t count, int vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> ids(count);
  for (int32_t& id : ids) id = static_cast<int32_t>(rng.NextU64() % vocab);
  return ids;
}

}  // namespace flopwise::models
