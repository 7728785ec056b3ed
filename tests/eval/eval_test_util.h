// Helpers for the evaluator tests: temporary folders, random weights files
// and token files.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "models/model.h"
#include "models/presets.h"
#include "models/rng.h"
#include "worker/train/model_io.h"

namespace flopwise::eval {

inline std::string MakeTempDir(const std::string& tag) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / ("flopwise-eval-" + tag + "-XXXXXX")).string();
  return mkdtemp(pattern.data());
}

// A small randomly initialised model of `arch` written to `path`.
inline void WriteRandomWeights(models::Arch arch, int vocab, const std::string& path,
                               uint64_t seed) {
  models::ModelConfig c;
  c.arch = arch;
  c.layers = 2;
  c.d_model = 32;
  c.heads = 2;
  c.ffn_dim = 64;
  c.vocab = vocab;
  c.context = 16;
  models::FillDerivedFields(&c);
  std::unique_ptr<kernels::Backend> backend = kernels::MakeCpuBackend(1);
  auto model = models::Model::Create(c, 1, backend.get());
  models::Rng rng(seed);
  (*model)->InitParams(&rng);
  if (!train::WriteArenas(**model, {{train::Arena::kParams, ""}}, path).ok()) std::abort();
}

// Writes little-endian uint32 ids.
inline void WriteU32(const std::vector<int32_t>& ids, const std::string& path) {
  std::vector<uint32_t> out(ids.begin(), ids.end());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(out.data()), out.size() * 4);
}

// `count` ids below `vocab` with some structure.
inline std::vector<int32_t> PatternTokens(int64_t count, int vocab, uint64_t seed) {
  models::Rng rng(seed);
  std::vector<int32_t> ids(count);
  for (int64_t i = 0; i < count; ++i) {
    ids[i] = rng.NextUniform() < 0.7 ? static_cast<int32_t>(i % 5 + 2)
                                     : static_cast<int32_t>(rng.NextU64() % vocab);
  }
  return ids;
}

}  // namespace flopwise::eval
