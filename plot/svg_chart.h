// A small SVG writer for log-log charts: panels with axes, decade (or 1-2-5)
// ticks, labels, legends. Every series is one <g> element carrying
// data-series="<id>" (and id="<figure>-<panel>-<id>"), so that tests and
// scripts can find a series by name.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace flopwise::plot {

enum class SeriesStyle { kLine, kDashedLine, kPoints };

struct Series {
  std::string id;     // [A-Za-z0-9_-]; other characters become '_'
  std::string label;  // legend text; empty: not in the legend
  SeriesStyle style = SeriesStyle::kLine;
  std::string color = "#1f77b4";
  double width = 1.5;        // stroke width, or point radius for kPoints
  std::vector<double> x, y;  // non-positive or non-finite pairs are skipped (log axes)
};

struct Panel {
  std::string title;
  std::string x_label, y_label;
  std::vector<Series> series;
};

struct FigureStyle {
  int columns = 3;
  int panel_width = 440;   // px
  int panel_height = 360;  // px
};

// Renders the panels in a grid under `title`. `figure_id` prefixes element ids.
std::string RenderSvg(const std::string& figure_id, const std::string& title,
                      std::span<const Panel> panels, const FigureStyle& style);

// Escapes &, <, >, " and ' for XML text and attributes.
std::string XmlEscape(const std::string& text);

}  // namespace flopwise::plot
