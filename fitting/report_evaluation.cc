#include "fitting/report_evaluation.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "fitting/report.h"

namespace flopwise::fitting {
namespace {

using TaskMetric = std::pair<std::string, std::string>;

// The metrics the table shows, in this order within a task; the evaluator's
// other numbers (perplexity, window and document counts) stay out.
constexpr const char* kShownMetrics[] = {"loss",       "bits_per_byte", "weighted_average_accuracy",
                                         "niah_score", "acc",           "acc_norm"};

int MetricOrder(const std::string& metric) {
  for (int i = 0; i < static_cast<int>(std::size(kShownMetrics)); ++i) {
    if (metric == kShownMetrics[i]) return i;
  }
  return -1;
}

// validation first, then the needle modes, then every other task by name.
int TaskOrder(const std::string& task) {
  if (task == "validation") return 0;
  if (task.starts_with("needle")) return 1;
  return 2;
}

bool IsNeedle(const std::string& task) { return task.starts_with("needle"); }

std::string MetricLabel(const TaskMetric& tm) {
  const auto& [task, metric] = tm;
  if (task == "validation") return metric == "loss" ? "validation loss" : "validation bpb";
  if (metric == "weighted_average_accuracy") return task + " weighted acc";
  if (metric == "niah_score") return task + " NIAH score";
  return absl::StrCat(task, " ", metric);
}

std::vector<TaskMetric> ShownColumns(const std::vector<RunEvaluation>& runs,
                                     const std::string& arch) {
  std::set<TaskMetric> seen;
  for (const RunEvaluation& r : runs) {
    if (r.arch != arch) continue;
    for (const auto& [tm, v] : r.last) {
      if (MetricOrder(tm.second) >= 0) seen.insert(tm);
    }
  }
  std::vector<TaskMetric> columns(seen.begin(), seen.end());
  std::stable_sort(columns.begin(), columns.end(), [](const TaskMetric& a, const TaskMetric& b) {
    return std::tuple(TaskOrder(a.first), a.first, MetricOrder(a.second)) <
           std::tuple(TaskOrder(b.first), b.first, MetricOrder(b.second));
  });
  return columns;
}

void AppendArchTable(std::string& out, const std::vector<RunEvaluation>& runs,
                     const std::string& arch) {
  const std::vector<TaskMetric> columns = ShownColumns(runs, arch);
  absl::StrAppend(&out, "### ", arch, "\n\n| run | N | step | tokens |");
  for (const TaskMetric& tm : columns) absl::StrAppend(&out, " ", MetricLabel(tm), " |");
  out += "\n| --- | ---: | ---: | ---: |";
  for (size_t i = 0; i < columns.size(); ++i) out += " ---: |";
  out += "\n";
  for (const RunEvaluation& r : runs) {
    if (r.arch != arch) continue;
    // The step and tokens of the run's latest evaluation (validation runs at
    // every checkpoint, the other tasks usually at the last).
    RunEvaluation::Value latest;
    for (const auto& [tm, v] : r.last) {
      if (v.step >= latest.step) latest = v;
    }
    absl::StrAppend(&out, "| ", r.run, " | ", FormatFinite(r.n_params, 3), " | ", latest.step,
                    " | ", FormatFinite(latest.tokens, 3), " |");
    for (const TaskMetric& tm : columns) {
      auto it = r.last.find(tm);
      std::string cell = "—";
      if (it != r.last.end()) {
        cell = FormatFinite(it->second.value, 4);
        if (it->second.step != latest.step) absl::StrAppend(&cell, " (step ", it->second.step, ")");
        if (AtChance(tm.first, tm.second, it->second.value)) cell += " ≈ chance";
      }
      absl::StrAppend(&out, " ", cell, " |");
    }
    out += "\n";
  }
  out += "\n";
}

// The heatmaps of the arch's largest evaluated run, at its last step per task.
void AppendHeatmaps(std::string& out, const StudyEvaluation& eval,
                    const std::vector<RunEvaluation>& runs, const std::string& arch) {
  const RunEvaluation* largest = nullptr;
  for (const RunEvaluation& r : runs) {
    if (r.arch == arch) largest = &r;  // sorted by n_params
  }
  if (largest == nullptr) return;
  std::map<std::string, const EvaluationFigure*> last_by_task;
  for (const EvaluationFigure& f : eval.heatmaps) {
    if (f.arch != arch || f.run != largest->run) continue;
    const EvaluationFigure*& slot = last_by_task[f.task];
    if (slot == nullptr || f.step > slot->step) slot = &f;
  }
  for (const auto& [task, f] : last_by_task) {
    absl::StrAppend(&out, "![", arch, " ", f->run, " ", task, " at step ", f->step, "](", f->path,
                    ".png)\n[SVG](", f->path, ".svg) — ", arch, " ", f->run, ", ", task, ", step ",
                    f->step, "\n\n");
  }
}

}  // namespace

std::vector<RunEvaluation> LastEvaluations(const std::vector<EvaluationRow>& rows) {
  std::map<std::pair<std::string, std::string>, RunEvaluation> runs;
  for (const EvaluationRow& row : rows) {
    RunEvaluation& r = runs[{row.arch, row.run}];
    r.arch = row.arch;
    r.run = row.run;
    r.n_params = row.n_params;
    auto [it, inserted] = r.last.try_emplace({row.task, row.metric});
    if (inserted || row.step >= it->second.step) it->second = {row.step, row.tokens, row.value};
  }
  std::vector<RunEvaluation> sorted;
  for (auto& [key, r] : runs) sorted.push_back(std::move(r));
  std::stable_sort(
      sorted.begin(), sorted.end(), [](const RunEvaluation& a, const RunEvaluation& b) {
        return std::tie(a.arch, a.n_params, a.run) < std::tie(b.arch, b.n_params, b.run);
      });
  return sorted;
}

std::optional<double> ChanceLevel(const std::string& task, const std::string& metric) {
  if (IsNeedle(task)) {
    if (metric == "niah_score") return 1.0 / 11;
    if (metric == "weighted_average_accuracy") return 0.5;
    return std::nullopt;
  }
  if (task == "brown-continuation" && (metric == "acc" || metric == "acc_norm")) return 0.25;
  return std::nullopt;
}

bool AtChance(const std::string& task, const std::string& metric, double value) {
  const std::optional<double> chance = ChanceLevel(task, metric);
  if (!chance) return false;
  const double margin = IsNeedle(task) ? 0.1 : 0.05;
  return std::abs(value - *chance) <= margin;
}

std::string EvaluationMarkdown(const StudyEvaluation& eval, const std::string& downstream_figure) {
  if (eval.rows.empty()) return "";
  const std::vector<RunEvaluation> runs = LastEvaluations(eval.rows);
  std::vector<std::string> archs;
  for (const RunEvaluation& r : runs) {
    if (archs.empty() || archs.back() != r.arch) archs.push_back(r.arch);
  }
  std::string out =
      "## Evaluation\n\nEach run at the last checkpoint evaluated on each task (a value from an "
      "earlier checkpoint names its step). Validation loss is in nats per token on held-out "
      "text, bpb in bits per byte of it. Chance: 0.5 for the needle's weighted accuracy (the "
      "true number against 10 others), 1/11 for its NIAH score, 0.25 for brown-continuation; "
      "\"≈ chance\" marks a value within 0.1 (needle) or 0.05 (multiple choice) of it.\n\n";
  for (const std::string& arch : archs) AppendArchTable(out, runs, arch);
  if (!eval.heatmaps.empty()) {
    out +=
        "### Needle in a haystack: heatmaps of each architecture's largest run\n\nColumns are "
        "context lengths, rows needle depths; each cell's score on the paper's 0–10 scale.\n\n";
    for (const std::string& arch : archs) AppendHeatmaps(out, eval, runs, arch);
  }
  if (!downstream_figure.empty()) {
    absl::StrAppend(
        &out,
        "### Downstream accuracy against compute (the paper's Figure 2)\n\n![downstream "
        "accuracy against training compute](",
        downstream_figure, ".png)\n\n[SVG](", downstream_figure, ".svg)\n\n");
  }
  return out;
}

}  // namespace flopwise::fitting
