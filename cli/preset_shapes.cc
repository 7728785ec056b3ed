#include "cli/preset_shapes.h"

#include "models/accounting.h"
#include "models/presets.h"

namespace flopwise::cli {

std::vector<fitting::ShapeOption> PresetShapes(const fitting::FitReport& fit) {
  std::vector<fitting::ShapeOption> shapes;
  for (const fitting::ArchFit& f : fit.archs) {
    auto arch = models::ParseArch(f.arch);
    if (!arch.ok()) continue;  // a name from someone else's study: no presets to offer
    for (const auto& family : {models::PaperPresets(*arch), models::CpuLadderPresets(*arch)}) {
      for (const models::Preset& p : family) {
        fitting::ShapeOption s;
        s.arch = f.arch;
        s.name = p.name;
        s.layers = p.config.layers;
        s.d_model = p.config.d_model;
        s.heads = p.config.heads;
        s.n_params = static_cast<double>(models::NonEmbeddingParamsExact(p.config));
        if (fit.convention == fitting::FlopsConvention::kFormula) {
          s.flops_per_token = models::TrainFlopsPerTokenFormula(p.config);
        }
        shapes.push_back(std::move(s));
      }
    }
  }
  return shapes;
}

}  // namespace flopwise::cli
