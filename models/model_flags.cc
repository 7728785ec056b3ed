#include "models/model_flags.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace flopwise::models {
namespace {

bool AllArchs(Arch) { return true; }
bool LinearArchs(Arch arch) { return arch != Arch::kLlama; }
bool TnlOnly(Arch arch) { return arch == Arch::kTnl; }
bool Cos2Only(Arch arch) { return arch == Arch::kCos2; }

std::string BoolText(bool value) { return value ? "true" : "false"; }

absl::Status ParseBool(std::string_view name, std::string_view text, bool* field) {
  if (text == "true") {
    *field = true;
  } else if (text == "false") {
    *field = false;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(name), ": must be true or false (got '", std::string(text), "')"));
  }
  return absl::OkStatus();
}

// A kChoice setter from a models:: parser (whose message names the flag).
template <typename T>
absl::Status SetChoice(absl::StatusOr<T> parsed, T* field) {
  if (!parsed.ok()) return parsed.status();
  *field = *parsed;
  return absl::OkStatus();
}

const ModelFlag kFlags[] = {
    {"tpe_variant", FlagKind::kChoice, "cos2 TPE: ssm or none", Cos2Only,
     [](const ModelConfig& c) { return std::string(TpeVariantName(c.tpe_variant)); },
     [](std::string_view text, ModelConfig* c) {
       return SetChoice(ParseTpeVariant(text), &c->tpe_variant);
     }},
    {"scaled_residual_init", FlagKind::kBool, "Divide W_o and W_down init std by sqrt(2L)",
     AllArchs, [](const ModelConfig& c) { return BoolText(c.scaled_residual_init); },
     [](std::string_view text, ModelConfig* c) {
       return ParseBool("scaled_residual_init", text, &c->scaled_residual_init);
     }},
    {"norm_affine", FlagKind::kBool, "tnl, hgrn2, cos2: RMSNorm gains on the block and final norms",
     LinearArchs, [](const ModelConfig& c) { return BoolText(c.norm_affine); },
     [](std::string_view text, ModelConfig* c) {
       return ParseBool("norm_affine", text, &c->norm_affine);
     }},
    {"v_act", FlagKind::kChoice, "tnl value activation: none or silu", TnlOnly,
     [](const ModelConfig& c) { return std::string(VActName(c.v_act)); },
     [](std::string_view text, ModelConfig* c) { return SetChoice(ParseVAct(text), &c->v_act); }},
    {"lrpe_variant", FlagKind::kChoice,
     "cos2 LRPE angles: transnormer (learned) or xmixers (fixed)", Cos2Only,
     [](const ModelConfig& c) { return std::string(LrpeVariantName(c.lrpe_variant)); },
     [](std::string_view text, ModelConfig* c) {
       return SetChoice(ParseLrpeVariant(text), &c->lrpe_variant);
     }},
    {"embed_scale", FlagKind::kBool, "Multiply the token embeddings by sqrt(d_model)", AllArchs,
     [](const ModelConfig& c) { return BoolText(c.embed_scale); },
     [](std::string_view text, ModelConfig* c) {
       return ParseBool("embed_scale", text, &c->embed_scale);
     }},
};

}  // namespace

std::span<const ModelFlag> ModelFlags() { return kFlags; }

const ModelFlag* FindModelFlag(std::string_view name) {
  for (const ModelFlag& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

std::string CommandLineFlag(const ModelFlag& flag) {
  std::string text = absl::StrCat("--", std::string(flag.name));
  std::replace(text.begin(), text.end(), '_', '-');
  return text;
}

absl::Status ApplyModelFlags(const ModelFlagValues& values, ModelConfig* config) {
  for (const auto& [name, text] : values) {
    const ModelFlag* flag = FindModelFlag(name);
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat(name, ": unknown flag"));
    ModelConfig parsed = *config;
    if (absl::Status s = flag->set(text, &parsed); !s.ok()) return s;
    if (flag->applies_to(config->arch)) *config = parsed;
  }
  return absl::OkStatus();
}

ModelFlagValues NonDefaultModelFlags(const ModelConfig& config) {
  const ModelConfig defaults;
  ModelFlagValues values;
  for (const ModelFlag& flag : kFlags) {
    const std::string text = flag.get(config);
    if (flag.applies_to(config.arch) && text != flag.get(defaults))
      values[std::string(flag.name)] = text;
  }
  return values;
}

}  // namespace flopwise::models
