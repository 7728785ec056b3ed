// Model configuration shared by the trainer, the CLI and the scheduler: the
// shape of one LLaMA / TNL / HGRN2 / cosFormer2 model (docs/models.md,
// docs/model-contract.md).
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
// docs/model-contract.md §5.2 ("ssm"), or none (an ablation).
enum class TpeVariant { kSsm, kNone };
absl::StatusOr<TpeVariant> ParseTpeVariant(std::string_view name);
std::string_view TpeVariantName(TpeVariant variant);

// Activation on TNL's value projection (docs/model-contract.md §3.1, D5): none (the
// paper's equation) or silu (tnl_attn.py, xmixers).
enum class VAct { kNone, kSilu };
absl::StatusOr<VAct> ParseVAct(std::string_view name);
std::string_view VActName(VAct act);

// cosFormer2's LRPE angles θ (docs/model-contract.md §5.1, D11): "transnormer", a
// learnable h×D parameter initialised 10000^(-2(i·D+c)/d); or "xmixers", a fixed
// buffer θ[c] = 10000^(-2c/D) for c < D/2 and 0 for the other half, the same
// for every head (not a parameter, not in checkpoints).
enum class LrpeVariant { kTransnormer, kXmixers };
absl::StatusOr<LrpeVariant> ParseLrpeVariant(std::string_view name);
std::string_view LrpeVariantName(LrpeVariant variant);

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
  // Flags of docs/model-contract.md that this implementation supports (defaults are
  // the documented decisions). A flag is ignored by the architectures it does
  // not name. Each one is also a row of ModelFlags() (models/model_flags.h),
  // which every reader and writer of flags iterates.
  TpeVariant tpe_variant = TpeVariant::kSsm;             // cos2 only
  bool scaled_residual_init = false;                     // W_o, W_down std 0.02/sqrt(2L) (D13)
  bool norm_affine = false;                              // tnl, hgrn2, cos2: RMSNorm gains (D3)
  VAct v_act = VAct::kNone;                              // tnl only (D5)
  LrpeVariant lrpe_variant = LrpeVariant::kTransnormer;  // cos2 only (D11)
  bool embed_scale = false;                              // X_0 = √d · E[tokens] (D14)

  // Returns InvalidArgument naming the first bad field, e.g.
  // "d_model: must be divisible by heads (8)".
  absl::Status Validate() const;

  bool operator==(const ModelConfig&) const = default;

  // Vocabulary rows held in memory: vocab rounded up to a multiple of 128.
  int padded_vocab() const { return (vocab + 127) / 128 * 128; }
  bool has_output_gate() const { return arch == Arch::kTnl || arch == Arch::kCos2; }
  bool has_tpe() const { return arch == Arch::kCos2 && tpe_variant == TpeVariant::kSsm; }
  // Block norms and the final norm carry gains (RMSNorm; SRMSNorm otherwise).
  // The linear models' attention-output norm is SRMSNorm either way (§1.2, §12).
  bool has_norm_gains() const { return arch == Arch::kLlama || norm_affine; }
  bool has_v_silu() const { return arch == Arch::kTnl && v_act == VAct::kSilu; }
  // cos2 with the learnable θ tensor `layers.{l}.mixer.theta`.
  bool has_lrpe_theta_param() const {
    return arch == Arch::kCos2 && lrpe_variant == LrpeVariant::kTransnormer;
  }
  bool has_lrpe_theta_buffer() const {
    return arch == Arch::kCos2 && lrpe_variant == LrpeVariant::kXmixers;
  }
};

// Fills head_dim, gate_rank and tpe_dim from d_model and heads when they are 0
// (t = e = D, as in the paper) and clears the ones the architecture lacks.
void FillDerivedFields(ModelConfig* config);

}  // namespace flopwise::models
