#include "server/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>

#include "base/utf8.h"

namespace flopwise::server {
namespace {

// `\` and newline escaped, and `"` too in label values; text that is not
// UTF-8 has its invalid bytes replaced.
void AppendEscaped(std::string_view text, bool quote, std::string* out) {
  const std::string valid = ReplaceInvalidUtf8(text);
  for (const char c : valid) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"' && quote) {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

// Go's ParseFloat syntax, which Prometheus reads: whole numbers in full,
// others as the shortest decimal that reads back as `value` (exponent
// notation for very large or small ones, as printf's %g), and NaN, +Inf, -Inf.
void AppendValue(double value, std::string* out) {
  if (std::isnan(value)) {
    *out += "NaN";
  } else if (std::isinf(value)) {
    *out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[32];
    // Whole numbers up to 2^53 (counts, bytes) in full; others as %g would.
    const bool whole = std::abs(value) <= 0x1p53 && value == std::trunc(value);
    const std::to_chars_result end =
        whole ? std::to_chars(buffer, buffer + sizeof(buffer), static_cast<int64_t>(value))
              : std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::general);
    out->append(buffer, end.ptr);
  }
}

std::string_view TypeName(PrometheusText::Type type) {
  switch (type) {
    case PrometheusText::Type::kCounter:
      return "counter";
    case PrometheusText::Type::kGauge:
      return "gauge";
    case PrometheusText::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

void PrometheusText::Family(std::string_view name, Type type, std::string_view help) {
  family_ = std::string(name);
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  AppendEscaped(help, /*quote=*/false, &text_);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += TypeName(type);
  text_ += '\n';
}

void PrometheusText::Sample(const PromLabels& labels, double value) { Line("", labels, value); }

void PrometheusText::Histogram(const PromLabels& labels, const HistogramValue& value) {
  PromLabels bucket = labels;
  bucket.emplace_back("le", "");
  for (size_t i = 0; i < value.upper_bounds.size(); ++i) {
    bucket.back().second.clear();
    AppendValue(value.upper_bounds[i], &bucket.back().second);
    Line("_bucket", bucket, static_cast<double>(value.cumulative_counts[i]));
  }
  bucket.back().second = "+Inf";
  Line("_bucket", bucket, static_cast<double>(value.count));
  Line("_sum", labels, value.sum);
  Line("_count", labels, static_cast<double>(value.count));
}

void PrometheusText::Line(std::string_view suffix, const PromLabels& labels, double value) {
  text_ += family_;
  text_ += suffix;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) text_ += ',';
      text_ += labels[i].first;
      text_ += "=\"";
      AppendEscaped(labels[i].second, /*quote=*/true, &text_);
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
  AppendValue(value, &text_);
  text_ += '\n';
}

}  // namespace flopwise::server
