#include "fitting/study_folder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/str_format.h"
#include "fitting/preset_shapes.h"
#include "fitting/report.h"
#include "fitting/study_report.h"
#include "plot/evaluation_figures.h"
#include "plot/scaling_figures.h"

namespace flopwise::fitting {
namespace {

namespace fs = std::filesystem;

absl::Status WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrFormat("cannot write %s", path.string()));
  return absl::OkStatus();
}

std::string FigureCaption(const std::string& stem) {
  if (stem == "overlay") return "All architectures: envelopes and fitted L(C)";
  const std::string suffix = "_figure1";
  if (stem.size() > suffix.size() && stem.ends_with(suffix)) {
    return stem.substr(0, stem.size() - suffix.size()) +
           ": loss curves, envelope and L(C); N_opt(C); D_opt(C)";
  }
  return stem;
}

// The SVG figures among `written`, the overlay first: it is the figure that
// compares the architectures.
std::vector<ReportFigure> Figures(const std::vector<std::string>& written) {
  std::vector<ReportFigure> figures;
  for (const std::string& path : written) {
    const fs::path p(path);
    if (p.extension() != ".svg") continue;
    const std::string stem = p.stem().string();
    figures.push_back({stem, FigureCaption(stem)});
  }
  std::stable_partition(figures.begin(), figures.end(),
                        [](const ReportFigure& f) { return f.stem == "overlay"; });
  return figures;
}

absl::StatusOr<std::vector<BudgetReport>> Recommend(const FitReport& fit,
                                                    const std::vector<double>& asked) {
  const std::vector<double> budgets = asked.empty() ? DefaultReportBudgets(fit) : asked;
  const std::vector<ShapeOption> shapes = PresetShapes(fit);
  std::vector<BudgetReport> reports;
  for (double c : budgets) {
    absl::StatusOr<BudgetReport> rec = RecommendForBudget(fit, c, shapes);
    if (!rec.ok()) return rec.status();
    reports.push_back(*std::move(rec));
  }
  return reports;
}

}  // namespace

absl::StatusOr<StudyFolder> WriteStudyReport(std::span<const CheckpointRecord> records,
                                             const StudyFolderOptions& options) {
  StudyFolder folder;
  absl::StatusOr<std::vector<CheckpointRecord>> grouped = GroupRecords(records, options.grouping);
  if (!grouped.ok()) return grouped.status();
  absl::StatusOr<FitReport> fit = FitScalingLaws(*grouped, options.fit);
  if (!fit.ok()) return fit.status();
  folder.fit = *std::move(fit);
  absl::StatusOr<SideStudies> side_studies = FindSideStudies(*grouped, folder.fit.metric);
  if (!side_studies.ok()) return side_studies.status();
  folder.side_studies = *std::move(side_studies);
  absl::StatusOr<std::vector<BudgetReport>> budgets = Recommend(folder.fit, options.budgets);
  if (!budgets.ok()) return budgets.status();
  folder.budgets = *std::move(budgets);

  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrFormat("cannot create %s: %s", options.out_dir, ec.message()));
  }
  absl::StatusOr<std::vector<std::string>> written =
      plot::WriteScalingFigures(*grouped, folder.fit, options.out_dir);
  if (!written.ok()) return written.status();
  folder.files = *std::move(written);
  absl::StatusOr<std::string> downstream =
      plot::WriteDownstreamFigure(options.evaluation, options.out_dir);
  if (!downstream.ok()) return downstream.status();

  StudyReportInput input;
  input.title = options.title;
  input.source = options.source;
  input.records = *grouped;
  input.fit = &folder.fit;
  input.budgets = folder.budgets;
  input.side_studies = &folder.side_studies;
  input.figures = Figures(folder.files);
  if (!options.evaluation.rows.empty()) input.evaluation = &options.evaluation;
  input.downstream_figure = *downstream;
  if (!downstream->empty()) {
    for (const char* ext : {".svg", ".png"})
      folder.files.push_back((fs::path(options.out_dir) / (*downstream + ext)).string());
  }
  const fs::path dir(options.out_dir);
  folder.report_path = (dir / "report.md").string();
  if (absl::Status s = WriteFile(folder.report_path, StudyReportMarkdown(input)); !s.ok()) return s;
  folder.files.push_back(folder.report_path);
  const std::string json_path = (dir / "fit.json").string();
  if (absl::Status s = WriteFile(json_path, FitReportJson(folder.fit, nullptr)); !s.ok()) return s;
  folder.files.push_back(json_path);
  return folder;
}

}  // namespace flopwise::fitting
