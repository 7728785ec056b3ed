#include "fitting/report.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "fitting/approach3_identification.h"

namespace flopwise::fitting {
namespace {

using nlohmann::json;

json Number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json MethodsJson(unsigned methods) {
  json list = json::array();
  if (methods & kPaper) list.push_back("paper");
  if (methods & kApproach2) list.push_back("approach2");
  if (methods & kApproach3) list.push_back("approach3");
  return list;
}

json LawQuality(const PowerLawFit& law) {
  return {{"rms_log", Number(law.rms_log)}, {"r2_log", Number(law.r2_log)}, {"points", law.points}};
}

void EstimateJson(json& out, const std::string& key, const Estimate& e) {
  out[std::string(key)] = Number(e.value);
  if (e.has_interval) {
    out[absl::StrCat(key, "_lo")] = Number(e.lo);
    out[absl::StrCat(key, "_hi")] = Number(e.hi);
  }
}

json RecommendationJson(const ArchRecommendation& rec, const BudgetReport& budget,
                        ComputeUnit unit) {
  json r = {{"budget", Number(budget.budget)},
            {"unit", ComputeUnitKey(unit)},
            {"extrapolation_decades", Number(rec.extrapolation_decades)},
            {"n_opt_spread", Number(rec.n_opt_spread)},
            {"warnings", rec.warnings},
            {"methods", json::array()}};
  for (const MethodRecommendation& m : rec.methods) {
    json j = {{"method", m.method}};
    EstimateJson(j, "n_opt", m.n_opt);
    EstimateJson(j, "d_opt", m.d_opt);
    EstimateJson(j, "loss", m.loss);
    if (m.has_shape) {
      j["shape"] = {{"name", m.shape.name},
                    {"layers", m.shape.layers},
                    {"d_model", m.shape.d_model},
                    {"heads", m.shape.heads},
                    {"n_params", Number(m.shape.n_params)},
                    {"tokens", Number(m.shape_tokens)}};
    }
    r["methods"].push_back(std::move(j));
  }
  return r;
}

json ArchJson(const ArchFit& f, const FitReport& fit) {
  json a = {{"arch", f.arch},
            {"group", f.group},
            {"unit", ComputeUnitKey(fit.unit)},
            {"runs", f.runs},
            {"points", f.points},
            {"compute_min", Number(f.compute_min)},
            {"compute_max", Number(f.compute_max)},
            {"flops_per_param_token", Number(f.flops_per_param_token)}};
  for (int c = 0; c < kCoefCount; ++c) {
    const std::string name(CoefName(static_cast<Coef>(c)));
    a[name] = Number(f.coefs[c]);
    if (fit.bootstrap_resamples > 0) {
      const Interval& i = f.intervals[c];
      a[name + "_lo"] = i.valid ? Number(i.lo) : json(nullptr);
      a[name + "_hi"] = i.valid ? Number(i.hi) : json(nullptr);
    }
  }
  json laws = json::array();
  json quality = json::object();
  if (f.has_paper) {
    laws.push_back(LawText("L", f.paper.loss.coef, f.paper.loss.exponent, fit.unit));
    laws.push_back(LawText("N_opt", f.paper.n_opt.coef, f.paper.n_opt.exponent, fit.unit));
    laws.push_back(LawText("D_opt", f.paper.d_opt.coef, f.paper.d_opt.exponent, fit.unit));
    quality["paper"] = {{"L", LawQuality(f.paper.loss)},
                        {"nopt", LawQuality(f.paper.n_opt)},
                        {"dopt", LawQuality(f.paper.d_opt)},
                        {"envelope_points", f.paper.envelope.size()}};
  }
  if (f.has_approach2) {
    quality["approach2"] = {{"L", LawQuality(f.approach2.loss)},
                            {"nopt", LawQuality(f.approach2.n_opt)},
                            {"dopt", LawQuality(f.approach2.d_opt)},
                            {"slices", f.approach2.slices.size()},
                            {"levels_tried", f.approach2.levels_tried}};
  }
  if (f.has_approach3) {
    const Approach3Fit& m = f.approach3;
    laws.push_back(Approach3LawText(m));
    quality["approach3"] = {{"rms_log", Number(m.rms_log)},
                            {"r2_log", Number(m.r2_log)},
                            {"huber_objective", Number(m.huber_objective)},
                            {"points", m.points},
                            {"starts_solved", m.starts_solved},
                            {"starts_converged", m.starts_converged}};
    const Approach3Identification id = IdentifyApproach3(f);
    quality["approach3"]["identified"] = id.verdict == Approach3Verdict::kNotChecked
                                             ? json(nullptr)
                                             : json(id.verdict == Approach3Verdict::kIdentified);
    if (!id.reason.empty()) quality["approach3"]["not_identified_because"] = id.reason;
  }
  a["laws"] = laws;
  a["quality"] = quality;
  json holdout = json::array();
  for (const HoldoutCheck& h : f.holdout) {
    holdout.push_back({{"method", h.method},
                       {"run", h.run},
                       {"compute", Number(h.compute)},
                       {"observed_loss", Number(h.observed_loss)},
                       {"predicted_loss", Number(h.predicted_loss)},
                       {"relative_error", Number(h.relative_error)}});
  }
  a["holdout"] = holdout;
  a["errors"] = f.errors;
  a["warnings"] = f.warnings;
  return a;
}

// "lowest loss (paper): llama, in 85% of 200 bootstrap resamples", or "no
// clear winner" when it won fewer than kClearWinnerFraction of them.
std::string BestArchText(const BestArch& b) {
  const std::string lowest = b.group.empty()
                                 ? absl::StrCat("lowest loss (", b.method, ")")
                                 : absl::StrCat("lowest loss (", b.method, ", ", b.group, ")");
  if (b.resamples == 0) {
    return absl::StrFormat("%s: %s (no bootstrap: ordering unquantified)", lowest, b.arch);
  }
  if (!IsClearWinner(b)) {
    return absl::StrFormat(
        "%s: no clear winner (%s lowest in only %.0f%% of %d bootstrap resamples)", lowest, b.arch,
        100 * b.win_fraction, b.resamples);
  }
  return absl::StrFormat("%s: %s, in %.0f%% of %d bootstrap resamples", lowest, b.arch,
                         100 * b.win_fraction, b.resamples);
}

}  // namespace

std::string_view LossMetricTitle(LossMetric metric) {
  return metric == LossMetric::kValidation ? "validation loss" : "training loss";
}

std::string FormatFinite(double v, int digits) {
  return std::isfinite(v) ? absl::StrFormat("%.*g", digits, v) : "n/a";
}

std::string LawText(std::string_view name, double coef, double exponent, ComputeUnit unit) {
  return absl::StrFormat("%s(C) = %.4g * C^%.4f  (C in %s)", name, coef, exponent,
                         ComputeUnitName(unit));
}

std::string Approach3LawText(const Approach3Fit& fit) {
  return absl::StrFormat("L(N,D) = %.4g + %.4g/N^%.4f + %.4g/D^%.4f", fit.e, fit.a, fit.alpha,
                         fit.b, fit.beta);
}

std::string FitReportJson(const FitReport& fit, const BudgetReport* budget) {
  json doc = {{"unit", ComputeUnitKey(fit.unit)},
              {"unit_name", ComputeUnitName(fit.unit)},
              {"flops_convention", FlopsConventionKey(fit.convention)},
              {"envelope", EnvelopeKindKey(fit.envelope)},
              {"metric", LossMetricKey(fit.metric)},
              {"methods", MethodsJson(fit.methods)},
              {"bootstrap_resamples", fit.bootstrap_resamples},
              {"interval_level", fit.interval_level},
              {"archs", json::array()}};
  for (const ArchFit& f : fit.archs) {
    json a = ArchJson(f, fit);
    if (budget != nullptr) {
      for (const ArchRecommendation& rec : budget->archs) {
        if (rec.arch == f.arch && rec.group == f.group)
          a["recommendation"] = RecommendationJson(rec, *budget, fit.unit);
      }
    }
    doc["archs"].push_back(std::move(a));
  }
  if (budget != nullptr) {
    json best = json::array();
    for (const BestArch& b : budget->best) {
      best.push_back({{"method", b.method},
                      {"group", b.group},
                      {"arch", b.arch},
                      {"win_fraction", b.resamples > 0 ? Number(b.win_fraction) : json(nullptr)},
                      {"resamples", b.resamples}});
    }
    doc["budget"] = {
        {"value", Number(budget->budget)}, {"unit", ComputeUnitKey(fit.unit)}, {"best", best}};
  }
  return doc.dump(2);
}

std::string FitReportText(const FitReport& fit, const BudgetReport* budget) {
  std::string out = absl::StrFormat(
      "fitted on %s, C in %s, FLOP convention %s, %s envelope, %d bootstrap resamples (%.0f%% "
      "percentile intervals)\n",
      LossMetricTitle(fit.metric), ComputeUnitName(fit.unit), FlopsConventionKey(fit.convention),
      EnvelopeKindKey(fit.envelope), fit.bootstrap_resamples, 100 * fit.interval_level);
  auto coef = [&](const ArchFit& f, Coef c) {
    std::string s = FormatFinite(f.coefs[c]);
    if (f.intervals[c].valid) {
      absl::StrAppend(&s, " [", FormatFinite(f.intervals[c].lo), ", ",
                      FormatFinite(f.intervals[c].hi), "]");
    }
    return s;
  };
  for (const ArchFit& f : fit.archs) {
    absl::StrAppendFormat(&out, "\n== %s: %d runs, %d checkpoints, C from %s to %s %s\n",
                          ArchFitName(f), f.runs, f.points, FormatFinite(f.compute_min),
                          FormatFinite(f.compute_max), ComputeUnitName(fit.unit));
    if (f.has_paper) {
      absl::StrAppendFormat(&out, "  paper (%s envelope of %d points)\n",
                            EnvelopeKindKey(fit.envelope), f.paper.envelope.size());
      absl::StrAppend(&out, "    ", LawText("L", f.coefs[kLCoef], f.coefs[kLExp], fit.unit),
                      "   R2 ", FormatFinite(f.paper.loss.r2_log), "\n");
      absl::StrAppend(&out, "      coef ", coef(f, kLCoef), "  exp ", coef(f, kLExp), "\n");
      absl::StrAppend(&out, "    ",
                      LawText("N_opt", f.coefs[kNoptCoef], f.coefs[kNoptExp], fit.unit), "   exp ",
                      coef(f, kNoptExp), "\n");
      absl::StrAppend(&out, "    ",
                      LawText("D_opt", f.coefs[kDoptCoef], f.coefs[kDoptExp], fit.unit), "   exp ",
                      coef(f, kDoptExp), "\n");
    }
    if (f.has_approach2) {
      absl::StrAppend(&out, "  approach2 (", f.approach2.slices.size(), " iso-FLOP slices of ",
                      f.approach2.levels_tried, " levels)\n");
      absl::StrAppend(&out, "    ",
                      LawText("N_opt", f.coefs[kA2NoptCoef], f.coefs[kA2NoptExp], fit.unit),
                      "   exp ", coef(f, kA2NoptExp), "\n");
      absl::StrAppend(&out, "    ",
                      LawText("D_opt", f.coefs[kA2DoptCoef], f.coefs[kA2DoptExp], fit.unit),
                      "   exp ", coef(f, kA2DoptExp), "\n");
    }
    if (f.has_approach3) {
      absl::StrAppend(&out, "  approach3  L(N,D) = E + A/N^alpha + B/D^beta   R2 ",
                      FormatFinite(f.approach3.r2_log), "\n");
      // Intervals of an unidentified fit run from ~0 to astronomical values:
      // the verdict replaces them.
      const std::string not_identified = Approach3NotIdentifiedText(IdentifyApproach3(f));
      auto a3 = [&](Coef c) {
        return not_identified.empty() ? coef(f, c) : FormatFinite(f.coefs[c]);
      };
      if (!not_identified.empty()) absl::StrAppend(&out, "    ", not_identified, "\n");
      absl::StrAppend(&out, "    E ", a3(kE), "  A ", a3(kA), "  B ", a3(kB), "\n");
      absl::StrAppend(&out, "    alpha ", a3(kAlpha), "  beta ", a3(kBeta), "\n");
      absl::StrAppend(&out, "    ",
                      LawText("N_opt", f.coefs[kA3NoptCoef], f.coefs[kA3NoptExp], fit.unit),
                      "  (C = ", FormatFinite(f.flops_per_param_token), " N D)\n");
    }
    for (const HoldoutCheck& h : f.holdout) {
      absl::StrAppendFormat(
          &out, "  holdout %s: largest run %s, loss %.4f predicted %.4f (%+.2f%%)\n", h.method,
          h.run, h.observed_loss, h.predicted_loss, 100 * h.relative_error);
    }
    for (const std::string& e : f.errors) absl::StrAppend(&out, "  error: ", e, "\n");
    for (const std::string& w : f.warnings) absl::StrAppend(&out, "  warning: ", w, "\n");
  }
  if (budget == nullptr) return out;
  absl::StrAppendFormat(&out, "\nbudget C = %s %s\n", FormatFinite(budget->budget),
                        ComputeUnitName(fit.unit));
  auto estimate = [](const Estimate& e) {
    std::string s = FormatFinite(e.value);
    if (e.has_interval)
      absl::StrAppend(&s, " [", FormatFinite(e.lo), ", ", FormatFinite(e.hi), "]");
    return s;
  };
  for (const ArchRecommendation& rec : budget->archs) {
    absl::StrAppend(&out, "  ", GroupedArchName(rec.arch, rec.group), "\n");
    for (const MethodRecommendation& m : rec.methods) {
      absl::StrAppend(&out, "    ", m.method, ": N_opt ", estimate(m.n_opt), "  D_opt ",
                      estimate(m.d_opt), "  loss ", estimate(m.loss), "\n");
      if (m.has_shape) {
        absl::StrAppendFormat(
            &out, "      nearest shape %s (%d layers, d_model %d, %d heads, N %s): %s tokens\n",
            m.shape.name, m.shape.layers, m.shape.d_model, m.shape.heads,
            FormatFinite(m.shape.n_params), FormatFinite(m.shape_tokens));
      }
    }
    for (const std::string& w : rec.warnings) absl::StrAppend(&out, "    warning: ", w, "\n");
  }
  for (const BestArch& b : budget->best) absl::StrAppend(&out, "  ", BestArchText(b), "\n");
  return out;
}

std::string OptimalAnswerText(const FitReport& fit, const BudgetReport& budget) {
  std::string out =
      absl::StrFormat("compute-optimal at C = %s %s (fitted on %s)\n", FormatFinite(budget.budget),
                      ComputeUnitName(fit.unit), LossMetricTitle(fit.metric));
  for (const ArchRecommendation& rec : budget.archs) {
    for (const MethodRecommendation& m : rec.methods) {
      absl::StrAppendFormat(&out, "  %-8s N_opt %-10s D_opt %-10s loss %-8s (%s)\n",
                            GroupedArchName(rec.arch, rec.group), FormatFinite(m.n_opt.value, 3),
                            FormatFinite(m.d_opt.value, 3), FormatFinite(m.loss.value), m.method);
    }
  }
  for (const BestArch& b : budget.best) absl::StrAppend(&out, "  ", BestArchText(b), "\n");
  for (const ArchRecommendation& rec : budget.archs) {
    if (rec.extrapolation_decades > 0) {
      absl::StrAppendFormat(&out,
                            "!! EXTRAPOLATION (%s): the budget is %.1f decades outside this "
                            "architecture's data; the numbers above are not measured\n",
                            GroupedArchName(rec.arch, rec.group), rec.extrapolation_decades);
    }
    if (rec.n_opt_spread > kMethodDisagreementFactor) {
      absl::StrAppendFormat(&out,
                            "!! METHODS DISAGREE (%s): N_opt differs %.1fx between methods (more "
                            "than %gx)\n",
                            GroupedArchName(rec.arch, rec.group), rec.n_opt_spread,
                            kMethodDisagreementFactor);
    }
  }
  return out;
}

std::string FitAnswerText(const FitReport& fit, const BudgetReport* budget) {
  if (budget == nullptr) return FitReportText(fit, nullptr);
  return absl::StrCat(OptimalAnswerText(fit, *budget), "\ndetails\n", FitReportText(fit, budget));
}

std::string PaperOptimumTable(const FitReport& fit, std::span<const BudgetReport> budgets) {
  std::string out =
      absl::StrFormat("%-10s %-6s %-10s %-10s %-7s %s\n",
                      absl::StrFormat("C (%s)", std::string(ComputeUnitName(fit.unit))), "arch",
                      "N_opt", "D_opt", "loss", "nearest preset (tokens)");
  for (const BudgetReport& b : budgets) {
    for (const ArchRecommendation& rec : b.archs) {
      for (const MethodRecommendation& m : rec.methods) {
        if (m.method != "paper") continue;
        const std::string shape =
            m.has_shape ? absl::StrFormat("%s (%.3g)", m.shape.name, m.shape_tokens) : "-";
        absl::StrAppendFormat(&out, "%-10.3g %-6s %-10.3g %-10.3g %-7.4f %s%s\n", b.budget,
                              GroupedArchName(rec.arch, rec.group), m.n_opt.value, m.d_opt.value,
                              m.loss.value, shape,
                              rec.extrapolation_decades > 0 ? "  (extrapolated)" : "");
      }
    }
    for (const BestArch& best : b.best) {
      if (best.method != "paper") continue;
      absl::StrAppendFormat(&out, "%-10.3g lowest predicted loss%s: ", b.budget,
                            best.group.empty() ? "" : " [" + best.group + "]");
      if (best.resamples == 0) {
        absl::StrAppend(&out, best.arch, "\n");
      } else {
        absl::StrAppendFormat(&out, "%s (in %.0f%% of %d bootstrap resamples)\n",
                              IsClearWinner(best) ? best.arch : "no clear winner: " + best.arch,
                              100 * best.win_fraction, best.resamples);
      }
    }
  }
  return out;
}

}  // namespace flopwise::fitting
