#include "worker/train/model_io.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
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

// How many layers the file holds tensors of: the distinct l of the names
// "layers.{l}.…".
int64_t LayersInFile(const SafetensorsFile& file) {
  constexpr std::string_view kPrefix = "layers.";
  std::set<std::string> layers;
  for (const auto& [name, entry] : file.entries()) {
    if (!name.starts_with(kPrefix)) continue;
    const size_t dot = name.find('.', kPrefix.size());
    if (dot != std::string::npos) layers.insert(name.substr(kPrefix.size(), dot - kPrefix.size()));
  }
  return static_cast<int64_t>(layers.size());
}

// Holds the metadata's sizes to the tensor table before anything is sized from
// them: the layer count, and each dimension a tensor shows (the first layer's
// tensors stand for every layer; CheckTensorTable compares them all later).
// Returns InvalidArgument "config.<field>: ..." for the first that disagrees.
absl::Status CheckSizesAgainstTensors(const SafetensorsFile& file, const models::ModelConfig& c) {
  if (const int64_t layers = LayersInFile(file); layers != c.layers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config.layers: ", c.layers, " but the file has ", layers, " layers of tensors"));
  }
  struct Dimension {
    const char* field;
    int value;
    const char* tensor;
    size_t axis;
  };
  const Dimension dimensions[] = {
      {"vocab", c.vocab, "embed.weight", 0},
      {"d_model", c.d_model, "embed.weight", 1},
      {"ffn_dim", c.ffn_dim, "layers.0.ffn.u.weight", 0},
      {"gate_rank", c.gate_rank, "layers.0.mixer.gate_down.weight", 0},
      {"heads", c.heads, "layers.0.mixer.theta", 0},
      {"tpe_dim", c.tpe_dim, "tpe.B", 1},
  };
  for (const Dimension& dim : dimensions) {
    auto it = file.entries().find(dim.tensor);
    if (it == file.entries().end()) continue;  // CheckTensorTable names a missing tensor
    const std::vector<int64_t>& shape = it->second.shape;
    if (shape.size() <= dim.axis || shape[dim.axis] != dim.value) {
      return absl::InvalidArgumentError(absl::StrCat("config.", dim.field, ": ", dim.value,
                                                     " but tensor '", dim.tensor, "' has shape ",
                                                     ShapeText(shape)));
    }
  }
  return absl::OkStatus();
}

// Every tensor of `tensors` (names prefixed by `prefix`) is in `file` with its
// shape, and no other name that starts with `prefix` is. InvalidArgument names
// the file and the tensor.
absl::Status CheckTensorTable(const SafetensorsFile& file, const std::string& prefix,
                              const std::vector<models::TensorSpec>& tensors,
                              const models::ModelConfig& config) {
  std::set<std::string> expected;
  for (const models::TensorSpec& t : tensors) {
    const std::string name = prefix + t.name;
    expected.insert(name);
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
  }
  for (const auto& [name, entry] : file.entries()) {
    if (name.rfind(prefix, 0) != 0) continue;  // another arena's tensors (optimizer file)
    if (!expected.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.path(), ": unexpected tensor '", name, "' for ",
                       std::string(models::ArchName(config.arch)), " with this config"));
    }
  }
  return absl::OkStatus();
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
    if (j[key] < std::numeric_limits<int>::min() || j[key] > std::numeric_limits<int>::max()) {
      return bad(absl::StrCat("config.", key, ": ", j[key].dump(), " is out of range"));
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
  if (absl::Status s = CheckSizesAgainstTensors(file, c); !s.ok()) {
    return bad(std::string(s.message()));
  }
  if (absl::Status s = c.Validate(); !s.ok()) return bad(absl::StrCat("config.", s.message()));
  if (absl::Status s = CheckTensorTable(file, "", models::ParamTensors(c), c); !s.ok()) return s;
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
  if (absl::Status s = CheckTensorTable(file, prefix, model->tensors(), model->config()); !s.ok()) {
    return s;
  }
  float* base = ArenaBase(*model, arena);
  std::vector<float> host;
  for (const models::TensorSpec& t : model->tensors()) {
    const std::string name = prefix + t.name;
    if (absl::Status s = file.ReadFloats(name, &host); !s.ok()) return s;
    const auto bad =
        std::find_if(host.begin(), host.end(), [](float v) { return !std::isfinite(v); });
    if (bad != host.end()) {
      return absl::InvalidArgumentError(absl::StrCat(file.path(), ": tensor '", name, "' holds ",
                                                     std::isnan(*bad) ? "NaN" : "an infinity",
                                                     " at element ", bad - host.begin()));
    }
    model->backend()->CopyFromHost(base + t.offset, host.data(),
                                   t.numel() * int64_t{sizeof(float)});
  }
  return absl::OkStatus();
}

}  // namespace flopwise::train
