#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "fitting/fit.h"
#include "fitting/synthetic.h"
#include "plot/raster.h"
#include "plot/scaling_figures.h"

namespace flopwise::plot {
namespace {

// A strict-enough XML check: balanced tags, quoted attributes, no stray '<'
// or '&'. Returns "" when well formed, else what is wrong.
std::string WellFormedness(const std::string& xml) {
  std::vector<std::string> stack;
  size_t i = 0;
  while ((i = xml.find('<', i)) != std::string::npos) {
    const size_t end = xml.find('>', i);
    if (end == std::string::npos) return "unterminated tag";
    std::string tag = xml.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.starts_with("?") || tag.starts_with("!")) continue;
    if (tag.starts_with("/")) {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
      stack.pop_back();
      continue;
    }
    const bool self_closing = tag.ends_with("/");
    const std::string name = tag.substr(0, tag.find_first_of(" \n/"));
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0)
      return "unbalanced quotes in <" + name + ">";
    if (!self_closing) stack.push_back(name);
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  for (size_t a = xml.find('&'); a != std::string::npos; a = xml.find('&', a + 1)) {
    if (xml.compare(a, 5, "&amp;") && xml.compare(a, 4, "&lt;") && xml.compare(a, 4, "&gt;") &&
        xml.compare(a, 6, "&quot;") && xml.compare(a, 6, "&apos;")) {
      return "bare '&'";
    }
  }
  return "";
}

std::set<std::string> SeriesIds(const std::string& svg) {
  std::set<std::string> ids;
  const std::string key = "data-series=\"";
  for (size_t i = svg.find(key); i != std::string::npos; i = svg.find(key, i + 1)) {
    const size_t start = i + key.size();
    ids.insert(svg.substr(start, svg.find('"', start) - start));
  }
  return ids;
}

struct Figures {
  std::vector<fitting::CheckpointRecord> records;
  fitting::FitReport fit;
};

Figures Fitted() {
  Figures f;
  for (const auto& law : fitting::PublishedPaperLaws()) {
    if (law.arch != "llama" && law.arch != "tnl") continue;
    fitting::PaperCurveOptions data;
    data.model_sizes = 5;
    data.checkpoints_per_run = 12;
    const auto r = fitting::PaperLawRecords(law, data);
    f.records.insert(f.records.end(), r.begin(), r.end());
  }
  fitting::FitOptions options;
  options.unit = fitting::ComputeUnit::kPfDays;
  options.methods = fitting::kPaper;
  f.fit = *fitting::FitScalingLaws(f.records, options);
  return f;
}

TEST(Plot, FigureOneLayoutAndOverlayAreWellFormedWithTheExpectedSeries) {
  const Figures f = Fitted();
  const std::vector<NamedSvg> figures = ScalingFigures(f.records, f.fit);
  ASSERT_EQ(figures.size(), 3u);
  EXPECT_EQ(figures[0].name, "llama_figure1");
  EXPECT_EQ(figures[2].name, "overlay");
  for (const NamedSvg& fig : figures) EXPECT_EQ(WellFormedness(fig.svg), "") << fig.name;
  const std::set<std::string> arch_series = SeriesIds(figures[0].svg);
  for (const char* id :
       {"envelope", "fit-L", "nopt-points", "fit-nopt", "dopt-points", "fit-dopt"}) {
    EXPECT_TRUE(arch_series.contains(id)) << id;
  }
  int runs = 0;
  for (const std::string& id : arch_series) runs += id.starts_with("run-llama");
  EXPECT_EQ(runs, 5);
  EXPECT_NE(figures[0].svg.find("C in PF-days"), std::string::npos);
  const std::set<std::string> overlay = SeriesIds(figures[2].svg);
  for (const char* id : {"envelope-llama", "fit-L-llama", "envelope-tnl", "fit-L-tnl"}) {
    EXPECT_TRUE(overlay.contains(id)) << id;
  }
}

TEST(Plot, WellFormednessCheckCatchesBrokenXml) {
  EXPECT_NE(WellFormedness("<svg><g></svg>"), "");
  EXPECT_NE(WellFormedness("<svg><text>a & b</text></svg>"), "");
  EXPECT_EQ(WellFormedness("<svg><g a=\"1\"/><text>a &amp; b</text></svg>"), "");
}

TEST(Plot, WritesSvgAndPngFiles) {
  const Figures f = Fitted();
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("flopwise_plot_test_" + std::to_string(::getpid())))
                              .string();
  auto written = WriteScalingFigures(f.records, f.fit, dir);
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_EQ(written->size(), 6u);
  for (const std::string& path : *written) {
    std::ifstream in(path, std::ios::binary);
    std::string head(8, '\0');
    in.read(head.data(), 8);
    if (path.ends_with(".png")) {
      EXPECT_EQ(head, std::string("\x89PNG\r\n\x1a\n", 8)) << path;
      EXPECT_GT(std::filesystem::file_size(path), 20000u) << path;
    } else if (std::system("command -v xmllint >/dev/null 2>&1") == 0) {
      EXPECT_EQ(std::system(("xmllint --noout " + path).c_str()), 0) << path;
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(Plot, PngRejectsInvalidSvg) {
  const absl::Status s = WritePng("<svg><g></svg>", "/tmp/never.png");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

}  // namespace
}  // namespace flopwise::plot
