// The needle grid as a heatmap (SVG; PNG through plot/raster.h): one column
// per context length, one row per depth, each cell coloured from red (score
// 0) through yellow to green (score 10) and labelled with its score.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "worker/eval/niah_metrics.h"

namespace flopwise::eval {

std::string RenderNeedleHeatmapSvg(const NiahGrid& grid, const std::string& title);

// Writes `<path_stem>.svg` and `<path_stem>.png`.
absl::Status WriteNeedleHeatmap(const NiahGrid& grid, const std::string& title,
                                const std::string& path_stem);

}  // namespace flopwise::eval
