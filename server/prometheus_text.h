// PrometheusText: a page in the Prometheus text exposition format, version
// 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
// each family's `# HELP` and `# TYPE` lines, then its samples, with label
// values and help text escaped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flopwise::server {

// Label names and values in the order written. Names must be valid
// Prometheus label names; values may hold any text (escaped when written).
using PromLabels = std::vector<std::pair<std::string, std::string>>;

// A histogram as Prometheus reads it: cumulative counts per upper bound
// (ascending, without +Inf, which is `count`).
struct HistogramValue {
  std::vector<double> upper_bounds;
  std::vector<uint64_t> cumulative_counts;  // one per upper bound
  uint64_t count = 0;
  double sum = 0;
};

class PrometheusText {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  // Starts the family `name` (a valid metric name; a counter's ends in
  // `_total`); the samples written until the next Family() belong to it.
  void Family(std::string_view name, Type type, std::string_view help);
  // One sample of the current counter or gauge family.
  void Sample(const PromLabels& labels, double value);
  // The `_bucket` (one per bound and `+Inf`), `_sum` and `_count` samples of
  // the current histogram family.
  void Histogram(const PromLabels& labels, const HistogramValue& value);

  const std::string& text() const { return text_; }

 private:
  void Line(std::string_view suffix, const PromLabels& labels, double value);

  std::string family_;
  std::string text_;
};

// The content type of the page.
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace flopwise::server
