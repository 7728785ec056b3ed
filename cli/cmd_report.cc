// `flopwise report`: the whole study in one folder. Fits every method with a
// bootstrap, recommends N and D at three budgets (or the ones given), draws
// the figures and writes report.md beside them (docs/fitting.md). Prints the
// compute-optimal table of the paper's method.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "cli/command_registry.h"
#include "fitting/fit.h"
#include "fitting/preset_shapes.h"
#include "fitting/records.h"
#include "fitting/report.h"
#include "fitting/study_report.h"
#include "plot/scaling_figures.h"

namespace flopwise::cli {
namespace {

struct ReportFlags {
  std::string input;
  std::string out_dir;
  std::string title = "Scaling study";
  std::string source;
  std::string unit = "flops";
  std::vector<double> budgets;
  int bootstrap = 200;
  uint64_t seed = 1;
  double skip_fraction = 0;
};

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "flopwise report: %s\n", std::string(status.message()).c_str());
  return 1;
}

absl::Status WriteFile(const std::filesystem::path& path, const std::string& text) {
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

// The paper method's recommendation per budget and architecture, as a plain
// table for the terminal (report.md has every method and interval).
void PrintTable(const fitting::FitReport& fit, const std::vector<fitting::BudgetReport>& budgets) {
  std::printf("%-10s %-6s %-10s %-10s %-7s %s\n",
              absl::StrFormat("C (%s)", std::string(fitting::ComputeUnitName(fit.unit))).c_str(),
              "arch", "N_opt", "D_opt", "loss", "nearest preset (tokens)");
  for (const fitting::BudgetReport& b : budgets) {
    for (const fitting::ArchRecommendation& rec : b.archs) {
      for (const fitting::MethodRecommendation& m : rec.methods) {
        if (m.method != "paper") continue;
        const std::string shape =
            m.has_shape ? absl::StrFormat("%s (%.3g)", m.shape.name, m.shape_tokens) : "-";
        std::printf("%-10.3g %-6s %-10.3g %-10.3g %-7.4f %s%s\n", b.budget, rec.arch.c_str(),
                    m.n_opt.value, m.d_opt.value, m.loss.value, shape.c_str(),
                    rec.extrapolation_decades > 0 ? "  (extrapolated)" : "");
      }
    }
    for (const fitting::BestArch& best : b.best) {
      if (best.method != "paper") continue;
      std::printf("%-10.3g lowest predicted loss: %s", b.budget, best.arch.c_str());
      if (best.resamples > 0) {
        std::printf(" (in %.0f%% of %d bootstrap resamples)", 100 * best.win_fraction,
                    best.resamples);
      }
      std::printf("\n");
    }
  }
}

int RunReport(const ReportFlags& flags) {
  auto unit = fitting::ParseComputeUnit(flags.unit);
  if (!unit.ok()) return Fail(unit.status());
  auto records = fitting::ReadRecordsFile(flags.input);
  if (!records.ok()) return Fail(records.status());
  fitting::FitOptions options;
  options.unit = *unit;
  options.bootstrap_resamples = flags.bootstrap;
  options.seed = flags.seed;
  options.skip_fraction = flags.skip_fraction;
  auto fit = fitting::FitScalingLaws(*records, options);
  if (!fit.ok()) return Fail(fit.status());

  std::vector<double> budget_values =
      flags.budgets.empty() ? fitting::DefaultReportBudgets(*fit) : flags.budgets;
  const std::vector<fitting::ShapeOption> shapes = fitting::PresetShapes(*fit);
  std::vector<fitting::BudgetReport> budgets;
  for (double c : budget_values) {
    auto rec = fitting::RecommendForBudget(*fit, c, shapes);
    if (!rec.ok()) return Fail(rec.status());
    budgets.push_back(std::move(*rec));
  }

  std::error_code ec;
  std::filesystem::create_directories(flags.out_dir, ec);
  if (ec) {
    return Fail(absl::UnavailableError(
        absl::StrFormat("cannot create %s: %s", flags.out_dir, ec.message())));
  }
  auto written = plot::WriteScalingFigures(*records, *fit, flags.out_dir);
  if (!written.ok()) return Fail(written.status());
  fitting::StudyReportInput input;
  input.title = flags.title;
  input.source = flags.source;
  input.records = *records;
  input.fit = &*fit;
  input.budgets = budgets;
  for (const std::string& path : *written) {
    const std::filesystem::path p(path);
    if (p.extension() != ".svg") continue;
    const std::string stem = p.stem().string();
    input.figures.push_back({stem, FigureCaption(stem)});
  }
  // The overlay first: it is the figure that compares the architectures.
  std::stable_partition(input.figures.begin(), input.figures.end(),
                        [](const fitting::ReportFigure& f) { return f.stem == "overlay"; });
  const std::filesystem::path dir(flags.out_dir);
  if (absl::Status s = WriteFile(dir / "report.md", fitting::StudyReportMarkdown(input)); !s.ok())
    return Fail(s);
  if (absl::Status s = WriteFile(dir / "fit.json", fitting::FitReportJson(*fit, nullptr)); !s.ok())
    return Fail(s);
  PrintTable(*fit, budgets);
  std::printf("report: %s\n", (dir / "report.md").string().c_str());
  return 0;
}

const CommandRegistrar kReport([](CLI::App& app, CliContext& ctx) {
  static ReportFlags flags;
  auto* cmd = app.add_subcommand(
      "report", "Fit, recommend at three budgets, draw the figures and write report.md");
  cmd->add_option("--input", flags.input, "CSV or JSONL checkpoint records (docs/fitting.md)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", flags.out_dir, "output directory (report.md, fit.json, figures)")
      ->required();
  cmd->add_option("--title", flags.title, "report title")->capture_default_str();
  cmd->add_option("--source", flags.source, "a line under the title saying where the data is from");
  cmd->add_option("--unit", flags.unit, "unit of compute C: flops or pfdays")
      ->check(CLI::IsMember({"flops", "pfdays"}))
      ->capture_default_str();
  cmd->add_option("--budget", flags.budgets,
                  "compute budgets in --unit (repeatable; default: one inside the data, 10x and "
                  "100x its largest compute)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--bootstrap", flags.bootstrap, "bootstrap resamples over runs (0: none)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  cmd->add_option("--seed", flags.seed, "bootstrap seed")->capture_default_str();
  cmd->add_option("--skip-fraction", flags.skip_fraction,
                  "drop records before this fraction of each run's final tokens")
      ->check(CLI::Range(0.0, 0.999));
  cmd->callback([&ctx] { ctx.exit_code = RunReport(flags); });
});

}  // namespace
}  // namespace flopwise::cli
