#include "worker/train/model_io.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "models/model_flags.h"

namespace flopwise::train {
namespace {

float* ArenaBase(models::Model& model, Arena arena) {
  switch (arena) {
    case Arena::kParams:
      return model.params();
    case Arena::kGrads:
      return model.grads();
    case Arena::kAdamM:
      return model.adam_m();
    case Arena::kAdamV:
      return model.adam_v();
  }
  return nullptr;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace

Metadata ModelMetadata(const models::ModelConfig& c) {
  nlohmann::json config = {{"layers", c.layers},  {"d_model", c.d_model},
                           {"heads", c.heads},    {"ffn_dim", c.ffn_dim},
                           {"vocab", c.vocab},    {"gate_rank", c.gate_rank},
                           {"tpe_dim", c.tpe_dim}};
  for (const auto& [name, text] : models::NonDefaultModelFlags(c)) {
    if (models::FindModelFlag(name)->kind == models::FlagKind::kBool) {
      config[name] = text == "true";
    } else {
      config[name] = text;
    }
  }
  return {{"arch", std::string(models::ArchName(c.arch))}, {"config", config.dump()}};
}

absl::StatusOr<models::ModelConfig> ConfigFromMetadata(const SafetensorsFile& file, int context) {
  const Metadata& meta = file.metadata();
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": __metadata__.", what));
  };
  auto arch_it = meta.find("arch");
  if (arch_it == meta.end()) return bad("arch: missing");
  auto arch = models::ParseArch(arch_it->second);
  if (!arch.ok()) return bad(std::string(arch.status().message()));
  auto config_it = meta.find("config");
  if (config_it == meta.end()) return bad("config: missing");
  const nlohmann::json j = nlohmann::json::parse(config_it->second, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("config: not a JSON object");
  models::ModelConfig c;
  c.arch = *arch;
  c.context = context;
  const std::pair<const char*, int*> keys[] = {{"layers", &c.layers},  {"d_model", &c.d_model},
                                               {"heads", &c.heads},    {"ffn_dim", &c.ffn_dim},
                                               {"vocab", &c.vocab},    {"gate_rank", &c.gate_rank},
                                               {"tpe_dim", &c.tpe_dim}};
  for (const auto& [key, field] : keys) {
    if (!j.contains(key) || !j[key].is_number_integer()) {
      return bad(absl::StrCat("config.", key, ": missing or not an integer"));
    }
    *field = j[key].get<int>();
  }
  if (c.heads > 0) c.head_dim = c.d_model / c.heads;
  // Files written before tpe_variant existed mark a TPE-less cos2 by tpe_dim 0.
  if (c.arch == models::Arch::kCos2 && c.tpe_dim == 0) c.tpe_variant = models::TpeVariant::kNone;
  models::ModelFlagValues flags;
  for (const models::ModelFlag& flag : models::ModelFlags()) {
    const std::string key(flag.name);
    if (!j.contains(key)) continue;
    if (flag.kind == models::FlagKind::kBool) {
      if (!j[key].is_boolean()) return bad(absl::StrCat("config.", key, ": not a boolean"));
      flags[key] = j[key].get<bool>() ? "true" : "false";
    } else {
      if (!j[key].is_string()) return bad(absl::StrCat("config.", key, ": not a string"));
      flags[key] = j[key].get<std::string>();
    }
  }
  if (absl::Status s = models::ApplyModelFlags(flags, &c); !s.ok()) {
    return bad(absl::StrCat("config.", s.message()));
  }
  if (absl::Status s = c.Validate(); !s.ok()) return bad(absl::StrCat("config.", s.message()));
  return c;
}

absl::Status WriteArenas(models::Model& model, const std::vector<ArenaPart>& parts,
                         const std::string& path) {
  const int64_t floats = model.arena_floats();
  std::vector<float> host(floats * parts.size());
  std::vector<TensorRef> refs;
  for (size_t i = 0; i < parts.size(); ++i) {
    float* dst = host.data() + i * floats;
    model.backend()->CopyToHost(dst, ArenaBase(model, parts[i].arena),
                                floats * int64_t{sizeof(float)});
    for (const models::TensorSpec& t : model.tensors()) {
      refs.push_back({parts[i].prefix + t.name, t.shape, dst + t.offset});
    }
  }
  return WriteSafetensors(path, refs, ModelMetadata(model.config()));
}

absl::Status ReadArena(const SafetensorsFile& file, const std::string& prefix, Arena arena,
                       models::Model* model) {
  float* base = ArenaBase(*model, arena);
  std::vector<float> host;
  for (const models::TensorSpec& t : model->tensors()) {
    const std::string name = prefix + t.name;
    auto it = file.entries().find(name);
    if (it == file.entries().end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.path(), ": missing tensor '", name, "' ", ShapeText(t.shape)));
    }
    if (it->second.shape != t.shape) {
      return absl::InvalidArgumentError(absl::StrCat(file.path(), ": tensor '", name,
                                                     "' has shape ", ShapeText(it->second.shape),
                                                     ", expected ", ShapeText(t.shape)));
    }
    if (absl::Status s = file.ReadFloats(name, &host); !s.ok()) return s;
    model->backend()->CopyFromHost(base + t.offset, host.data(),
                                   t.numel() * int64_t{sizeof(float)});
  }
  for (const auto& [name, entry] : file.entries()) {
    if (name.rfind(prefix, 0) != 0) continue;  // another arena's tensors (optimizer file)
    if (model->FindTensor(name.substr(prefix.size())) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.path(), ": unexpected tensor '", name, "' for ",
                       std::string(models::ArchName(model->config().arch)), " with this config"));
    }
  }
  return absl::OkStatus();
}

}  // namespace flopwise::train
