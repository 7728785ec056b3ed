#include "server/fit_convert.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/str_cat.h"
#include "fitting/report.h"
#include "runspec/architecture.h"
#include "server/proto_convert.h"

namespace flopwise::server {
namespace {

using fitting::Coef;

double Finite(double v) { return std::isfinite(v) ? v : 0; }

constexpr const char* kMethods[] = {"paper", "approach2", "approach3"};

void AddCoefficient(const fitting::ArchFit& fit, const fitting::FitReport& report, Coef coef,
                    const char* name, v1::FittedLaw* law) {
  v1::Coefficient* out = law->add_coefficients();
  out->set_name(name);
  out->set_value(fit.coefs[coef]);
  const fitting::Interval& interval = fit.intervals[coef];
  if (interval.valid && std::isfinite(interval.lo) && std::isfinite(interval.hi)) {
    out->set_lower(interval.lo);
    out->set_upper(interval.hi);
    out->set_confidence(report.interval_level);
    out->set_has_interval(true);
  }
}

// A power law y = beta·C^alpha from the coefficient slots `coef` and `exp`;
// left out when either is not finite. `quality` is null for a derived law.
void AddPowerLaw(const fitting::ArchFit& fit, const fitting::FitReport& report, const char* method,
                 const char* law_name, const char* symbol, Coef coef, Coef exp,
                 const fitting::PowerLawFit* quality, v1::ArchitectureFit* out) {
  if (!std::isfinite(fit.coefs[coef]) || !std::isfinite(fit.coefs[exp])) return;
  v1::FittedLaw* law = out->add_laws();
  law->set_law(law_name);
  law->set_method(method);
  law->set_formula(fitting::LawText(symbol, fit.coefs[coef], fit.coefs[exp], report.unit));
  AddCoefficient(fit, report, coef, "beta", law);
  AddCoefficient(fit, report, exp, "alpha", law);
  if (quality == nullptr) {
    law->set_derived(true);
    return;
  }
  law->set_r_squared(Finite(quality->r2_log));
  law->set_rms_log(Finite(quality->rms_log));
  law->set_points(quality->points);
}

// L(N,D) = E + A/N^alpha + B/D^beta; left out when a coefficient is not finite.
void AddApproach3Law(const fitting::ArchFit& fit, const fitting::FitReport& report,
                     v1::ArchitectureFit* out) {
  for (Coef c : {fitting::kE, fitting::kA, fitting::kB, fitting::kAlpha, fitting::kBeta}) {
    if (!std::isfinite(fit.coefs[c])) return;
  }
  const fitting::Approach3Fit& m = fit.approach3;
  v1::FittedLaw* law = out->add_laws();
  law->set_law("loss_vs_n_d");
  law->set_method("approach3");
  law->set_formula(fitting::Approach3LawText(m));
  AddCoefficient(fit, report, fitting::kE, "E", law);
  AddCoefficient(fit, report, fitting::kA, "A", law);
  AddCoefficient(fit, report, fitting::kB, "B", law);
  AddCoefficient(fit, report, fitting::kAlpha, "alpha", law);
  AddCoefficient(fit, report, fitting::kBeta, "beta", law);
  law->set_r_squared(Finite(m.r2_log));
  law->set_rms_log(Finite(m.rms_log));
  law->set_points(m.points);
}

void SetEstimate(const fitting::Estimate& e, double* value, double* lower, double* upper,
                 bool* has_interval) {
  *value = e.value;
  *has_interval = e.has_interval && std::isfinite(e.lo) && std::isfinite(e.hi);
  *lower = *has_interval ? e.lo : 0;
  *upper = *has_interval ? e.hi : 0;
}

void RecommendationToProto(const fitting::ArchRecommendation& arch,
                           const fitting::MethodRecommendation& m, v1::Recommendation* out) {
  out->set_arch(runspec::ArchFromName(arch.arch));
  out->set_group(arch.group);
  out->set_method(m.method);
  double value, lower, upper;
  bool has_interval;
  SetEstimate(m.n_opt, &value, &lower, &upper, &has_interval);
  out->set_n_opt_params(value);
  out->set_n_opt_lower(lower);
  out->set_n_opt_upper(upper);
  out->set_n_opt_has_interval(has_interval);
  SetEstimate(m.d_opt, &value, &lower, &upper, &has_interval);
  out->set_d_opt_tokens(value);
  out->set_d_opt_lower(lower);
  out->set_d_opt_upper(upper);
  out->set_d_opt_has_interval(has_interval);
  SetEstimate(m.loss, &value, &lower, &upper, &has_interval);
  out->set_predicted_loss(value);
  out->set_predicted_loss_lower(lower);
  out->set_predicted_loss_upper(upper);
  out->set_predicted_loss_has_interval(has_interval);
  if (m.has_shape) {
    v1::ShapeOption* shape = out->mutable_nearest_shape();
    shape->set_arch(runspec::ArchFromName(m.shape.arch));
    shape->set_name(m.shape.name);
    shape->set_layers(m.shape.layers);
    shape->set_d_model(m.shape.d_model);
    shape->set_heads(m.shape.heads);
    shape->set_n_params(m.shape.n_params);
    shape->set_flops_per_token(m.shape.flops_per_token);
    out->set_nearest_shape_tokens(Finite(m.shape_tokens));
  }
  out->set_extrapolation_decades(Finite(arch.extrapolation_decades));
  for (const std::string& w : arch.warnings) out->add_warnings(w);
}

}  // namespace

v1::ComputeUnit ComputeUnitToProto(fitting::ComputeUnit unit) {
  return unit == fitting::ComputeUnit::kFlops ? v1::COMPUTE_UNIT_FLOPS : v1::COMPUTE_UNIT_PF_DAYS;
}

void ArchFitToProto(const fitting::ArchFit& fit, const fitting::FitReport& report,
                    v1::ArchitectureFit* out) {
  out->set_arch(runspec::ArchFromName(fit.arch));
  out->set_group(fit.group);
  out->set_compute_unit(ComputeUnitToProto(report.unit));
  out->set_runs(fit.runs);
  out->set_checkpoints(fit.points);
  out->set_compute_min(Finite(fit.compute_min));
  out->set_compute_max(Finite(fit.compute_max));
  out->set_flops_per_param_token(Finite(fit.flops_per_param_token));
  if (fit.has_paper) {
    AddPowerLaw(fit, report, "paper", "loss_vs_compute", "L", fitting::kLCoef, fitting::kLExp,
                &fit.paper.loss, out);
    AddPowerLaw(fit, report, "paper", "nopt_vs_compute", "N_opt", fitting::kNoptCoef,
                fitting::kNoptExp, &fit.paper.n_opt, out);
    AddPowerLaw(fit, report, "paper", "dopt_vs_compute", "D_opt", fitting::kDoptCoef,
                fitting::kDoptExp, &fit.paper.d_opt, out);
  }
  if (fit.has_approach2) {
    AddPowerLaw(fit, report, "approach2", "loss_vs_compute", "L", fitting::kA2LCoef,
                fitting::kA2LExp, &fit.approach2.loss, out);
    AddPowerLaw(fit, report, "approach2", "nopt_vs_compute", "N_opt", fitting::kA2NoptCoef,
                fitting::kA2NoptExp, &fit.approach2.n_opt, out);
    AddPowerLaw(fit, report, "approach2", "dopt_vs_compute", "D_opt", fitting::kA2DoptCoef,
                fitting::kA2DoptExp, &fit.approach2.d_opt, out);
  }
  if (fit.has_approach3) {
    AddApproach3Law(fit, report, out);
    AddPowerLaw(fit, report, "approach3", "nopt_vs_compute", "N_opt", fitting::kA3NoptCoef,
                fitting::kA3NoptExp, nullptr, out);
    AddPowerLaw(fit, report, "approach3", "dopt_vs_compute", "D_opt", fitting::kA3DoptCoef,
                fitting::kA3DoptExp, nullptr, out);
  }
  for (const std::string& e : fit.errors) out->add_errors(e);
  for (const std::string& w : fit.warnings) out->add_warnings(w);
  for (const fitting::HoldoutCheck& h : fit.holdout) {
    if (!std::isfinite(h.predicted_loss)) continue;
    v1::HoldoutCheck* check = out->add_holdout();
    check->set_method(h.method);
    check->set_run(h.run);
    check->set_compute(Finite(h.compute));
    check->set_observed_loss(Finite(h.observed_loss));
    check->set_predicted_loss(h.predicted_loss);
    check->set_relative_error(Finite(h.relative_error));
  }
}

void BudgetReportToProto(const fitting::BudgetReport& budget, v1::QueryOptimalResponse* out) {
  for (const char* method : kMethods) {
    std::vector<std::pair<const fitting::ArchRecommendation*, const fitting::MethodRecommendation*>>
        ranked;
    for (const fitting::ArchRecommendation& arch : budget.archs) {
      for (const fitting::MethodRecommendation& m : arch.methods) {
        if (m.method == method) ranked.emplace_back(&arch, &m);
      }
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.second->loss.value < b.second->loss.value;
    });
    for (const auto& [arch, m] : ranked) {
      RecommendationToProto(*arch, *m, out->add_recommendations());
    }
  }
  for (const fitting::BestArch& best : budget.best) {
    v1::Winner* winner = out->add_winners();
    winner->set_method(best.method);
    winner->set_arch(runspec::ArchFromName(best.arch));
    winner->set_group(best.group);
    winner->set_win_fraction(best.resamples > 0 ? Finite(best.win_fraction) : 0);
    winner->set_resamples(best.resamples);
  }
  if (out->winners_size() > 0) out->set_best_arch(out->winners(0).arch());
}

absl::StatusOr<fitting::ShapeOption> ShapeFromProto(const v1::ShapeOption& shape,
                                                    const std::string& field) {
  fitting::ShapeOption out;
  out.arch = runspec::ArchName(shape.arch());
  if (out.arch.empty()) {
    return absl::InvalidArgumentError(
        Cat(field, ".arch: unknown architecture (", static_cast<int>(shape.arch()), ")"));
  }
  if (!(shape.n_params() > 0) || !std::isfinite(shape.n_params())) {
    return absl::InvalidArgumentError(
        Cat(field, ".n_params: must be positive and finite (got ", shape.n_params(), ")"));
  }
  if (!(shape.flops_per_token() >= 0) || !std::isfinite(shape.flops_per_token())) {
    return absl::InvalidArgumentError(Cat(field, ".flops_per_token: must be >= 0 and finite (got ",
                                          shape.flops_per_token(), ")"));
  }
  out.name = shape.name();
  out.layers = shape.layers();
  out.d_model = shape.d_model();
  out.heads = shape.heads();
  out.n_params = shape.n_params();
  out.flops_per_token = shape.flops_per_token();
  return out;
}

}  // namespace flopwise::server
