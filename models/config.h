// Model configuration shared by the trainer, the CLI and the scheduler: the
// shape of one LLaMA / TNL / HGRN2 / cosFormer2 model (docs/models.md,
// architectures.md of the design notes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flopwise::models {

enum class Arch { kLlama, kTnl, kHgrn2, kCos2 };

// Accepts "llama", "tnl", "hgrn2", "cos2". Returns InvalidArgument otherwise.
absl::StatusOr<Arch> ParseArch(std::string_view name);
std::string_view ArchName(Arch arch);

// cosFormer2's Toeplitz positional encoding: the per-channel SSM of
// architectures.md §5.2 ("ssm"), or none (an ablation).
enum class TpeVariant { kSsm, kNone };
absl::StatusOr<TpeVariant> ParseTpeVariant(std::string_view name);
std::string_view TpeVariantName(TpeVariant variant);

struct ModelConfig {
  Arch arch = Arch::kLlama;
  int layers = 0;     // L
  int d_model = 0;    // d
  int heads = 0;      // h
  int head_dim = 0;   // D = d / h
  int ffn_dim = 0;    // g, channel-mixer width
  int vocab = 0;      // v, unpadded
  int context = 0;    // n, tokens per training sequence
  int gate_rank = 0;  // t, low-rank output gate (tnl, cos2; 0 otherwise)
  int tpe_dim = 0;    // e, TPE width (cos2 with tpe_variant ssm; 0 otherwise)
  // Flags of architectures.md that this implementation supports (defaults are
  // the documented decisions).
  TpeVariant tpe_variant = TpeVariant::kSsm;  // cos2 only
  bool scaled_residual_init = false;          // W_o, W_down std 0.02/sqrt(2L) (D13)

  // Returns InvalidArgument naming the first bad field, e.g.
  // "d_model: must be divisible by heads (8)".
  absl::Status Validate() const;

  // Vocabulary rows held in memory: vocab rounded up to a multiple of 128.
  int padded_vocab() const { return (vocab + 127) / 128 * 128; }
  bool has_output_gate() const { return arch == Arch::kTnl || arch == Arch::kCos2; }
  bool has_tpe() const { return arch == Arch::kCos2 && tpe_variant == TpeVariant::kSsm; }
};

// Fills head_dim, gate_rank and tpe_dim from d_model and heads when they are 0
// (t = e = D, as in the paper) and clears the ones the architecture lacks.
void FillDerivedFields(ModelConfig* config);

}  // namespace flopwise::models
