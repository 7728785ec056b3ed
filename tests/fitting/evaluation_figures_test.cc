#include "plot/evaluation_figures.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/fitting/evaluation_rows.h"

namespace flopwise::plot {
namespace {

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(DownstreamFigure, OnePanelPerAccuracyMetricOneSeriesPerArch) {
  const std::optional<NamedSvg> fig = DownstreamFigure(fitting::HandMadeEvaluation(0.5, 0.9));
  ASSERT_TRUE(fig.has_value());
  EXPECT_EQ(fig->name, "downstream");
  // brown-continuation acc and acc_norm, the two needle modes' weighted accuracy.
  EXPECT_EQ(Count(fig->svg, "data-series=\"acc-llama\""), 4u) << fig->svg;
  EXPECT_EQ(Count(fig->svg, "data-series=\"acc-hgrn2\""), 4u);
  EXPECT_EQ(Count(fig->svg, "data-series=\"chance\""), 4u);
  EXPECT_NE(fig->svg.find("brown-continuation: acc_norm"), std::string::npos);
  EXPECT_EQ(fig->svg.find("niah_score"), std::string::npos);
  EXPECT_EQ(fig->svg.find("validation"), std::string::npos);
}

TEST(DownstreamFigure, NothingToDrawWithoutAccuracies) {
  fitting::StudyEvaluation eval = fitting::HandMadeEvaluation(0.5, 0.5);
  std::erase_if(eval.rows, [](const fitting::EvaluationRow& r) { return r.task != "validation"; });
  EXPECT_FALSE(DownstreamFigure(eval).has_value());
  auto stem = WriteDownstreamFigure(eval, ::testing::TempDir());
  ASSERT_TRUE(stem.ok()) << stem.status();
  EXPECT_EQ(*stem, "");
}

TEST(DownstreamFigure, WritesSvgAndPng) {
  const std::string dir = ::testing::TempDir() + "/downstream_figure_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto stem = WriteDownstreamFigure(fitting::HandMadeEvaluation(0.5, 0.9), dir);
  ASSERT_TRUE(stem.ok()) << stem.status();
  EXPECT_EQ(*stem, "downstream");
  EXPECT_GT(std::filesystem::file_size(dir + "/downstream.svg"), 0u);
  EXPECT_GT(std::filesystem::file_size(dir + "/downstream.png"), 0u);
}

}  // namespace
}  // namespace flopwise::plot
