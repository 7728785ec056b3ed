#include "plot/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace flopwise::plot {
namespace {

constexpr int kMarginLeft = 74, kMarginRight = 16, kMarginTop = 34, kMarginBottom = 52;
constexpr int kTitleHeight = 34;

std::string SafeId(const std::string& id) {
  std::string out = id;
  for (char& ch : out) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') ch = '_';
  }
  return out;
}

struct LogRange {
  double lo = 0, hi = 0;  // log10 of the axis ends
};

LogRange RangeOf(const Panel& panel, bool x_axis) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Series& s : panel.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!(s.x[i] > 0 && s.y[i] > 0 && std::isfinite(s.x[i]) && std::isfinite(s.y[i]))) continue;
      const double v = std::log10(x_axis ? s.x[i] : s.y[i]);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!std::isfinite(lo)) return {0, 1};
  if (hi - lo < 1e-6) {
    lo -= 0.05;
    hi += 0.05;
  }
  const double pad = 0.04 * (hi - lo);
  return {lo - pad, hi + pad};
}

struct Tick {
  double log_value;
  std::string label;  // empty: minor tick
};

// m * 10^decade as "20", "0.5" or "2e11".
std::string TickLabel(int mantissa, int decade) {
  if (decade >= -2 && decade <= 3) return absl::StrFormat("%g", mantissa * std::pow(10.0, decade));
  return mantissa == 1 ? absl::StrCat("1e", decade) : absl::StrCat(mantissa, "e", decade);
}

std::vector<Tick> TicksFor(const LogRange& r) {
  std::vector<Tick> ticks;
  const int first = static_cast<int>(std::ceil(r.lo)), last = static_cast<int>(std::floor(r.hi));
  if (last - first >= 1) {
    // Two or more decades: label decades, minor ticks at 2..9.
    const int step = std::max(1, (last - first + 7) / 8);
    for (int d = static_cast<int>(std::floor(r.lo)); d <= last; ++d) {
      if (d >= first && (d - first) % step == 0) ticks.push_back({double(d), TickLabel(1, d)});
      if (step == 1) {
        for (int m = 2; m <= 9; ++m) {
          const double v = d + std::log10(double(m));
          if (v >= r.lo && v <= r.hi) ticks.push_back({v, ""});
        }
      }
    }
    return ticks;
  }
  if (r.hi - r.lo >= 0.8) {
    // About one decade: label 1, 2 and 5 times powers of ten.
    for (int d = static_cast<int>(std::floor(r.lo)); d <= static_cast<int>(std::ceil(r.hi)); ++d) {
      for (int m : {1, 2, 5}) {
        const double v = d + std::log10(double(m));
        if (v >= r.lo && v <= r.hi) ticks.push_back({v, TickLabel(m, d)});
      }
    }
    return ticks;
  }
  // Less than a decade: 1-2-5 steps in value, placed on the log axis.
  const double lo = std::pow(10.0, r.lo), hi = std::pow(10.0, r.hi);
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5   ? mag
                      : raw / mag < 3.5 ? 2 * mag
                      : raw / mag < 7.5 ? 5 * mag
                                        : 10 * mag;
  for (double v = std::ceil(lo / step) * step; v <= hi; v += step) {
    if (v > 0) ticks.push_back({std::log10(v), absl::StrFormat("%g", v)});
  }
  return ticks;
}

bool Plottable(double x, double y) {
  return x > 0 && y > 0 && std::isfinite(x) && std::isfinite(y);
}

// A panel's plot area in pixels and its log ranges: where a value lands.
struct PlotArea {
  double left, right, top, bottom;
  LogRange xr, yr;
  double XAt(double log_value) const {
    return left + (log_value - xr.lo) / (xr.hi - xr.lo) * (right - left);
  }
  double YAt(double log_value) const {
    return bottom - (log_value - yr.lo) / (yr.hi - yr.lo) * (bottom - top);
  }
  double X(double v) const { return XAt(std::log10(v)); }
  double Y(double v) const { return YAt(std::log10(v)); }
};

// The frame, the title, ticks with grid lines and labels, and the axis labels.
void AppendAxes(const Panel& panel, const PlotArea& a, int x0, std::string& out) {
  absl::StrAppendFormat(
      &out,
      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\" "
      "stroke=\"#333333\" stroke-width=\"1\"/>\n",
      a.left, a.top, a.right - a.left, a.bottom - a.top);
  absl::StrAppendFormat(&out,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\" "
                        "font-weight=\"bold\">%s</text>\n",
                        (a.left + a.right) / 2, a.top - 12, XmlEscape(panel.title));
  out += "<g class=\"axes\" font-size=\"11\" fill=\"#333333\">\n";
  for (const Tick& t : TicksFor(a.xr)) {
    const double x = a.XAt(t.log_value);
    const double len = t.label.empty() ? 3 : 6;
    absl::StrAppendFormat(
        &out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n", x,
        a.bottom, x, a.bottom - len);
    if (!t.label.empty()) {
      absl::StrAppendFormat(
          &out,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n"
          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
          x, a.top, x, a.bottom - len, x, a.bottom + 16, XmlEscape(t.label));
    }
  }
  for (const Tick& t : TicksFor(a.yr)) {
    const double y = a.YAt(t.log_value);
    const double len = t.label.empty() ? 3 : 6;
    absl::StrAppendFormat(
        &out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n",
        a.left, y, a.left + len, y);
    if (!t.label.empty()) {
      absl::StrAppendFormat(
          &out,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n"
          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
          a.left + len, y, a.right, y, a.left - 6, y + 4, XmlEscape(t.label));
    }
  }
  absl::StrAppendFormat(
      &out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">%s</text>\n",
      (a.left + a.right) / 2, a.bottom + 36, XmlEscape(panel.x_label));
  absl::StrAppendFormat(&out,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
                        "transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n",
                        double(x0 + 16), (a.top + a.bottom) / 2, double(x0 + 16),
                        (a.top + a.bottom) / 2, XmlEscape(panel.y_label));
  out += "</g>\n";
}

// Every series as one <g data-series>, clipped to the plot area.
void AppendSeries(const Panel& panel, const PlotArea& a, const std::string& panel_id,
                  std::string& out) {
  absl::StrAppendFormat(&out,
                        "<clipPath id=\"%s-clip\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                        "height=\"%.1f\"/></clipPath>\n",
                        panel_id, a.left, a.top, a.right - a.left, a.bottom - a.top);
  absl::StrAppendFormat(&out, "<g clip-path=\"url(#%s-clip)\">\n", panel_id);
  for (const Series& s : panel.series) {
    const std::string id = SafeId(s.id);
    absl::StrAppendFormat(&out, "<g id=\"%s-%s\" data-series=\"%s\" class=\"series\">\n", panel_id,
                          id, id);
    std::string path;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!Plottable(s.x[i], s.y[i])) continue;
      if (s.style == SeriesStyle::kPoints) {
        absl::StrAppendFormat(&out, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.1f\" fill=\"%s\"/>\n",
                              a.X(s.x[i]), a.Y(s.y[i]), s.width, s.color);
      } else {
        absl::StrAppendFormat(&path, "%s%.2f %.2f ", path.empty() ? "M" : "L", a.X(s.x[i]),
                              a.Y(s.y[i]));
      }
    }
    if (!path.empty()) {
      absl::StrAppendFormat(
          &out, "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s/>\n", path,
          s.color, s.width, s.style == SeriesStyle::kDashedLine ? " stroke-dasharray=\"7 4\"" : "");
    }
    out += "</g>\n";
  }
  out += "</g>\n";
}

// The top-left corner of a w x h legend box: the corner of the plot area
// (top right first) whose box covers the fewest data points.
std::pair<double, double> LegendCorner(const Panel& panel, const PlotArea& a, double w, double h) {
  const double corners[4][2] = {{a.right - w - 6, a.top + 6},
                                {a.left + 6, a.top + 6},
                                {a.right - w - 6, a.bottom - h - 6},
                                {a.left + 6, a.bottom - h - 6}};
  int best = 0, best_count = std::numeric_limits<int>::max();
  for (int k = 0; k < 4; ++k) {
    int count = 0;
    for (const Series& s : panel.series) {
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
        if (!Plottable(s.x[i], s.y[i])) continue;
        const double x = a.X(s.x[i]), y = a.Y(s.y[i]);
        count += x >= corners[k][0] && x <= corners[k][0] + w && y >= corners[k][1] &&
                 y <= corners[k][1] + h;
      }
    }
    if (count < best_count) {
      best_count = count;
      best = k;
    }
  }
  return {corners[best][0], corners[best][1]};
}

// One entry per labelled series, inside the plot area; nothing without labels.
void AppendLegend(const Panel& panel, const PlotArea& a, std::string& out) {
  std::vector<const Series*> entries;
  for (const Series& s : panel.series) {
    if (!s.label.empty()) entries.push_back(&s);
  }
  if (entries.empty()) return;
  size_t longest = 0;
  for (const Series* s : entries) longest = std::max(longest, s->label.size());
  const double w = 34 + 6.2 * longest, h = 6 + 16.0 * entries.size();
  const auto [lx, ly] = LegendCorner(panel, a, w, h);
  absl::StrAppendFormat(
      &out,
      "<g class=\"legend\" font-size=\"11\">\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
      "height=\"%.1f\" fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#999999\"/>\n",
      lx, ly, w, h);
  for (size_t i = 0; i < entries.size(); ++i) {
    const Series& s = *entries[i];
    const double y = ly + 14 + 16.0 * i;
    if (s.style == SeriesStyle::kPoints) {
      absl::StrAppendFormat(&out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                            lx + 15, y - 4, s.color);
    } else {
      absl::StrAppendFormat(&out,
                            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                            "stroke-width=\"2\"%s/>\n",
                            lx + 6, y - 4, lx + 26, y - 4, s.color,
                            s.style == SeriesStyle::kDashedLine ? " stroke-dasharray=\"5 3\"" : "");
    }
    absl::StrAppendFormat(&out, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", lx + 30, y,
                          XmlEscape(s.label));
  }
  out += "</g>\n";
}

// One panel in the cell at (x0, y0) of the given size: axes, series, legend.
std::string RenderPanel(const std::string& figure_id, int panel_index, const Panel& panel, int x0,
                        int y0, int width, int height) {
  const PlotArea area{.left = double(x0 + kMarginLeft),
                      .right = double(x0 + width - kMarginRight),
                      .top = double(y0 + kMarginTop),
                      .bottom = double(y0 + height - kMarginBottom),
                      .xr = RangeOf(panel, true),
                      .yr = RangeOf(panel, false)};
  const std::string panel_id = absl::StrCat(figure_id, "-panel", panel_index);
  std::string out = absl::StrFormat("<g id=\"%s\" class=\"panel\">\n", panel_id);
  AppendAxes(panel, area, x0, out);
  AppendSeries(panel, area, panel_id, out);
  AppendLegend(panel, area, out);
  out += "</g>\n";
  return out;
}

}  // namespace

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string RenderSvg(const std::string& figure_id, const std::string& title,
                      std::span<const Panel> panels, const FigureStyle& style) {
  const int columns = std::max(1, std::min<int>(style.columns, std::max<size_t>(panels.size(), 1)));
  const int rows = std::max<int>(1, (static_cast<int>(panels.size()) + columns - 1) / columns);
  const int width = columns * style.panel_width, height = kTitleHeight + rows * style.panel_height;
  const std::string id = SafeId(figure_id);
  std::string out = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" id=\"%s\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
      "<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"16\" "
      "font-weight=\"bold\">%s</text>\n",
      width, height, width, height, id, width / 2, XmlEscape(title));
  for (size_t i = 0; i < panels.size(); ++i) {
    const int col = static_cast<int>(i) % columns, row = static_cast<int>(i) / columns;
    out +=
        RenderPanel(id, static_cast<int>(i), panels[i], col * style.panel_width,
                    kTitleHeight + row * style.panel_height, style.panel_width, style.panel_height);
  }
  out += "</svg>\n";
  return out;
}

}  // namespace flopwise::plot
