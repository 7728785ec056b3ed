// Rendering fit results for people (text) and programs (JSON). Non-finite
// numbers are never printed: JSON gets null, text gets "n/a".
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "fitting/fit.h"

namespace flopwise::fitting {

// "%.<digits>g" of a finite number, "n/a" otherwise: every printed result goes
// through it, so a NaN never reaches a reader.
std::string FormatFinite(double v, int digits = 4);

// "validation loss" or "training loss": what a report says its laws were
// fitted on ("fitted on validation loss").
std::string_view LossMetricTitle(LossMetric metric);

// "L(C) = 3.7087 * C^-0.0798  (C in PF-days)"; `name` is "L", "N_opt" or "D_opt".
std::string LawText(std::string_view name, double coef, double exponent, ComputeUnit unit);

// Approach 3's law with its numbers: "L(N,D) = 1.69 + 406.4/N^0.3400 + 410.7/D^0.2800".
std::string Approach3LawText(const Approach3Fit& fit);

// The JSON document of `flopwise fit --json` / `flopwise optimal --json`:
// {"unit", "unit_name", "flops_convention", "envelope", "metric" ("train" or
//  "validation"), "methods", "bootstrap_resamples", "interval_level",
//  "archs": [{"arch", "group" ("" with one group), "unit", <every CoefName> (+ "_lo"/"_hi"
//  with bootstrap), "laws", "quality", "holdout", "errors", "warnings",
//  "recommendation" (with a budget)}], "budget" (with a budget: "value",
//  "unit", "best": [{"method", "group", "arch", "win_fraction", "resamples"}])}.
// `budget` may be null.
std::string FitReportJson(const FitReport& fit, const BudgetReport* budget);

// The answer of `flopwise optimal`, to print before the details: per
// architecture and method N_opt, D_opt and the predicted loss at the budget,
// the lowest-loss architecture (or "no clear winner", IsClearWinner), and a
// banner for every extrapolation and every disagreement between methods.
std::string OptimalAnswerText(const FitReport& fit, const BudgetReport& budget);

// A human-readable summary of the same content.
std::string FitReportText(const FitReport& fit, const BudgetReport* budget);

// What `flopwise fit` and `optimal` print, offline and for a sweep alike:
// with a budget the answer first (OptimalAnswerText), then "details" and
// FitReportText; without one FitReportText.
std::string FitAnswerText(const FitReport& fit, const BudgetReport* budget);

// The paper method's recommendation per budget and architecture, one line
// each under a header, then per budget the architecture with the lowest
// predicted loss: the short table `flopwise report` prints (report.md has
// every method and interval).
std::string PaperOptimumTable(const FitReport& fit, std::span<const BudgetReport> budgets);

}  // namespace flopwise::fitting
