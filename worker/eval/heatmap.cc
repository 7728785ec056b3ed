#include "worker/eval/heatmap.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "plot/raster.h"
#include "plot/svg_chart.h"

namespace flopwise::eval {
namespace {

constexpr int kCell = 56;
constexpr int kLeft = 90, kTop = 50, kRight = 20, kBottom = 60;

struct Rgb {
  double r, g, b;
};

// Red (0) → yellow (5) → green (10).
std::string CellColor(double score) {
  const Rgb red{215, 48, 39}, yellow{254, 224, 139}, green{26, 152, 80};
  const double t = std::clamp(score / 10.0, 0.0, 1.0);
  const Rgb& a = t < 0.5 ? red : yellow;
  const Rgb& b = t < 0.5 ? yellow : green;
  const double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
  return absl::StrFormat("#%02x%02x%02x", static_cast<int>(std::lround(a.r + (b.r - a.r) * u)),
                         static_cast<int>(std::lround(a.g + (b.g - a.g) * u)),
                         static_cast<int>(std::lround(a.b + (b.b - a.b) * u)));
}

}  // namespace

std::string RenderNeedleHeatmapSvg(const NiahGrid& grid, const std::string& title) {
  const int columns = static_cast<int>(grid.lengths.size());
  const int rows = static_cast<int>(grid.depths.size());
  // Wide enough for the title too (about 8 px per character at 15 px).
  const int width =
      std::max(kLeft + columns * kCell + kRight, static_cast<int>(title.size()) * 8 + 2 * kRight);
  const int height = kTop + rows * kCell + kBottom;
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      width, height, width, height);
  absl::StrAppendFormat(
      &svg, "<text x=\"%d\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n",
      width / 2, plot::XmlEscape(title));
  for (int j = 0; j < columns; ++j) {
    const int x = kLeft + j * kCell;
    for (int i = 0; i < rows; ++i) {
      const int y = kTop + i * kCell;
      const double score = grid.scores[j][i];
      absl::StrAppendFormat(&svg,
                            "<rect class=\"cell\" data-length=\"%d\" data-depth=\"%g\" "
                            "data-score=\"%g\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                            "fill=\"%s\" stroke=\"white\"/>\n",
                            grid.lengths[j], grid.depths[i], score, x, y, kCell, kCell,
                            CellColor(score));
      absl::StrAppendFormat(
          &svg, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%.1f</text>\n",
          x + kCell / 2, y + kCell / 2 + 4, score);
    }
    absl::StrAppendFormat(
        &svg, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%d</text>\n",
        x + kCell / 2, kTop + rows * kCell + 16, grid.lengths[j]);
  }
  for (int i = 0; i < rows; ++i) {
    absl::StrAppendFormat(
        &svg, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%g%%</text>\n",
        kLeft - 8, kTop + i * kCell + kCell / 2 + 4, grid.depths[i] * 100);
  }
  absl::StrAppendFormat(
      &svg,
      "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">context length "
      "(tokens)</text>\n",
      kLeft + columns * kCell / 2, height - 16);
  absl::StrAppendFormat(&svg,
                        "<text x=\"18\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" "
                        "transform=\"rotate(-90 18 %d)\">needle depth</text>\n",
                        kTop + rows * kCell / 2, kTop + rows * kCell / 2);
  svg += "</svg>\n";
  return svg;
}

absl::Status WriteNeedleHeatmap(const NiahGrid& grid, const std::string& title,
                                const std::string& path_stem) {
  const std::string svg = RenderNeedleHeatmapSvg(grid, title);
  const std::string svg_path = path_stem + ".svg";
  std::ofstream out(svg_path, std::ios::trunc);
  out << svg;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat(svg_path, ": cannot be written"));
  return plot::WritePng(svg, path_stem + ".png", 2.0);
}

}  // namespace flopwise::eval
