// PrometheusText: the text exposition format 0.0.4 as written.
#include "server/prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace flopwise::server {
namespace {

TEST(PrometheusTextTest, WritesHelpTypeAndEscapedLabelValues) {
  PrometheusText page;
  page.Family("flopwise_x", PrometheusText::Type::kGauge, "Help with \\ and\na newline.");
  page.Sample({}, 3);
  page.Sample({{"a", "q\"b\\s\nn"}, {"b", ""}}, 0.25);
  EXPECT_EQ(page.text(),
            "# HELP flopwise_x Help with \\\\ and\\na newline.\n"
            "# TYPE flopwise_x gauge\n"
            "flopwise_x 3\n"
            "flopwise_x{a=\"q\\\"b\\\\s\\nn\",b=\"\"} 0.25\n");
}

TEST(PrometheusTextTest, WritesSpecialValuesAndInvalidUtf8) {
  PrometheusText page;
  page.Family("flopwise_total", PrometheusText::Type::kCounter, "h");
  page.Sample({{"v", "\xff"}}, std::numeric_limits<double>::quiet_NaN());
  page.Sample({}, std::numeric_limits<double>::infinity());
  page.Sample({}, -std::numeric_limits<double>::infinity());
  page.Sample({}, 1e21);
  page.Sample({}, 123456789012.0);
  page.Sample({}, 0.0005);
  page.Sample({}, -0.0);
  page.Sample({}, 1234.5);
  EXPECT_EQ(page.text(),
            "# HELP flopwise_total h\n# TYPE flopwise_total counter\n"
            "flopwise_total{v=\"\xef\xbf\xbd\"} NaN\n"
            "flopwise_total +Inf\nflopwise_total -Inf\nflopwise_total 1e+21\n"
            "flopwise_total 123456789012\nflopwise_total 0.0005\n"
            "flopwise_total 0\nflopwise_total 1234.5\n");
}

TEST(PrometheusTextTest, WritesHistogramBucketsSumAndCount) {
  PrometheusText page;
  page.Family("flopwise_seconds", PrometheusText::Type::kHistogram, "h");
  page.Histogram(
      {{"method", "m"}},
      HistogramValue{
          .upper_bounds = {0.5, 1}, .cumulative_counts = {1, 2}, .count = 3, .sum = 4.5});
  EXPECT_EQ(page.text(),
            "# HELP flopwise_seconds h\n# TYPE flopwise_seconds histogram\n"
            "flopwise_seconds_bucket{method=\"m\",le=\"0.5\"} 1\n"
            "flopwise_seconds_bucket{method=\"m\",le=\"1\"} 2\n"
            "flopwise_seconds_bucket{method=\"m\",le=\"+Inf\"} 3\n"
            "flopwise_seconds_sum{method=\"m\"} 4.5\n"
            "flopwise_seconds_count{method=\"m\"} 3\n");
}

}  // namespace
}  // namespace flopwise::server
