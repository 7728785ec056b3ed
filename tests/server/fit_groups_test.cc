// examples/sweeps/paper-grid.yaml as the coordinator fits it: its runs carry
// their grids and settings, fall into the main ladder, the context study and
// the aspect-ratio study per architecture, and give the paper's two side
// tables.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "fitting/grouping.h"
#include "fitting/side_studies.h"
#include "runspec/architecture.h"
#include "server/fit_inputs.h"
#include "server/sweep_expand.h"

namespace flopwise::server {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Two checkpoints per run with made-up losses, as the coordinator would read them.
std::vector<fitting::CheckpointRecord> PaperGridRecords() {
  auto compiled = CompileSweep(ReadFile("examples/sweeps/paper-grid.yaml"), /*base_dir=*/"");
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  std::vector<fitting::CheckpointRecord> records;
  if (!compiled.ok()) return records;
  for (const RunPlan& plan : compiled->runs) {
    auto settings = RunSettingsOf(plan);
    EXPECT_TRUE(settings.ok()) << settings.status();
    for (double tokens : {1e10, 3e10}) {
      fitting::CheckpointRecord r;
      r.arch = runspec::ArchName(plan.config().model().arch());
      r.run = plan.name();
      r.n_params = static_cast<double>(plan.params_non_embedding());
      r.tokens = tokens;
      r.flops = 6 * r.n_params * tokens;
      r.loss = 40 / std::log(r.n_params * tokens);
      r.settings = *settings;
      records.push_back(r);
    }
  }
  return records;
}

TEST(PaperGridFits, RunsNameTheGridsThatAskedForThem) {
  auto compiled = CompileSweep(ReadFile("examples/sweeps/paper-grid.yaml"), /*base_dir=*/"");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  std::map<std::string, int> by_grids;
  for (const RunPlan& plan : compiled->runs) {
    std::string grids;
    for (const std::string& g : plan.grids()) grids += (grids.empty() ? "" : "+") + g;
    ++by_grids[grids];
  }
  // The 1B main run of each architecture is also the aspect study's 1536/32 shape.
  EXPECT_EQ(by_grids, (std::map<std::string, int>{
                          {"main", 20}, {"main+aspect", 4}, {"context", 12}, {"aspect", 12}}));
}

TEST(PaperGridFits, EachArchitectureSplitsIntoTheMainLadderAndTheSideStudies) {
  auto grouped = fitting::GroupRecords(PaperGridRecords(), fitting::Grouping{});
  ASSERT_TRUE(grouped.ok()) << grouped.status();
  std::map<std::string, std::set<std::string>> runs;  // "arch [group]" -> runs
  for (const fitting::CheckpointRecord& r : *grouped) {
    runs[r.arch + " [" + r.group + "]"].insert(r.run);
  }
  std::map<std::string, size_t> counts;
  for (const auto& [group, names] : runs) counts[group] = names.size();
  std::map<std::string, size_t> expected;
  for (const char* arch : {"llama", "tnl", "hgrn2", "cos2"}) {
    const std::string a(arch);
    expected[a + " [grid=main, context=8192]"] = 6;
    expected[a + " [grid=context, context=2048]"] = 1;
    expected[a + " [grid=context, context=4096]"] = 1;
    expected[a + " [grid=context, context=16384]"] = 1;
    expected[a + " [grid=aspect, context=8192]"] = 3;
  }
  EXPECT_EQ(counts, expected);
}

TEST(PaperGridFits, TheSideStudiesAreThePapersTablesFiveAndSix) {
  auto studies = fitting::FindSideStudies(PaperGridRecords(), fitting::LossMetric::kAuto);
  ASSERT_TRUE(studies.ok()) << studies.status();
  EXPECT_EQ(studies->metric, fitting::LossMetric::kTrain);
  ASSERT_TRUE(studies->context.has_value());
  EXPECT_EQ(studies->context->columns, (std::vector<std::string>{"2048", "4096", "8192", "16384"}));
  EXPECT_EQ(studies->context->rows.size(), 4u);  // one per architecture
  ASSERT_TRUE(studies->aspect_ratio.has_value());
  EXPECT_EQ(studies->aspect_ratio->columns,
            (std::vector<std::string>{"1536/32", "1792/24", "2048/18", "3072/8"}));
  ASSERT_EQ(studies->aspect_ratio->rows.size(), 4u);
  for (const fitting::SideStudyRow& row : studies->aspect_ratio->rows) {
    for (const std::string& run : row.runs) EXPECT_FALSE(run.empty()) << row.arch;
  }
}

}  // namespace
}  // namespace flopwise::server
