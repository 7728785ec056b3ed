#include "fitting/preset_shapes.h"

#include <string>

#include "models/accounting.h"
#include "models/presets.h"

namespace flopwise::fitting {

std::vector<ShapeOption> PresetShapes(const FitReport& fit) {
  std::vector<ShapeOption> shapes;
  for (const ArchFit& f : fit.archs) {
    auto arch = models::ParseArch(f.arch);
    if (!arch.ok()) continue;
    for (const auto& family : {models::PaperPresets(*arch), models::CpuLadderPresets(*arch)}) {
      for (const models::Preset& p : family) {
        ShapeOption s;
        s.arch = f.arch;
        s.name = p.name;
        s.layers = p.config.layers;
        s.d_model = p.config.d_model;
        s.heads = p.config.heads;
        s.n_params = static_cast<double>(models::NonEmbeddingParamsExact(p.config));
        if (fit.convention == FlopsConvention::kFormula) {
          s.flops_per_token = models::TrainFlopsPerTokenFormula(p.config);
        }
        shapes.push_back(std::move(s));
      }
    }
  }
  return shapes;
}

}  // namespace flopwise::fitting
