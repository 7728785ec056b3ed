#include "fitting/study_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/str_cat.h"
#include "fitting/approach3_identification.h"
#include "fitting/report.h"
#include "fitting/report_evaluation.h"
#include "fitting/report_paper_comparison.h"
#include "fitting/side_studies.h"

namespace flopwise::fitting {
namespace {

std::string Short(double v) { return FormatFinite(v, 3); }

// "0.0798 [0.071, 0.088]" when the bootstrap gave an interval.
std::string WithInterval(const ArchFit& f, Coef c) {
  std::string s = FormatFinite(f.coefs[c]);
  if (f.intervals[c].valid) {
    absl::StrAppend(&s, " [", FormatFinite(f.intervals[c].lo), ", ",
                    FormatFinite(f.intervals[c].hi), "]");
  }
  return s;
}

std::string EstimateText(const Estimate& e) {
  std::string s = Short(e.value);
  if (e.has_interval) absl::StrAppend(&s, " [", Short(e.lo), ", ", Short(e.hi), "]");
  return s;
}

std::string Power(double coef, double exponent) {
  if (!std::isfinite(coef) || !std::isfinite(exponent)) return "n/a";
  return absl::StrFormat("%.4g · C^%.4f", coef, exponent);
}

std::string MethodTitle(std::string_view method) {
  if (method == "paper") return "paper (envelope)";
  if (method == "approach2") return "Chinchilla approach 2";
  if (method == "approach3") return "Chinchilla approach 3";
  return std::string(method);
}

// Each run's last record, its loss the one the fits used (`metric`).
void AppendRuns(std::string& out, std::span<const CheckpointRecord> records, ComputeUnit unit,
                LossMetric metric) {
  struct RunSummary {
    double n_params = 0, tokens = 0, flops = 0, loss = 0;
    int points = 0;
  };
  std::map<std::pair<std::string, std::string>, RunSummary> runs;
  for (const CheckpointRecord& r : records) {
    RunSummary& s = runs[{r.arch, r.run}];
    ++s.points;
    const double loss = metric == LossMetric::kValidation ? r.validation_loss : r.loss;
    if (r.tokens >= s.tokens) s = {r.n_params, r.tokens, r.flops, loss, s.points};
  }
  std::vector<std::pair<std::pair<std::string, std::string>, RunSummary>> sorted(runs.begin(),
                                                                                 runs.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    if (a.first.first != b.first.first) return a.first.first < b.first.first;
    return a.second.n_params < b.second.n_params;
  });
  const double scale = unit == ComputeUnit::kPfDays ? 1 / kFlopsPerPfDay : 1;
  absl::StrAppend(&out, "## Runs\n\n", sorted.size(), " runs, ", records.size(),
                  " loss records in all. Final values of each run:\n\n",
                  "| arch | run | N (non-embedding) | tokens | C (",
                  std::string(ComputeUnitName(unit)), ") | records | final ",
                  std::string(LossMetricTitle(metric)),
                  " |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
  for (const auto& [key, s] : sorted) {
    absl::StrAppendFormat(&out, "| %s | %s | %s | %s | %s | %d | %.4f |\n", key.first, key.second,
                          Short(s.n_params), Short(s.tokens), Short(s.flops * scale), s.points,
                          s.loss);
  }
  out += "\n";
}

void AppendLaws(std::string& out, const FitReport& fit) {
  const std::string level = absl::StrFormat("%.0f%%", 100 * fit.interval_level);
  absl::StrAppend(&out, "## Fitted laws\n\nC is training compute in ",
                  std::string(ComputeUnitName(fit.unit)),
                  " (FLOP convention: ", std::string(FlopsConventionKey(fit.convention)),
                  "); N counts ", "non-embedding parameters, D tokens, L the ",
                  std::string(LossMetricTitle(fit.metric)), " in nats per token. ");
  if (fit.bootstrap_resamples > 0) {
    absl::StrAppend(&out, "Brackets are ", level, " percentile intervals from ",
                    fit.bootstrap_resamples, " bootstrap resamples over runs.\n\n");
  } else {
    out += "No bootstrap was run, so no intervals are shown.\n\n";
  }
  if (std::any_of(fit.archs.begin(), fit.archs.end(),
                  [](const ArchFit& f) { return f.has_paper; })) {
    absl::StrAppend(&out,
                    "### The paper's method: L(C) on the envelope, N_opt(C) and D_opt(C) from the "
                    "runs on it\n\n",
                    fit.envelope == EnvelopeKind::kPareto
                        ? "Envelope: **pareto**, the lowest loss any run reached at compute ≤ C "
                          "(non-increasing).\n\n"
                        : "Envelope: **paper**, the lowest loss over the runs covering C (rises "
                          "where a small run ends).\n\n");
    out +=
        "| arch | L(C) | exponent of L | N_opt(C) | exponent of N_opt | D_opt(C) | exponent "
        "of D_opt | R² (log L) | runs on the envelope |\n| --- | --- | --- | --- | --- | --- | "
        "--- | ---: | ---: |\n";
    for (const ArchFit& f : fit.archs) {
      if (!f.has_paper) continue;
      // N_opt(C) is fitted to the sizes of these runs: with one or two, its
      // exponent says little.
      std::set<std::string> on_envelope;
      for (const EnvelopePoint& point : f.paper.envelope) on_envelope.insert(point.run);
      absl::StrAppend(
          &out, "| ", ArchFitName(f), " | ", Power(f.coefs[kLCoef], f.coefs[kLExp]), " | ",
          WithInterval(f, kLExp), " | ", Power(f.coefs[kNoptCoef], f.coefs[kNoptExp]), " | ",
          WithInterval(f, kNoptExp), " | ", Power(f.coefs[kDoptCoef], f.coefs[kDoptExp]), " | ",
          WithInterval(f, kDoptExp), " | ", FormatFinite(f.paper.loss.r2_log), " | ",
          on_envelope.size(), " of ", f.runs, " |\n");
    }
    out += "\n";
  }
  if (std::any_of(fit.archs.begin(), fit.archs.end(),
                  [](const ArchFit& f) { return f.has_approach3; })) {
    out +=
        "### Chinchilla approach 3: L(N, D) = E + A / N^α + B / D^β\n\n| arch | E | A | α | B | "
        "β | R² (log L) | N_opt(C) |\n| --- | --- | --- | --- | --- | --- | ---: | --- |\n";
    std::vector<std::string> not_identified;
    for (const ArchFit& f : fit.archs) {
      if (!f.has_approach3) continue;
      // An unidentified fit's intervals run from ~0 to astronomical values:
      // the estimates alone, and below the table the reason.
      const std::string verdict = Approach3NotIdentifiedText(IdentifyApproach3(f));
      if (!verdict.empty())
        not_identified.push_back(absl::StrCat("- ", ArchFitName(f), ": ", verdict));
      auto cell = [&](Coef c) {
        return verdict.empty() ? WithInterval(f, c) : FormatFinite(f.coefs[c]);
      };
      absl::StrAppend(&out, "| ", ArchFitName(f), " | ", cell(kE), " | ", cell(kA), " | ",
                      cell(kAlpha), " | ", cell(kB), " | ", cell(kBeta), " | ",
                      FormatFinite(f.approach3.r2_log), " | ",
                      Power(f.coefs[kA3NoptCoef], f.coefs[kA3NoptExp]), " |\n");
    }
    out += "\n";
    if (!not_identified.empty()) {
      absl::StrAppend(&out,
                      "Where the data do not pin the law down, the table shows the estimates "
                      "without intervals; do not read them as measurements:\n\n",
                      absl::StrJoin(not_identified, "\n"), "\n\n");
    }
  }
  if (std::any_of(fit.archs.begin(), fit.archs.end(),
                  [](const ArchFit& f) { return f.has_approach2; })) {
    out +=
        "### Chinchilla approach 2: iso-FLOP parabolas\n\n| arch | slices | N_opt(C) | exponent "
        "of N_opt | D_opt(C) | exponent of D_opt |\n| --- | ---: | --- | --- | --- | --- |\n";
    for (const ArchFit& f : fit.archs) {
      if (!f.has_approach2) continue;
      absl::StrAppend(&out, "| ", ArchFitName(f), " | ", f.approach2.slices.size(), " | ",
                      Power(f.coefs[kA2NoptCoef], f.coefs[kA2NoptExp]), " | ",
                      WithInterval(f, kA2NoptExp), " | ",
                      Power(f.coefs[kA2DoptCoef], f.coefs[kA2DoptExp]), " | ",
                      WithInterval(f, kA2DoptExp), " |\n");
    }
    out += "\n";
  }
  bool any_holdout = false;
  for (const ArchFit& f : fit.archs) any_holdout |= !f.holdout.empty();
  if (any_holdout) {
    out +=
        "### Extrapolation check\n\nEach method refitted without the run that reached the "
        "largest compute, then asked for that run's final loss:\n\n| arch | method | run | "
        "observed | predicted | error |\n| --- | --- | --- | ---: | ---: | ---: |\n";
    for (const ArchFit& f : fit.archs) {
      for (const HoldoutCheck& h : f.holdout) {
        absl::StrAppendFormat(
            &out, "| %s | %s | %s | %s | %s | %s%% |\n", ArchFitName(f), MethodTitle(h.method),
            h.run, FormatFinite(h.observed_loss), FormatFinite(h.predicted_loss),
            std::isfinite(h.relative_error) ? absl::StrFormat("%+.2f", 100 * h.relative_error)
                                            : "n/a");
      }
    }
    out += "\n";
  }
}

std::string WinnerText(const BestArch& b) {
  if (b.resamples == 0) return absl::StrCat("**", b.arch, "** (ordering not bootstrapped)");
  if (!IsClearWinner(b)) {
    return absl::StrFormat("no clear winner (%s lowest in only %.0f%% of %d resamples)", b.arch,
                           100 * b.win_fraction, b.resamples);
  }
  return absl::StrFormat("**%s** (lowest in %.0f%% of %d resamples)", b.arch, 100 * b.win_fraction,
                         b.resamples);
}

double Decades(const BudgetReport& budget) {
  double decades = 0;
  for (const ArchRecommendation& rec : budget.archs) {
    if (std::isfinite(rec.extrapolation_decades))
      decades = std::max(decades, rec.extrapolation_decades);
  }
  return decades;
}

void AppendBudgets(std::string& out, const FitReport& fit, std::span<const BudgetReport> budgets) {
  if (budgets.empty()) return;
  out += "## Compute-optimal allocation\n\n";
  out +=
      "For each budget C: the model size N_opt and token count D_opt each method recommends, "
      "the loss it predicts, and the nearest preset shape with the tokens that spend the same "
      "budget on it.\n\n";
  for (const BudgetReport& budget : budgets) {
    const double decades = Decades(budget);
    absl::StrAppend(
        &out, "### C = ", Short(budget.budget), " ", std::string(ComputeUnitName(fit.unit)), " (",
        decades > 0 ? absl::StrFormat("%.1f decades beyond the data: extrapolated", decades)
                    : std::string("inside the sweep's compute range"),
        ")\n\n| arch | method | N_opt | D_opt | predicted loss | nearest preset | "
        "its tokens |\n| --- | --- | --- | --- | --- | --- | ---: |\n");
    for (const ArchRecommendation& rec : budget.archs) {
      for (const MethodRecommendation& m : rec.methods) {
        const std::string shape =
            m.has_shape ? absl::StrFormat("%s (%d layers, d %d, %d heads)", m.shape.name,
                                          m.shape.layers, m.shape.d_model, m.shape.heads)
                        : "—";
        absl::StrAppend(&out, "| ", GroupedArchName(rec.arch, rec.group), " | ",
                        MethodTitle(m.method), " | ", EstimateText(m.n_opt), " | ",
                        EstimateText(m.d_opt), " | ", EstimateText(m.loss), " | ", shape, " | ",
                        m.has_shape ? Short(m.shape_tokens) : "—", " |\n");
      }
    }
    out += "\n";
    for (const BestArch& b : budget.best) {
      absl::StrAppend(&out, "- ", MethodTitle(b.method), ": ", WinnerText(b), "\n");
    }
    out += "\n";
  }
  // One line per budget and method: the answer to "which architecture wins where".
  std::vector<std::string> methods;
  for (const BudgetReport& budget : budgets) {
    for (const BestArch& b : budget.best) {
      if (std::find(methods.begin(), methods.end(), b.method) == methods.end())
        methods.push_back(b.method);
    }
  }
  if (methods.empty()) return;
  absl::StrAppend(&out, "## Which architecture wins where\n\n| C (",
                  std::string(ComputeUnitName(fit.unit)), ") |");
  for (const std::string& m : methods) absl::StrAppend(&out, " ", MethodTitle(m), " |");
  out += "\n| ---: |";
  for (size_t i = 0; i < methods.size(); ++i) out += " --- |";
  out += "\n";
  for (const BudgetReport& budget : budgets) {
    absl::StrAppend(&out, "| ", Short(budget.budget), " |");
    for (const std::string& m : methods) {
      std::string cell = "—";
      for (const BestArch& b : budget.best) {
        if (b.method != m) continue;
        const std::string winner = b.group.empty() ? WinnerText(b) : b.group + ": " + WinnerText(b);
        cell = cell == "—" ? winner : cell + "; " + winner;
      }
      absl::StrAppend(&out, " ", cell, " |");
    }
    out += "\n";
  }
  out += "\n";
}

void AppendFigures(std::string& out, const std::vector<ReportFigure>& figures) {
  if (figures.empty()) return;
  out += "## Figures\n\n";
  for (const ReportFigure& f : figures) {
    absl::StrAppend(&out, "### ", f.caption, "\n\n![", f.caption, "](", f.stem, ".png)\n\n[SVG](",
                    f.stem, ".svg)\n\n");
  }
}

void AppendWarnings(std::string& out, const FitReport& fit, std::span<const BudgetReport> budgets) {
  std::vector<std::string> lines;
  std::set<std::string> seen;
  auto add = [&](const std::string& arch, const std::string& kind, const std::string& text) {
    std::string line = absl::StrCat("- ", arch, ": ", kind, text);
    if (seen.insert(line).second) lines.push_back(std::move(line));
  };
  for (const ArchFit& f : fit.archs) {
    for (const std::string& e : f.errors) add(ArchFitName(f), "not fitted: ", e);
    for (const std::string& w : f.warnings) add(ArchFitName(f), "", w);
  }
  for (const BudgetReport& budget : budgets) {
    for (const ArchRecommendation& rec : budget.archs) {
      for (const std::string& w : rec.warnings) add(GroupedArchName(rec.arch, rec.group), "", w);
    }
  }
  if (lines.empty()) return;
  out += "## Warnings\n\n";
  for (const std::string& line : lines) absl::StrAppend(&out, line, "\n");
  out += "\n";
}

// 3.2e13 -> 3e13: one significant digit, for budgets people can read.
double RoundToOneDigit(double v) {
  const double scale = std::pow(10.0, std::floor(std::log10(v)));
  return std::round(v / scale) * scale;
}

}  // namespace

std::vector<double> DefaultReportBudgets(const FitReport& fit) {
  double lo = INFINITY, hi = 0;
  for (const ArchFit& f : fit.archs) {
    if (std::isfinite(f.compute_min) && f.compute_min > 0) lo = std::min(lo, f.compute_min);
    if (std::isfinite(f.compute_max) && f.compute_max > 0) hi = std::max(hi, f.compute_max);
  }
  if (!std::isfinite(lo) || hi <= 0) return {};
  return {RoundToOneDigit(std::sqrt(lo * hi)), RoundToOneDigit(10 * hi), RoundToOneDigit(100 * hi)};
}

std::string StudyReportMarkdown(const StudyReportInput& input) {
  const FitReport& fit = *input.fit;
  std::string out = absl::StrCat("# ", input.title, "\n\n");
  if (!input.source.empty()) absl::StrAppend(&out, input.source, "\n\n");
  std::string archs;
  for (const ArchFit& f : fit.archs) {
    absl::StrAppend(&archs, archs.empty() ? "" : ", ", ArchFitName(f));
  }
  out += Cat("Architectures: ", archs, ". Fitted on ", LossMetricTitle(fit.metric), ".\n\n");
  AppendRuns(out, input.records, fit.unit, fit.metric);
  AppendLaws(out, fit);
  AppendBudgets(out, fit, input.budgets);
  if (input.side_studies != nullptr) out += SideStudiesMarkdown(*input.side_studies);
  if (input.evaluation != nullptr)
    out += EvaluationMarkdown(*input.evaluation, input.downstream_figure);
  if (std::any_of(fit.archs.begin(), fit.archs.end(),
                  [](const ArchFit& f) { return f.has_paper; })) {
    out += PaperComparisonMarkdown(fit, input.evaluation);
  }
  AppendFigures(out, input.figures);
  AppendWarnings(out, fit, input.budgets);
  return out;
}

}  // namespace flopwise::fitting
