// `flopwise fit`, `flopwise optimal`, `flopwise plot`: scaling-law fits over a
// CSV/JSONL file of checkpoint records (--input, offline) or over a sweep of
// the coordinator (--sweep, fit_remote.h), docs/fitting.md. Thin wrappers over
// fitting/ and plot/.
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cli/command_registry.h"
#include "cli/fit_flags.h"
#include "cli/fit_remote.h"
#include "cli/service_connection.h"
#include "client/exit_codes.h"
#include "client/sweep_records.h"
#include "client/user_connection.h"
#include "fitting/fit.h"
#include "fitting/grouping.h"
#include "fitting/preset_shapes.h"
#include "fitting/records.h"
#include "fitting/report.h"
#include "fitting/side_studies.h"
#include "plot/scaling_figures.h"

namespace flopwise::cli {
namespace {

int Fail(const char* command, const absl::Status& status) {
  std::fprintf(stderr, "flopwise %s: %s\n", command, std::string(status.message()).c_str());
  return client::ExitCodeFor(status);
}

absl::StatusOr<fitting::FitOptions> ToOptions(const FitFlags& flags) {
  fitting::FitOptions options;
  auto unit = fitting::ParseComputeUnit(flags.unit);
  if (!unit.ok()) return unit.status();
  auto methods = fitting::ParseMethods(flags.method);
  if (!methods.ok()) return methods.status();
  auto convention = fitting::ParseFlopsConvention(flags.convention);
  if (!convention.ok()) return convention.status();
  auto envelope = fitting::ParseEnvelopeKind(flags.envelope);
  if (!envelope.ok()) return envelope.status();
  auto metric = fitting::ParseLossMetric(flags.metric);
  if (!metric.ok()) return metric.status();
  options.metric = *metric;
  options.unit = *unit;
  options.methods = *methods;
  options.convention = *convention;
  options.envelope = *envelope;
  options.bootstrap_resamples = flags.bootstrap;
  options.interval_level = flags.level;
  options.seed = flags.seed;
  options.min_tokens = flags.min_tokens;
  options.skip_fraction = flags.skip_fraction;
  return options;
}

absl::StatusOr<fitting::Grouping> ToGrouping(const FitFlags& flags) {
  fitting::Grouping grouping;
  auto by = fitting::ParseGroupBy(flags.group_by);
  if (!by.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--group-by: ", by.status().message()));
  }
  grouping.by = *by;
  grouping.grid = flags.grid;
  return grouping;
}

// Shapes to round recommendations to: a user table, or the models' presets.
absl::StatusOr<std::vector<fitting::ShapeOption>> Shapes(const FitFlags& flags,
                                                         const fitting::FitReport& fit) {
  if (!flags.shapes.empty()) return fitting::ReadShapesFile(flags.shapes);
  return fitting::PresetShapes(fit);
}

// Options that the offline path alone honours, checked before any work.
absl::Status CheckFlags(const FitFlags& flags) {
  if (flags.budget_given && !(flags.budget > 0 && std::isfinite(flags.budget))) {
    return absl::InvalidArgumentError(
        absl::StrCat("budget: must be positive and finite (got ", flags.budget, ")"));
  }
  return absl::OkStatus();
}

int RunFit(const char* command, const FitFlags& flags) {
  if (absl::Status s = CheckFlags(flags); !s.ok()) {
    // With --sweep, errors name their status code, as the coordinator's do.
    return flags.sweep_id != 0 ? ReportError(command, s) : Fail(command, s);
  }
  if (flags.sweep_id != 0) return RunRemoteFit(command, flags);
  auto options = ToOptions(flags);
  if (!options.ok()) return Fail(command, options.status());
  auto grouping = ToGrouping(flags);
  if (!grouping.ok()) return Fail(command, grouping.status());
  auto read = fitting::ReadRecordsFile(flags.input);
  if (!read.ok()) return Fail(command, read.status());
  auto records = fitting::GroupRecords(*read, *grouping);
  if (!records.ok()) return Fail(command, records.status());
  auto fit = fitting::FitScalingLaws(*records, *options);
  if (!fit.ok()) return Fail(command, fit.status());
  auto side_studies = fitting::FindSideStudies(*records, fit->metric);
  if (!side_studies.ok()) return Fail(command, side_studies.status());
  std::optional<fitting::BudgetReport> budget;
  if (flags.budget_given) {
    if (absl::Status s = fitting::CheckBudgetInRange(*fit, flags.budget);
        !s.ok() && !(flags.extrapolate && absl::IsOutOfRange(s))) {
      std::fprintf(stderr, "flopwise %s: %s%s\n", command, std::string(s.message()).c_str(),
                   absl::IsOutOfRange(s) ? " (pass --extrapolate to answer anyway)" : "");
      return client::ExitCodeFor(s);
    }
    auto shapes = Shapes(flags, *fit);
    if (!shapes.ok()) return Fail(command, shapes.status());
    auto rec = fitting::RecommendForBudget(*fit, flags.budget, *shapes);
    if (!rec.ok()) return Fail(command, rec.status());
    budget = std::move(*rec);
  }
  const fitting::BudgetReport* b = budget ? &*budget : nullptr;
  std::string text;
  if (flags.json) {
    text = fitting::FitReportJson(*fit, b);
  } else {
    text = fitting::FitAnswerText(*fit, b);
    const std::string studies = fitting::SideStudiesMarkdown(*side_studies);
    if (!studies.empty()) absl::StrAppend(&text, "\n", studies);
  }
  std::printf("%s\n", text.c_str());
  return 0;
}

int RunPlot(const FitFlags& flags) {
  auto options = ToOptions(flags);
  if (!options.ok()) return Fail("plot", options.status());
  options->methods = fitting::kPaper;
  absl::StatusOr<std::vector<fitting::CheckpointRecord>> records;
  if (flags.sweep_id != 0) {
    auto connection = client::ConnectUser(flags.connect);
    if (!connection.ok()) return ReportError("plot", connection.status());
    auto fetched = client::FetchSweepRecords(*connection, flags.sweep_id);
    if (!fetched.ok()) return ReportError("plot", fetched.status());
    if (fetched->left_out > 0) {
      std::fprintf(
          stderr,
          "flopwise plot: warning: %d checkpoints left out: tokens, flops or loss not positive "
          "and finite\n",
          fetched->left_out);
    }
    records = std::move(fetched->records);
  } else {
    records = fitting::ReadRecordsFile(flags.input);
  }
  if (!records.ok()) return Fail("plot", records.status());
  auto grouping = ToGrouping(flags);
  if (!grouping.ok()) return Fail("plot", grouping.status());
  auto grouped = fitting::GroupRecords(*records, *grouping);
  if (!grouped.ok()) return Fail("plot", grouped.status());
  auto fit = fitting::FitScalingLaws(*grouped, *options);
  if (!fit.ok()) return Fail("plot", fit.status());
  auto written = plot::WriteScalingFigures(*grouped, *fit, flags.out_dir);
  if (!written.ok()) return Fail("plot", written.status());
  for (const std::string& path : *written) std::printf("%s\n", path.c_str());
  for (const fitting::ArchFit& f : fit->archs) {
    for (const std::string& e : f.errors)
      std::fprintf(stderr, "flopwise plot: %s: %s\n", fitting::ArchFitName(f).c_str(), e.c_str());
  }
  return 0;
}

void AddCommonOptions(CLI::App* cmd, FitFlags& flags) {
  CLI::Option_group* source =
      cmd->add_option_group("source", "where the checkpoints come from (one of them)");
  source->add_option("--input", flags.input, "CSV or JSONL checkpoint records (docs/fitting.md)")
      ->check(CLI::ExistingFile);
  source
      ->add_option("--sweep", flags.sweep_id,
                   "a sweep of the coordinator (its effective checkpoints; the coordinator "
                   "fits and caches)")
      ->check(CLI::PositiveNumber);
  source->require_option(1);
  cmd->add_option("--unit", flags.unit, "unit of compute C: flops or pfdays (8.64e19 FLOPs)")
      ->check(CLI::IsMember({"flops", "pfdays"}))
      ->capture_default_str();
  cmd->add_option("--flops-convention", flags.convention,
                  "C from the records' flops (formula) or 6*n_params*tokens (6nd)")
      ->check(CLI::IsMember({"formula", "6nd"}))
      ->capture_default_str();
  auto* min_tokens =
      cmd->add_option("--min-tokens", flags.min_tokens, "drop checkpoints with fewer tokens");
  cmd->add_option("--skip-fraction", flags.skip_fraction,
                  "drop checkpoints before this fraction of each run's final tokens")
      ->check(CLI::Range(0.0, 0.999))
      ->excludes(min_tokens);
  cmd->add_option("--metric", flags.metric,
                  "loss to fit: train, validation, or auto (validation when every selected "
                  "checkpoint has one)")
      ->check(CLI::IsMember({"train", "validation", "auto"}))
      ->capture_default_str();
  cmd->add_option("--group-by", flags.group_by,
                  "which runs are fitted together: auto (architecture and every setting that "
                  "differs between the runs) or a list such as arch or arch,context of arch, "
                  "grid, context, vocab, flags")
      ->capture_default_str();
  cmd->add_option("--grid", flags.grid, "fit only the runs of this spec grid");
  AddConnectionOptions(cmd, &flags.connect);  // with --sweep
}

void AddFitOptions(CLI::App* cmd, FitFlags& flags) {
  AddCommonOptions(cmd, flags);
  cmd->add_option("--method", flags.method, "paper, approach2, approach3 or all")
      ->check(CLI::IsMember({"paper", "approach2", "approach3", "all"}))
      ->capture_default_str();
  // The range is checked by the fit (fitting::CheckBootstrapResamples).
  cmd->add_option("--bootstrap", flags.bootstrap,
                  absl::StrCat("bootstrap resamples over runs (0: none; at most ",
                               fitting::kMaxBootstrapResamples, ")"));
  cmd->add_option("--level", flags.level, "percentile interval level")
      ->check(CLI::Range(0.5, 0.999))
      ->capture_default_str();
  cmd->add_option("--seed", flags.seed, "bootstrap seed")->capture_default_str();
  cmd->add_option("--envelope", flags.envelope,
                  "envelope of the paper method: pareto (non-increasing frontier) or paper "
                  "(per-compute minimum, as published)")
      ->check(CLI::IsMember({"pareto", "paper"}))
      ->capture_default_str();
  cmd->add_option("--shapes", flags.shapes,
                  "CSV of shapes to round N_opt to (default: the models' presets)")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--extrapolate", flags.extrapolate,
                absl::StrCat("answer a --budget more than ", fitting::kMaxExtrapolationDecades,
                             " decades outside the data's compute range (refused otherwise)"));
  cmd->add_flag("--json", flags.json, std::string("print JSON"));
}

const CommandRegistrar kFit([](CLI::App& app, CliContext& ctx) {
  static FitFlags fit_flags, optimal_flags, plot_flags;
  auto* fit =
      app.add_subcommand("fit", "Fit scaling laws to checkpoint records (a file or a sweep)");
  AddFitOptions(fit, fit_flags);
  fit->add_option("--budget", fit_flags.budget,
                  "also recommend N and D for this compute (in --unit)")
      ->each([](const std::string&) { fit_flags.budget_given = true; });
  fit->callback([&ctx] { ctx.exit_code = RunFit("fit", fit_flags); });

  auto* optimal =
      app.add_subcommand("optimal", "Compute-optimal N, D and architecture for a budget");
  AddFitOptions(optimal, optimal_flags);
  optimal->add_option("--budget", optimal_flags.budget, "compute budget C in --unit")
      ->required()
      ->each([](const std::string&) { optimal_flags.budget_given = true; });
  optimal->callback([&ctx] { ctx.exit_code = RunFit("optimal", optimal_flags); });

  auto* plot = app.add_subcommand(
      "plot", "Draw the paper's Figure 1 per architecture and an overlay (SVG + PNG)");
  AddCommonOptions(plot, plot_flags);
  plot->add_option("--out", plot_flags.out_dir, "output directory")->required();
  plot->callback([&ctx] { ctx.exit_code = RunPlot(plot_flags); });
});

}  // namespace
}  // namespace flopwise::cli
