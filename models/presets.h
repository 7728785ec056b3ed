// Named model sizes: the paper's six (docs/model-contract.md §8.3, with the fixes of
// §8.4) and a CPU ladder of small models that train in minutes on two cores.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "models/config.h"

namespace flopwise::models {

struct Preset {
  std::string name;    // "cpu-1" ... or "70M" ... "7B"
  ModelConfig config;  // vocab and context set to the family's defaults below
};

inline constexpr int kPaperVocab = 100280;
inline constexpr int kPaperContext = 8192;
inline constexpr int kCpuDefaultVocab = 50304;
inline constexpr int kCpuDefaultContext = 256;

// cpu-1 ... cpu-7, smallest to largest (≈0.1M to ≈18M non-embedding
// parameters, head dim 16 to 64, g = 8d/3 rounded up to a multiple of 64).
std::vector<Preset> CpuLadderPresets(Arch arch);

// 70M, 160M, 410M, 1B, 3B, 7B: h = d/128, t = e = 128, g by the
// multiple-of-256 rule except 1B (g = 4096), L = 25 at 410M for tnl and cos2.
std::vector<Preset> PaperPresets(Arch arch);

// Finds `name` in either family and sets vocab and context. Returns NotFound
// naming the preset, InvalidArgument when vocab or context is not positive.
absl::StatusOr<ModelConfig> FindPreset(Arch arch, std::string_view name, int vocab, int context);

}  // namespace flopwise::models
