// Charts as plain SVG: lines and dots on linear or log axes, with a legend.
// drawChart(svg, {series, xLabel, yLabel, logX, logY}) redraws `svg` in place;
// each series is {name, color, points: [[x, y], ...], style: "line" | "dots" | "dashed"}.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function svgElement(name, attributes, text) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes || {})) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

// About five round tick values over [lo, hi] (in axis space: log10 for log axes).
function ticks(lo, hi, log) {
  if (log) {
    const out = [];
    for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) out.push(e);
    if (out.length >= 2) return out;
  }
  const span = hi - lo || 1;
  const step0 = Math.pow(10, Math.floor(Math.log10(span / 5)));
  const step = [1, 2, 5, 10].map((m) => m * step0).find((s) => span / s <= 6);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(v);
  return out;
}

function formatTick(value, log) {
  const v = log ? Math.pow(10, value) : value;
  if (v === 0) return "0";
  const magnitude = Math.abs(v);
  if (magnitude >= 1e4 || magnitude < 1e-2) return v.toExponential(log ? 0 : 1).replace("+", "");
  return String(Number(v.toPrecision(3)));
}

function drawChart(svg, options) {
  const width = 720, height = 360;
  const margin = {left: 64, right: 16, top: 12, bottom: 44};
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const toX = (x) => (options.logX ? Math.log10(x) : x);
  const toY = (y) => (options.logY ? Math.log10(y) : y);
  const usable = (p) => Number.isFinite(toX(p[0])) && Number.isFinite(toY(p[1]));
  const all = options.series.flatMap((s) => s.points.filter(usable));
  if (all.length === 0) {
    svg.appendChild(svgElement("text", {x: width / 2, y: height / 2, "text-anchor": "middle",
                                        class: "empty"}, "no points yet"));
    return;
  }
  let [x0, x1] = [Math.min(...all.map((p) => toX(p[0]))), Math.max(...all.map((p) => toX(p[0])))];
  let [y0, y1] = [Math.min(...all.map((p) => toY(p[1]))), Math.max(...all.map((p) => toY(p[1])))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  const sx = (x) => margin.left + ((toX(x) - x0) / (x1 - x0)) * (width - margin.left - margin.right);
  const sy = (y) => height - margin.bottom - ((toY(y) - y0) / (y1 - y0)) *
                                                 (height - margin.top - margin.bottom);
  const axes = svgElement("g", {class: "axes"});
  for (const t of ticks(x0, x1, options.logX)) {
    const x = margin.left + ((t - x0) / (x1 - x0)) * (width - margin.left - margin.right);
    axes.appendChild(svgElement("line", {x1: x, x2: x, y1: margin.top, y2: height - margin.bottom,
                                         class: "grid"}));
    axes.appendChild(svgElement("text", {x, y: height - margin.bottom + 16, "text-anchor": "middle"},
                                formatTick(t, options.logX)));
  }
  for (const t of ticks(y0, y1, options.logY)) {
    const y = height - margin.bottom - ((t - y0) / (y1 - y0)) * (height - margin.top - margin.bottom);
    axes.appendChild(svgElement("line", {x1: margin.left, x2: width - margin.right, y1: y, y2: y,
                                         class: "grid"}));
    axes.appendChild(svgElement("text", {x: margin.left - 6, y: y + 4, "text-anchor": "end"},
                                formatTick(t, options.logY)));
  }
  axes.appendChild(svgElement("text", {x: (width + margin.left) / 2, y: height - 6,
                                       "text-anchor": "middle", class: "label"}, options.xLabel));
  axes.appendChild(svgElement("text", {x: 14, y: (height - margin.bottom) / 2, class: "label",
                                       transform: `rotate(-90 14 ${(height - margin.bottom) / 2})`,
                                       "text-anchor": "middle"}, options.yLabel));
  svg.appendChild(axes);
  let legendY = margin.top + 12;
  for (const series of options.series) {
    const points = series.points.filter(usable);
    const group = svgElement("g", {"data-series": series.name, "data-points": points.length});
    if (series.style === "dots") {
      for (const p of points) {
        group.appendChild(svgElement("circle", {cx: sx(p[0]), cy: sy(p[1]), r: 2.5,
                                                fill: series.color}));
      }
    } else if (points.length > 0) {
      const d = points.map((p, i) => `${i ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`);
      group.appendChild(svgElement("path", {d: d.join(""), fill: "none", stroke: series.color,
                                            "stroke-width": series.style === "dashed" ? 2 : 1.5,
                                            "stroke-dasharray": series.style === "dashed" ? "6 4" : ""}));
    }
    if (series.name) {
      group.appendChild(svgElement("rect", {x: width - margin.right - 180, y: legendY - 9,
                                            width: 10, height: 10, fill: series.color}));
      group.appendChild(svgElement("text", {x: width - margin.right - 165, y: legendY,
                                            class: "legend"}, series.name));
      legendY += 15;
    }
    svg.appendChild(group);
  }
}
