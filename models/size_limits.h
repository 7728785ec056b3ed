// The largest model flopwise accepts, field by field (docs/models.md,
// "Limits"). ModelConfig::Validate holds every config to this table, so the
// sweep spec, flopwise-train's flags and a checkpoint's metadata refuse the
// same sizes, and every count derived from a valid config (parameters, FLOPs,
// arena floats per token) fits an int64 many times over.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace flopwise::models {

inline constexpr int kMaxLayers = 1024;
inline constexpr int kMaxDModel = 65536;
inline constexpr int kMaxHeads = 1024;
inline constexpr int kMaxFfnDim = 4 * kMaxDModel;
inline constexpr int kMaxVocab = 1 << 24;
inline constexpr int kMaxContext = 1 << 20;
// Parameters, embedding included.
inline constexpr int64_t kMaxParams = 1'000'000'000'000;

struct SizeLimit {
  std::string_view field;  // a ModelConfig field, or "parameters"
  int64_t max;
  std::string_view reason;
};

// One row per bounded field, in ModelConfig's order, "parameters" last.
std::span<const SizeLimit> SizeLimits();

}  // namespace flopwise::models
