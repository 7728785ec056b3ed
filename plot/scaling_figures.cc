#include "plot/scaling_figures.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/str_cat.h"
#include "fitting/report.h"
#include "plot/raster.h"
#include "plot/svg_chart.h"

namespace flopwise::plot {
namespace {

using fitting::ArchFit;
using fitting::CheckpointRecord;
using fitting::FitReport;

// Colours from dark blue (small models) to yellow (large), viridis-like.
std::string SizeColor(double t) {
  static constexpr int kStops[5][3] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(t, 0.0, 1.0) * 4;
  const int i = std::min(3, static_cast<int>(t));
  const double f = t - i;
  int rgb[3];
  for (int k = 0; k < 3; ++k)
    rgb[k] = static_cast<int>(kStops[i][k] + f * (kStops[i + 1][k] - kStops[i][k]));
  return absl::StrFormat("#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

Series MakeSeries(std::string id, std::string label, SeriesStyle style, std::string color,
                  double width) {
  Series s;
  s.id = std::move(id);
  s.label = std::move(label);
  s.style = style;
  s.color = std::move(color);
  s.width = width;
  return s;
}

Panel MakePanel(std::string title, std::string x_label, std::string y_label) {
  Panel p;
  p.title = std::move(title);
  p.x_label = std::move(x_label);
  p.y_label = std::move(y_label);
  return p;
}

Series LawSeries(const std::string& id, const std::string& label, const fitting::PowerLawFit& law,
                 double lo, double hi, const std::string& color) {
  Series s = MakeSeries(id, label, SeriesStyle::kDashedLine, color, 2);
  for (int i = 0; i <= 40; ++i) {
    const double c = std::exp(std::log(lo) + (std::log(hi) - std::log(lo)) * i / 40);
    s.x.push_back(c);
    s.y.push_back(law.coef * std::pow(c, law.exponent));
  }
  return s;
}

std::string LawLabel(const char* name, const fitting::PowerLawFit& law) {
  return absl::StrFormat("%s = %.3g C^%.4f", name, law.coef, law.exponent);
}

std::string XLabel(const FitReport& fit) {
  return absl::StrFormat("compute C (%s, %s)", fitting::ComputeUnitName(fit.unit),
                         fitting::FlopsConventionKey(fit.convention));
}

std::string LossLabel(const FitReport& fit) {
  return Cat(fitting::LossMetricTitle(fit.metric), " (nats/token)");
}

// "llama", or "llama-context-2048" for an architecture fitted in a group.
std::string FileStem(const ArchFit& f) {
  std::string stem = f.arch;
  if (f.group.empty()) return stem;
  stem += '-';
  for (char c : f.group) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      stem += c;
    } else if (stem.back() != '-') {
      stem += '-';
    }
  }
  while (stem.back() == '-') stem.pop_back();
  return stem;
}

double ComputeOf(const CheckpointRecord& r, const FitReport& fit) {
  const double flops =
      fit.convention == fitting::FlopsConvention::k6ND ? 6 * r.n_params * r.tokens : r.flops;
  return fit.unit == fitting::ComputeUnit::kFlops ? flops : flops / fitting::kFlopsPerPfDay;
}

std::string ArchFigure(std::span<const CheckpointRecord> records, const ArchFit& f,
                       const FitReport& fit) {
  // Runs of this arch, ordered by size for colouring.
  std::map<std::string, std::vector<const CheckpointRecord*>> runs;
  double n_lo = INFINITY, n_hi = 0;
  for (const CheckpointRecord& r : records) {
    if (r.arch != f.arch || r.group != f.group) continue;
    runs[r.run].push_back(&r);
    n_lo = std::min(n_lo, r.n_params);
    n_hi = std::max(n_hi, r.n_params);
  }
  Panel curves = MakePanel(absl::StrCat(fitting::ArchFitName(f), ": loss vs compute"), XLabel(fit),
                           LossLabel(fit));
  bool first = true;
  for (auto& [name, points] : runs) {
    std::sort(points.begin(), points.end(), [](auto* a, auto* b) { return a->tokens < b->tokens; });
    const double t = n_hi > n_lo ? std::log(points[0]->n_params / n_lo) / std::log(n_hi / n_lo) : 0;
    Series s = MakeSeries(absl::StrCat("run-", name), first ? "runs (colour: N)" : "",
                          SeriesStyle::kLine, SizeColor(t), 1.2);
    first = false;
    for (const CheckpointRecord* p : points) {
      s.x.push_back(ComputeOf(*p, fit));
      s.y.push_back(fit.metric == fitting::LossMetric::kValidation ? p->validation_loss : p->loss);
    }
    curves.series.push_back(std::move(s));
  }
  Series envelope = MakeSeries("envelope", "envelope", SeriesStyle::kPoints, "#000000", 2.2);
  Series nopt = MakeSeries("nopt-points", "envelope N", SeriesStyle::kPoints, "#1f77b4", 2.5);
  Series dopt = MakeSeries("dopt-points", "envelope D", SeriesStyle::kPoints, "#2ca02c", 2.5);
  for (const fitting::EnvelopePoint& p : f.paper.envelope) {
    envelope.x.push_back(p.compute);
    envelope.y.push_back(p.loss);
    nopt.x.push_back(p.compute);
    nopt.y.push_back(p.n_params);
    dopt.x.push_back(p.compute);
    dopt.y.push_back(p.tokens);
  }
  const double lo = f.compute_min, hi = f.compute_max;
  curves.series.push_back(std::move(envelope));
  curves.series.push_back(
      LawSeries("fit-L", LawLabel("L", f.paper.loss), f.paper.loss, lo, hi, "#d62728"));
  Panel n_panel = MakePanel("N_opt(C)", XLabel(fit), "non-embedding parameters N");
  n_panel.series.push_back(std::move(nopt));
  n_panel.series.push_back(
      LawSeries("fit-nopt", LawLabel("N", f.paper.n_opt), f.paper.n_opt, lo, hi, "#d62728"));
  Panel d_panel = MakePanel("D_opt(C)", XLabel(fit), "tokens D");
  d_panel.series.push_back(std::move(dopt));
  d_panel.series.push_back(
      LawSeries("fit-dopt", LawLabel("D", f.paper.d_opt), f.paper.d_opt, lo, hi, "#d62728"));
  const Panel panels[] = {curves, n_panel, d_panel};
  return RenderSvg(absl::StrCat(FileStem(f), "-figure1"),
                   absl::StrFormat("%s: envelope method (C in %s)", fitting::ArchFitName(f),
                                   fitting::ComputeUnitName(fit.unit)),
                   panels, FigureStyle{});
}

std::string Overlay(const FitReport& fit) {
  Panel panel = MakePanel("envelopes and L(C)", XLabel(fit), LossLabel(fit));
  for (size_t i = 0; i < fit.archs.size(); ++i) {
    const ArchFit& f = fit.archs[i];
    if (!f.has_paper) continue;
    const std::string color = ArchColor(f.arch, i);
    Series env =
        MakeSeries(absl::StrCat("envelope-", FileStem(f)), "", SeriesStyle::kPoints, color, 1.8);
    for (const fitting::EnvelopePoint& p : f.paper.envelope) {
      env.x.push_back(p.compute);
      env.y.push_back(p.loss);
    }
    panel.series.push_back(std::move(env));
    panel.series.push_back(
        LawSeries(absl::StrCat("fit-L-", FileStem(f)),
                  absl::StrCat(fitting::ArchFitName(f), ": ", LawLabel("L", f.paper.loss)),
                  f.paper.loss, f.compute_min, f.compute_max, color));
  }
  const Panel panels[] = {panel};
  return RenderSvg(
      "overlay",
      absl::StrFormat("architectures compared (C in %s)", fitting::ComputeUnitName(fit.unit)),
      panels, FigureStyle{.columns = 1, .panel_width = 640, .panel_height = 460});
}

}  // namespace

std::string ArchColor(const std::string& arch, size_t index) {
  static const std::map<std::string, std::string> kKnown = {
      {"llama", "#d62728"}, {"tnl", "#1f77b4"}, {"hgrn2", "#2ca02c"}, {"cos2", "#ff7f0e"}};
  static constexpr const char* kOthers[] = {"#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"};
  auto it = kKnown.find(arch);
  return it != kKnown.end() ? it->second : kOthers[index % 5];
}

std::vector<NamedSvg> ScalingFigures(std::span<const CheckpointRecord> records,
                                     const FitReport& fit) {
  std::vector<NamedSvg> figures;
  bool any = false;
  for (const ArchFit& f : fit.archs) {
    if (!f.has_paper) continue;
    any = true;
    figures.push_back({absl::StrCat(FileStem(f), "_figure1"), ArchFigure(records, f, fit)});
  }
  if (any) figures.push_back({"overlay", Overlay(fit)});
  return figures;
}

absl::StatusOr<std::vector<std::string>> WriteScalingFigures(
    std::span<const CheckpointRecord> records, const FitReport& fit, const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(out_dir, ": cannot create (", ec.message(), ")"));
  const std::vector<NamedSvg> figures = ScalingFigures(records, fit);
  if (figures.empty()) {
    return absl::FailedPreconditionError("plot: no architecture has a paper-method fit to draw");
  }
  std::vector<std::string> written;
  for (const NamedSvg& fig : figures) {
    const std::string svg_path = (std::filesystem::path(out_dir) / (fig.name + ".svg")).string();
    std::ofstream out(svg_path, std::ios::binary);
    out << fig.svg;
    if (!out) return absl::InternalError(absl::StrCat(svg_path, ": cannot write"));
    written.push_back(svg_path);
    const std::string png_path = (std::filesystem::path(out_dir) / (fig.name + ".png")).string();
    if (absl::Status s = WritePng(fig.svg, png_path, 1.5); !s.ok()) return s;
    written.push_back(png_path);
  }
  return written;
}

}  // namespace flopwise::plot
