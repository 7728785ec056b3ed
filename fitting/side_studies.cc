// FindSideStudies: records -> runs -> rows of runs that differ in one setting.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "fitting/side_studies.h"

namespace flopwise::fitting {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One run: its settings and its (tokens, loss) checkpoints by tokens.
struct Run {
  std::string arch, name;
  double n_params = 0;
  RunSettings settings;
  std::vector<std::pair<double, double>> points;
  double final_tokens() const { return points.back().first; }
};

std::vector<Run> CollectRuns(std::span<const CheckpointRecord> records, LossMetric metric) {
  std::map<std::pair<std::string, std::string>, Run> runs;
  for (const CheckpointRecord& r : records) {
    const double loss = metric == LossMetric::kValidation ? r.validation_loss : r.loss;
    if (!(loss > 0 && std::isfinite(loss) && r.tokens > 0 && std::isfinite(r.tokens))) continue;
    Run& run = runs[{r.arch, r.run}];
    if (run.points.empty()) {
      run.arch = r.arch;
      run.name = r.run;
      run.n_params = r.n_params;
      run.settings = r.settings;
    }
    run.points.emplace_back(r.tokens, loss);
  }
  std::vector<Run> out;
  for (auto& [key, run] : runs) {
    std::sort(run.points.begin(), run.points.end());
    out.push_back(std::move(run));
  }
  return out;
}

// The run's loss at `tokens` (<= its final tokens), linear in log tokens
// between the checkpoints around it; the first checkpoint's below it.
double LossAt(const Run& run, double tokens) {
  const auto& p = run.points;
  auto above = std::lower_bound(p.begin(), p.end(), std::make_pair(tokens, -1.0));
  if (above == p.end()) return p.back().second;
  if (above->first == tokens || above == p.begin()) return above->second;
  const auto below = std::prev(above);
  const double t = (std::log(tokens) - std::log(below->first)) /
                   (std::log(above->first) - std::log(below->first));
  return below->second + t * (above->second - below->second);
}

// A row from runs of one architecture, each under its column label.
SideStudyRow MakeRow(const std::vector<std::pair<std::string, const Run*>>& cells,
                     const std::vector<std::string>& columns) {
  SideStudyRow row;
  row.arch = cells.front().second->arch;
  row.n_params = std::numeric_limits<double>::infinity();
  row.tokens = std::numeric_limits<double>::infinity();
  for (const auto& [column, run] : cells) {
    row.n_params = std::min(row.n_params, run->n_params);
    row.tokens = std::min(row.tokens, run->final_tokens());
  }
  row.loss.assign(columns.size(), kNaN);
  row.runs.assign(columns.size(), "");
  for (const auto& [column, run] : cells) {
    const size_t c = std::find(columns.begin(), columns.end(), column) - columns.begin();
    row.loss[c] = LossAt(*run, row.tokens);
    row.runs[c] = run->name;
  }
  return row;
}

// Rows (runs keyed by their column, each row with two or more columns) as a
// study with the columns in `order` (which sorts the column labels' keys).
template <typename ColumnKey>
std::optional<SideStudy> MakeStudy(
    const std::vector<std::vector<std::pair<ColumnKey, const Run*>>>& row_runs,
    std::string (*label)(const ColumnKey&)) {
  std::map<ColumnKey, std::string> columns;
  std::vector<std::vector<std::pair<ColumnKey, const Run*>>> rows;
  for (const auto& runs : row_runs) {
    std::map<ColumnKey, const Run*> by_column;
    for (const auto& [key, run] : runs) {
      // Two runs of one column (a longer budget of the same setting): the longer.
      auto [it, inserted] = by_column.emplace(key, run);
      if (!inserted && run->final_tokens() > it->second->final_tokens()) it->second = run;
    }
    if (by_column.size() < 2) continue;
    rows.emplace_back(by_column.begin(), by_column.end());
    for (const auto& [key, run] : by_column) columns.emplace(key, label(key));
  }
  if (rows.empty()) return std::nullopt;
  SideStudy study;
  for (const auto& [key, text] : columns) study.columns.push_back(text);
  for (const auto& runs : rows) {
    std::vector<std::pair<std::string, const Run*>> cells;
    for (const auto& [key, run] : runs) cells.emplace_back(columns.at(key), run);
    study.rows.push_back(MakeRow(cells, study.columns));
  }
  std::sort(study.rows.begin(), study.rows.end(), [](const SideStudyRow& a, const SideStudyRow& b) {
    return std::tie(a.arch, a.n_params) < std::tie(b.arch, b.n_params);
  });
  return study;
}

std::string ContextLabel(const int& context) { return absl::StrCat(context); }

std::string ShapeLabel(const std::pair<int, int>& d_model_layers) {
  return absl::StrCat(d_model_layers.first, "/", d_model_layers.second);
}

std::optional<SideStudy> ContextStudy(const std::vector<Run>& runs) {
  using Shape = std::tuple<std::string, double, int, int, int, std::string>;
  std::map<Shape, std::vector<std::pair<int, const Run*>>> by_shape;
  for (const Run& run : runs) {
    const RunSettings& s = run.settings;
    if (s.context <= 0) continue;
    by_shape[{run.arch, run.n_params, s.layers, s.d_model, s.vocab, s.flags}].emplace_back(
        s.context, &run);
  }
  std::vector<std::vector<std::pair<int, const Run*>>> rows;
  for (auto& [shape, row] : by_shape) rows.push_back(std::move(row));
  return MakeStudy<int>(rows, &ContextLabel);
}

std::optional<SideStudy> AspectRatioStudy(const std::vector<Run>& runs) {
  using Setting = std::tuple<std::string, int, int, std::string>;
  std::map<Setting, std::vector<const Run*>> by_setting;
  for (const Run& run : runs) {
    const RunSettings& s = run.settings;
    if (s.layers <= 0 || s.d_model <= 0) continue;
    by_setting[{run.arch, s.context, s.vocab, s.flags}].push_back(&run);
  }
  using Column = std::pair<int, int>;  // d_model, layers
  std::vector<std::vector<std::pair<Column, const Run*>>> rows;
  for (auto& [setting, setting_runs] : by_setting) {
    std::sort(setting_runs.begin(), setting_runs.end(),
              [](const Run* a, const Run* b) { return a->n_params < b->n_params; });
    // Clusters of sizes within the tolerance of their smallest.
    for (size_t first = 0; first < setting_runs.size();) {
      size_t end = first;
      std::vector<std::pair<Column, const Run*>> row;
      while (end < setting_runs.size() &&
             setting_runs[end]->n_params <=
                 setting_runs[first]->n_params * (1 + kFixedSizeTolerance)) {
        const RunSettings& s = setting_runs[end]->settings;
        row.emplace_back(Column{s.d_model, s.layers}, setting_runs[end]);
        ++end;
      }
      rows.push_back(std::move(row));
      first = end;
    }
  }
  return MakeStudy<Column>(rows, &ShapeLabel);
}

}  // namespace

absl::StatusOr<SideStudies> FindSideStudies(std::span<const CheckpointRecord> records,
                                            LossMetric metric) {
  absl::StatusOr<LossMetric> resolved = ResolveLossMetric(records, metric);
  if (!resolved.ok()) return resolved.status();
  SideStudies studies;
  studies.metric = *resolved;
  const std::vector<Run> runs = CollectRuns(records, studies.metric);
  studies.context = ContextStudy(runs);
  studies.aspect_ratio = AspectRatioStudy(runs);
  return studies;
}

}  // namespace flopwise::fitting
