#include "plot/evaluation_figures.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fitting/report_evaluation.h"
#include "plot/raster.h"
#include "plot/svg_chart.h"

namespace flopwise::plot {
namespace {

bool IsAccuracy(const std::string& metric) {
  return metric == "acc" || metric == "acc_norm" || metric == "weighted_average_accuracy";
}

}  // namespace

std::optional<NamedSvg> DownstreamFigure(const fitting::StudyEvaluation& eval) {
  // (task, metric) -> arch -> points (flops, value)
  std::map<std::pair<std::string, std::string>,
           std::map<std::string, std::vector<std::pair<double, double>>>>
      panels;
  std::set<std::string> archs;
  for (const fitting::EvaluationRow& r : eval.rows) {
    if (!IsAccuracy(r.metric)) continue;
    panels[{r.task, r.metric}][r.arch].push_back({r.flops, r.value});
    archs.insert(r.arch);
  }
  if (panels.empty()) return std::nullopt;
  std::map<std::string, size_t> arch_index;
  for (const std::string& a : archs) arch_index.emplace(a, arch_index.size());
  std::vector<Panel> out;
  for (auto& [tm, by_arch] : panels) {
    Panel panel;
    panel.title = absl::StrCat(tm.first, ": ", tm.second);
    panel.x_label = "training compute C (FLOPs)";
    panel.y_label = tm.second;
    double lo = 0, hi = 0;
    for (auto& [arch, points] : by_arch) {
      std::sort(points.begin(), points.end());
      Series s;
      s.id = absl::StrCat("acc-", arch);
      s.label = arch;
      s.style = SeriesStyle::kPoints;
      s.color = ArchColor(arch, arch_index[arch]);
      s.width = 2.5;
      for (const auto& [x, y] : points) {
        s.x.push_back(x);
        s.y.push_back(y);
        if (x > 0) lo = lo > 0 ? std::min(lo, x) : x, hi = std::max(hi, x);
      }
      panel.series.push_back(std::move(s));
    }
    if (const std::optional<double> chance = fitting::ChanceLevel(tm.first, tm.second);
        chance && hi > 0) {
      Series s;
      s.id = "chance";
      s.label = "chance";
      s.style = SeriesStyle::kDashedLine;
      s.color = "#7f7f7f";
      s.x = {lo, hi};
      s.y = {*chance, *chance};
      panel.series.push_back(std::move(s));
    }
    out.push_back(std::move(panel));
  }
  return NamedSvg{"downstream",
                  RenderSvg("downstream", "Downstream accuracy against training compute", out,
                            FigureStyle{.columns = std::min<int>(3, out.size())})};
}

absl::StatusOr<std::string> WriteDownstreamFigure(const fitting::StudyEvaluation& eval,
                                                  const std::string& out_dir) {
  const std::optional<NamedSvg> figure = DownstreamFigure(eval);
  if (!figure) return std::string();
  const std::filesystem::path dir(out_dir);
  const std::string svg_path = (dir / (figure->name + ".svg")).string();
  std::ofstream out(svg_path, std::ios::binary);
  out << figure->svg;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat(svg_path, ": cannot write"));
  if (absl::Status s = WritePng(figure->svg, (dir / (figure->name + ".png")).string(), 1.5);
      !s.ok())
    return s;
  return figure->name;
}

}  // namespace flopwise::plot
