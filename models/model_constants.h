// Numeric constants shared by the model's forward and backward passes.
#pragma once

namespace flopwise::models {

inline constexpr float kNormEps = 1e-6f;      // every RMSNorm / SRMSNorm (§1.2)
inline constexpr float kRopeBase = 10000.0f;  // LLaMA RoPE (§2)
inline constexpr float kInitStd = 0.02f;      // §1.4

}  // namespace flopwise::models
