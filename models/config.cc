#include "models/config.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "models/accounting.h"
#include "models/size_limits.h"

namespace flopwise::models {

absl::StatusOr<Arch> ParseArch(std::string_view name) {
  if (name == "llama") return Arch::kLlama;
  if (name == "tnl") return Arch::kTnl;
  if (name == "hgrn2") return Arch::kHgrn2;
  if (name == "cos2") return Arch::kCos2;
  return absl::InvalidArgumentError(absl::StrCat("arch: unknown architecture '", std::string(name),
                                                 "' (expected llama, tnl, hgrn2 or cos2)"));
}

std::string_view ArchName(Arch arch) {
  switch (arch) {
    case Arch::kLlama:
      return "llama";
    case Arch::kTnl:
      return "tnl";
    case Arch::kHgrn2:
      return "hgrn2";
    case Arch::kCos2:
      return "cos2";
  }
  return "unknown";
}

absl::StatusOr<TpeVariant> ParseTpeVariant(std::string_view name) {
  if (name == "ssm") return TpeVariant::kSsm;
  if (name == "none") return TpeVariant::kNone;
  return absl::InvalidArgumentError(absl::StrCat("tpe_variant: unknown variant '",
                                                 std::string(name), "' (expected ssm or none)"));
}

std::string_view TpeVariantName(TpeVariant variant) {
  return variant == TpeVariant::kSsm ? "ssm" : "none";
}

absl::StatusOr<VAct> ParseVAct(std::string_view name) {
  if (name == "none") return VAct::kNone;
  if (name == "silu") return VAct::kSilu;
  return absl::InvalidArgumentError(
      absl::StrCat("v_act: unknown activation '", std::string(name), "' (expected none or silu)"));
}

std::string_view VActName(VAct act) { return act == VAct::kSilu ? "silu" : "none"; }

absl::StatusOr<LrpeVariant> ParseLrpeVariant(std::string_view name) {
  if (name == "transnormer") return LrpeVariant::kTransnormer;
  if (name == "xmixers") return LrpeVariant::kXmixers;
  return absl::InvalidArgumentError(absl::StrCat(
      "lrpe_variant: unknown variant '", std::string(name), "' (expected transnormer or xmixers)"));
}

std::string_view LrpeVariantName(LrpeVariant variant) {
  return variant == LrpeVariant::kXmixers ? "xmixers" : "transnormer";
}

void FillDerivedFields(ModelConfig* config) {
  if (config->head_dim == 0 && config->heads > 0)
    config->head_dim = config->d_model / config->heads;
  if (config->has_output_gate()) {
    if (config->gate_rank == 0) config->gate_rank = config->head_dim;
  } else {
    config->gate_rank = 0;
  }
  if (config->has_tpe()) {
    if (config->tpe_dim == 0) config->tpe_dim = config->head_dim;
  } else {
    config->tpe_dim = 0;
  }
}

namespace {

absl::Status Positive(std::string_view field, int value) {
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(field), ": must be positive (got ", value, ")"));
}

// InvalidArgument "field: must be at most MAX, REASON (got VALUE)" beyond the
// field's row of SizeLimits().
absl::Status WithinLimit(std::string_view field, int64_t value) {
  for (const SizeLimit& limit : SizeLimits()) {
    if (limit.field != field || value <= limit.max) continue;
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": must be at most ",
                                                   limit.max, ", ", std::string(limit.reason),
                                                   " (got ", value, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ModelConfig::Validate() const {
  if (absl::Status s = Positive("layers", layers); !s.ok()) return s;
  if (absl::Status s = Positive("d_model", d_model); !s.ok()) return s;
  if (absl::Status s = Positive("heads", heads); !s.ok()) return s;
  for (const auto& [field, value] : {std::pair<std::string_view, int>{"layers", layers},
                                     {"d_model", d_model},
                                     {"heads", heads},
                                     {"ffn_dim", ffn_dim},
                                     {"vocab", vocab},
                                     {"context", context},
                                     {"gate_rank", gate_rank},
                                     {"tpe_dim", tpe_dim}}) {
    if (absl::Status s = WithinLimit(field, value); !s.ok()) return s;
  }
  if (d_model % heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("d_model: must be divisible by heads (", heads, ")"));
  }
  if (head_dim != d_model / heads) {
    return absl::InvalidArgumentError(absl::StrCat("head_dim: must equal d_model / heads (",
                                                   d_model / heads, "), got ", head_dim));
  }
  if (arch == Arch::kLlama && head_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("head_dim: must be even for RoPE (got ", head_dim, ")"));
  }
  if (absl::Status s = Positive("ffn_dim", ffn_dim); !s.ok()) return s;
  if (absl::Status s = Positive("vocab", vocab); !s.ok()) return s;
  if (absl::Status s = Positive("context", context); !s.ok()) return s;
  if (has_output_gate()) {
    if (absl::Status s = Positive("gate_rank", gate_rank); !s.ok()) return s;
  } else if (gate_rank != 0) {
    return absl::InvalidArgumentError(absl::StrCat("gate_rank: must be 0 for ",
                                                   std::string(ArchName(arch)),
                                                   " (no output gate), got ", gate_rank));
  }
  if (has_tpe()) {
    if (absl::Status s = Positive("tpe_dim", tpe_dim); !s.ok()) return s;
  } else if (tpe_dim != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tpe_dim: must be 0 without TPE (", std::string(ArchName(arch)), ", tpe_variant ",
        std::string(TpeVariantName(tpe_variant)), "), got ", tpe_dim));
  }
  // Every field is within its limit, so the count cannot overflow.
  return WithinLimit("parameters", NonEmbeddingParamsExact(*this) + EmbeddingParams(*this));
}

}  // namespace flopwise::models
