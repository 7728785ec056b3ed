// `flopwise report`: the whole study in one folder (fitting/study_folder.h):
// fits every method with a bootstrap, recommends N and D at three budgets (or
// the ones given), draws the figures and writes report.md beside them
// (docs/fitting.md). Prints the compute-optimal table of the paper's method.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/command_registry.h"
#include "client/exit_codes.h"
#include "fitting/evaluation_records.h"
#include "fitting/grouping.h"
#include "fitting/records.h"
#include "fitting/report.h"
#include "fitting/study_folder.h"

namespace flopwise::cli {
namespace {

struct ReportFlags {
  std::string input;
  std::string evals;
  std::string unit = "flops";
  std::string envelope = "pareto";
  std::string metric = "auto";
  std::string group_by = "auto";
  int bootstrap = 200;
  uint64_t seed = 1;
  double skip_fraction = 0;
  fitting::StudyFolderOptions folder;
};

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "flopwise report: %s\n", std::string(status.message()).c_str());
  return client::ExitCodeFor(status);
}

int RunReport(ReportFlags flags) {
  auto unit = fitting::ParseComputeUnit(flags.unit);
  if (!unit.ok()) return Fail(unit.status());
  auto envelope = fitting::ParseEnvelopeKind(flags.envelope);
  if (!envelope.ok()) return Fail(envelope.status());
  auto metric = fitting::ParseLossMetric(flags.metric);
  if (!metric.ok()) return Fail(metric.status());
  auto group_by = fitting::ParseGroupBy(flags.group_by);
  if (!group_by.ok()) {
    return Fail(
        absl::InvalidArgumentError(absl::StrCat("--group-by: ", group_by.status().message())));
  }
  auto records = fitting::ReadRecordsFile(flags.input);
  if (!records.ok()) return Fail(records.status());
  if (!flags.evals.empty()) {
    // The evals join to the checkpoints of --input (same run and step).
    auto evaluation = fitting::ReadEvaluationFiles(flags.evals, flags.input);
    if (!evaluation.ok()) return Fail(evaluation.status());
    auto missing = fitting::PlaceHeatmaps(*evaluation, flags.folder.out_dir);
    if (!missing.ok()) return Fail(missing.status());
    for (const std::string& path : *missing) {
      std::fprintf(stderr, "flopwise report: heatmap %s.svg/.png not found; left out\n",
                   path.c_str());
    }
    flags.folder.evaluation = std::move(*evaluation);
  }
  flags.folder.fit.metric = *metric;
  flags.folder.grouping.by = *group_by;
  flags.folder.fit.unit = *unit;
  flags.folder.fit.envelope = *envelope;
  flags.folder.fit.bootstrap_resamples = flags.bootstrap;
  flags.folder.fit.seed = flags.seed;
  flags.folder.fit.skip_fraction = flags.skip_fraction;
  auto folder = fitting::WriteStudyReport(*records, flags.folder);
  if (!folder.ok()) return Fail(folder.status());
  std::printf("%s", fitting::PaperOptimumTable(folder->fit, folder->budgets).c_str());
  std::printf("report: %s\n", folder->report_path.c_str());
  return 0;
}

const CommandRegistrar kReport([](CLI::App& app, CliContext& ctx) {
  static ReportFlags flags;
  auto* cmd = app.add_subcommand(
      "report", "Fit, recommend at three budgets, draw the figures and write report.md");
  cmd->add_option("--input", flags.input, "CSV or JSONL checkpoint records (docs/fitting.md)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--evals", flags.evals,
                  "CSV of `flopwise export --what evals`: the evaluation table and needle "
                  "heatmaps (--input must then be `export --what checkpoints` CSV)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", flags.folder.out_dir, "output directory (report.md, fit.json, figures)")
      ->required();
  cmd->add_option("--title", flags.folder.title, "report title")->capture_default_str();
  cmd->add_option("--source", flags.folder.source,
                  "a line under the title saying where the data is from");
  cmd->add_option("--unit", flags.unit, "unit of compute C: flops or pfdays")
      ->check(CLI::IsMember({"flops", "pfdays"}))
      ->capture_default_str();
  cmd->add_option("--envelope", flags.envelope,
                  "envelope of the paper method: pareto (non-increasing frontier) or paper "
                  "(per-compute minimum, as published)")
      ->check(CLI::IsMember({"pareto", "paper"}))
      ->capture_default_str();
  cmd->add_option("--metric", flags.metric,
                  "loss to fit: train, validation, or auto (validation when every checkpoint "
                  "has one)")
      ->check(CLI::IsMember({"train", "validation", "auto"}))
      ->capture_default_str();
  cmd->add_option("--group-by", flags.group_by,
                  "which runs are fitted together: auto (architecture and every setting that "
                  "differs between the runs) or a list such as arch or arch,context of arch, "
                  "grid, context, vocab, flags")
      ->capture_default_str();
  cmd->add_option("--grid", flags.folder.grouping.grid, "report only the runs of this spec grid");
  cmd->add_option("--budget", flags.folder.budgets,
                  "compute budgets in --unit (repeatable; default: one inside the data, 10x and "
                  "100x its largest compute)")
      ->check(CLI::PositiveNumber);
  // The range is checked by the fit (fitting::CheckBootstrapResamples).
  cmd->add_option("--bootstrap", flags.bootstrap,
                  absl::StrCat("bootstrap resamples over runs (0: none; at most ",
                               fitting::kMaxBootstrapResamples, ")"))
      ->capture_default_str();
  cmd->add_option("--seed", flags.seed, "bootstrap seed")->capture_default_str();
  cmd->add_option("--skip-fraction", flags.skip_fraction,
                  "drop records before this fraction of each run's final tokens")
      ->check(CLI::Range(0.0, 0.999));
  cmd->callback([&ctx] { ctx.exit_code = RunReport(flags); });
});

}  // namespace
}  // namespace flopwise::cli
