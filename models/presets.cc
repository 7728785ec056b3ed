#include "models/presets.h"

#include "absl/strings/str_cat.h"

namespace flopwise::models {
namespace {

ModelConfig Make(Arch arch, int layers, int d_model, int heads, int ffn_dim, int vocab,
                 int context) {
  ModelConfig c;
  c.arch = arch;
  c.layers = layers;
  c.d_model = d_model;
  c.heads = heads;
  c.ffn_dim = ffn_dim;
  c.vocab = vocab;
  c.context = context;
  FillDerivedFields(&c);
  return c;
}

// g = 8d/3 rounded up to a multiple of `multiple`.
int FfnDim(int d_model, int multiple) {
  const int raw = (8 * d_model + 2) / 3;
  return (raw + multiple - 1) / multiple * multiple;
}

}  // namespace

std::vector<Preset> CpuLadderPresets(Arch arch) {
  struct Shape {
    int layers, d_model, heads;
  };
  // Head dims: 16, 32, 32, 32, 64, 64, 64.
  const Shape shapes[] = {{2, 64, 4},  {3, 96, 3},  {4, 128, 4}, {6, 192, 6},
                          {6, 256, 4}, {8, 320, 5}, {10, 384, 6}};
  std::vector<Preset> presets;
  int index = 1;
  for (const Shape& s : shapes) {
    presets.push_back({absl::StrCat("cpu-", index++),
                       Make(arch, s.layers, s.d_model, s.heads, FfnDim(s.d_model, 64),
                            kCpuDefaultVocab, kCpuDefaultContext)});
  }
  return presets;
}

std::vector<Preset> PaperPresets(Arch arch) {
  const bool gated = arch == Arch::kTnl || arch == Arch::kCos2;
  struct Shape {
    const char* name;
    int layers, d_model, ffn_dim;
  };
  const Shape shapes[] = {
      {"70M", 6, 512, 1536},  {"160M", 12, 768, 2048}, {"410M", gated ? 25 : 26, 1024, 2816},
      {"1B", 32, 1536, 4096}, {"3B", 35, 2560, 6912},  {"7B", 32, 4096, 11008}};
  std::vector<Preset> presets;
  for (const Shape& s : shapes) {
    presets.push_back({s.name, Make(arch, s.layers, s.d_model, s.d_model / 128, s.ffn_dim,
                                    kPaperVocab, kPaperContext)});
  }
  return presets;
}

absl::StatusOr<ModelConfig> FindPreset(Arch arch, std::string_view name, int vocab, int context) {
  if (vocab <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("vocab: must be positive (got ", vocab, ")"));
  }
  if (context <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("context: must be positive (got ", context, ")"));
  }
  for (auto family : {CpuLadderPresets(arch), PaperPresets(arch)}) {
    for (Preset& p : family) {
      if (p.name != name) continue;
      p.config.vocab = vocab;
      p.config.context = context;
      return p.config;
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "preset: no preset named '", std::string(name), "' for ", std::string(ArchName(arch)),
      " (see `flopwise models` and `flopwise models --paper`)"));
}

}  // namespace flopwise::models
