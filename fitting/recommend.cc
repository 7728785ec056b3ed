// RecommendForBudget: evaluates each fitted law at a budget, per bootstrap
// draw for intervals, and rounds N to the nearest shape.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "fitting/fit.h"
#include "fitting/stats.h"

namespace flopwise::fitting {
namespace {

struct Prediction {
  double n_opt, d_opt, loss;
};

constexpr const char* kMethodNames[3] = {"paper", "approach2", "approach3"};

// NaN fields where the draw lacks the method.
Prediction Predict(const CoefVector& c, int method, double budget) {
  auto law = [&](Coef coef, Coef exp) { return c[coef] * std::pow(budget, c[exp]); };
  switch (method) {
    case 0:
      return {law(kNoptCoef, kNoptExp), law(kDoptCoef, kDoptExp), law(kLCoef, kLExp)};
    case 1:
      return {law(kA2NoptCoef, kA2NoptExp), law(kA2DoptCoef, kA2DoptExp), law(kA2LCoef, kA2LExp)};
    default: {
      const double n = law(kA3NoptCoef, kA3NoptExp), d = law(kA3DoptCoef, kA3DoptExp);
      return {n, d, c[kE] + c[kA] * std::pow(n, -c[kAlpha]) + c[kB] * std::pow(d, -c[kBeta])};
    }
  }
}

bool HasMethod(const ArchFit& f, int method) {
  return method == 0 ? f.has_paper : method == 1 ? f.has_approach2 : f.has_approach3;
}

Estimate WithInterval(double value, std::vector<double> draws, size_t resamples, double level) {
  Estimate e;
  e.value = value;
  size_t finite = 0;
  for (double d : draws) finite += std::isfinite(d);
  if (finite >= 2 && 2 * finite >= resamples) {
    e.lo = Percentile(draws, (1 - level) / 2);
    e.hi = Percentile(draws, 1 - (1 - level) / 2);
    e.has_interval = true;
  }
  return e;
}

std::string Compute(double c, ComputeUnit unit) {
  return absl::StrFormat("%.3g %s", c, ComputeUnitName(unit));
}

// Decades from [lo, hi] out to `budget`, as a difference of logs so that no
// ratio overflows to infinity; 0 inside.
double DecadesOutside(double lo, double hi, double budget) {
  if (budget > hi) return std::log10(budget) - std::log10(hi);
  if (budget < lo) return std::log10(lo) - std::log10(budget);
  return 0;
}

// How far `budget` lies outside the arch's compute range, with a warning
// when it does.
void NoteExtrapolation(const FitReport& fit, const ArchFit& f, double budget,
                       ArchRecommendation& rec) {
  rec.extrapolation_decades = DecadesOutside(f.compute_min, f.compute_max, budget);
  if (rec.extrapolation_decades <= 0) return;
  const bool above = budget > f.compute_max;
  rec.warnings.push_back(absl::StrFormat(
      "budget %s is %.2f decades %s the %s compute in the data (%s): extrapolation",
      Compute(budget, fit.unit), rec.extrapolation_decades, above ? "above" : "below",
      above ? "largest" : "smallest", Compute(above ? f.compute_max : f.compute_min, fit.unit)));
}

// Sets rec.n_opt_spread and warns when the methods' N_opt differ by more than
// kMethodDisagreementFactor.
void NoteDisagreement(ArchRecommendation& rec) {
  const MethodRecommendation* lo = nullptr;
  const MethodRecommendation* hi = nullptr;
  for (const MethodRecommendation& m : rec.methods) {
    if (lo == nullptr || m.n_opt.value < lo->n_opt.value) lo = &m;
    if (hi == nullptr || m.n_opt.value > hi->n_opt.value) hi = &m;
  }
  if (lo == nullptr || lo == hi) return;
  rec.n_opt_spread = hi->n_opt.value / lo->n_opt.value;
  if (rec.n_opt_spread > kMethodDisagreementFactor) {
    rec.warnings.push_back(absl::StrFormat(
        "methods disagree: N_opt %.3g (%s) vs %.3g (%s), %.1fx apart (more than %gx)",
        hi->n_opt.value, hi->method, lo->n_opt.value, lo->method, rec.n_opt_spread,
        kMethodDisagreementFactor));
  }
}

// Rounds m.n_opt to the shape of f.arch nearest in log N, and sets the
// tokens that spend `budget` (in fit.unit) with it.
void RoundToShape(const FitReport& fit, const ArchFit& f, double budget,
                  std::span<const ShapeOption> shapes, MethodRecommendation& m) {
  for (const ShapeOption& s : shapes) {
    if (s.arch != f.arch || !(s.n_params > 0)) continue;
    if (!m.has_shape || std::abs(std::log(s.n_params / m.n_opt.value)) <
                            std::abs(std::log(m.shape.n_params / m.n_opt.value))) {
      m.shape = s;
      m.has_shape = true;
    }
  }
  if (!m.has_shape) return;
  const double flops_per_unit = fit.unit == ComputeUnit::kFlops ? 1 : kFlopsPerPfDay;
  const double per_token = m.shape.flops_per_token > 0 ? m.shape.flops_per_token
                                                       : f.flops_per_param_token * m.shape.n_params;
  m.shape_tokens = budget * flops_per_unit / per_token;
}

// One method's N_opt, D_opt and loss at `budget`, with intervals over the
// arch's bootstrap draws; a warning instead when the law gives no finite answer.
void RecommendMethod(const FitReport& fit, const ArchFit& f, int method, double budget,
                     std::span<const ShapeOption> shapes, ArchRecommendation& rec) {
  const Prediction p = Predict(f.coefs, method, budget);
  if (!std::isfinite(p.n_opt) || !std::isfinite(p.d_opt) || !std::isfinite(p.loss)) {
    rec.warnings.push_back(
        absl::StrCat(kMethodNames[method], ": no finite compute-optimal allocation"));
    return;
  }
  std::vector<double> n, d, loss;
  for (const CoefVector& draw : f.draws) {
    const Prediction q = Predict(draw, method, budget);
    n.push_back(q.n_opt);
    d.push_back(q.d_opt);
    loss.push_back(q.loss);
  }
  MethodRecommendation m;
  m.method = kMethodNames[method];
  m.n_opt = WithInterval(p.n_opt, n, f.draws.size(), fit.interval_level);
  m.d_opt = WithInterval(p.d_opt, d, f.draws.size(), fit.interval_level);
  m.loss = WithInterval(p.loss, loss, f.draws.size(), fit.interval_level);
  RoundToShape(fit, f, budget, shapes, m);
  rec.methods.push_back(std::move(m));
}

ArchRecommendation RecommendArch(const FitReport& fit, const ArchFit& f, double budget,
                                 std::span<const ShapeOption> shapes) {
  ArchRecommendation rec;
  rec.arch = f.arch;
  rec.group = f.group;
  NoteExtrapolation(fit, f, budget, rec);
  for (int method = 0; method < 3; ++method) {
    if (HasMethod(f, method)) RecommendMethod(fit, f, method, budget, shapes, rec);
  }
  NoteDisagreement(rec);
  return rec;
}

// In how many bootstrap resamples (those where every candidate has a finite
// loss) best.arch has the lowest loss; sets best.resamples and win_fraction.
void CountBootstrapWins(std::span<const ArchFit* const> candidates, int method, double budget,
                        BestArch& best) {
  size_t draws = std::numeric_limits<size_t>::max();
  for (const ArchFit* f : candidates) draws = std::min(draws, f->draws.size());
  int wins = 0;
  for (size_t b = 0; b < draws; ++b) {
    const ArchFit* winner = nullptr;
    double winner_loss = std::numeric_limits<double>::infinity();
    bool complete = true;
    for (const ArchFit* f : candidates) {
      const double loss = Predict(f->draws[b], method, budget).loss;
      if (!std::isfinite(loss)) {
        complete = false;
        break;
      }
      if (loss < winner_loss) {
        winner_loss = loss;
        winner = f;
      }
    }
    if (!complete) continue;
    ++best.resamples;
    wins += winner->arch == best.arch;
  }
  best.win_fraction = best.resamples > 0 ? static_cast<double>(wins) / best.resamples : 0.0;
}

// The arch with the lowest predicted loss under `method`, among those with a
// finite one; nullopt when none has.
std::optional<BestArch> BestArchFor(std::span<const ArchFit* const> fitted, int method,
                                    double budget) {
  std::vector<const ArchFit*> candidates;
  for (const ArchFit* f : fitted) {
    if (HasMethod(*f, method) && std::isfinite(Predict(f->coefs, method, budget).loss)) {
      candidates.push_back(f);
    }
  }
  if (candidates.empty()) return std::nullopt;
  BestArch best;
  best.method = kMethodNames[method];
  best.group = candidates.front()->group;
  double best_loss = std::numeric_limits<double>::infinity();
  for (const ArchFit* f : candidates) {
    const double loss = Predict(f->coefs, method, budget).loss;
    if (loss < best_loss) {
      best_loss = loss;
      best.arch = f->arch;
    }
  }
  CountBootstrapWins(candidates, method, budget, best);
  return best;
}

absl::Status CheckBudget(double budget) {
  if (!(budget > 0) || !std::isfinite(budget)) {
    return absl::InvalidArgumentError(
        absl::StrCat("budget: must be positive and finite (got ", budget, ")"));
  }
  return absl::OkStatus();
}

// The union of the fitted architectures' compute ranges; hi is 0 when none
// was fitted.
std::pair<double, double> FittedRange(const FitReport& fit) {
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const ArchFit& f : fit.archs) {
    if (!(f.has_paper || f.has_approach2 || f.has_approach3)) continue;
    lo = std::min(lo, f.compute_min);
    hi = std::max(hi, f.compute_max);
  }
  return {lo, hi};
}

}  // namespace

double ExtrapolationDecades(const FitReport& fit, double budget) {
  const auto [lo, hi] = FittedRange(fit);
  return hi > 0 ? DecadesOutside(lo, hi, budget) : 0;
}

absl::Status CheckBudgetInRange(const FitReport& fit, double budget) {
  if (absl::Status s = CheckBudget(budget); !s.ok()) return s;
  const double decades = ExtrapolationDecades(fit, budget);
  if (decades <= kMaxExtrapolationDecades) return absl::OkStatus();
  const auto [lo, hi] = FittedRange(fit);
  return absl::OutOfRangeError(absl::StrFormat(
      "budget %s is %.1f decades outside the fitted compute range [%s, %s], more than %g: the "
      "laws would be extrapolated too far to trust",
      Compute(budget, fit.unit), decades, Compute(lo, fit.unit), Compute(hi, fit.unit),
      kMaxExtrapolationDecades));
}

absl::StatusOr<BudgetReport> RecommendForBudget(const FitReport& fit, double budget,
                                                std::span<const ShapeOption> shapes) {
  if (absl::Status s = CheckBudget(budget); !s.ok()) return s;
  BudgetReport report;
  report.budget = budget;
  // fit.archs is sorted by group: each group's architectures are compared.
  std::vector<std::vector<const ArchFit*>> groups;
  for (const ArchFit& f : fit.archs) {
    if (!(f.has_paper || f.has_approach2 || f.has_approach3)) continue;
    if (groups.empty() || groups.back().front()->group != f.group) groups.emplace_back();
    groups.back().push_back(&f);
    report.archs.push_back(RecommendArch(fit, f, budget, shapes));
  }
  for (const std::vector<const ArchFit*>& fitted : groups) {
    for (int method = 0; method < 3; ++method) {
      if (std::optional<BestArch> best = BestArchFor(fitted, method, budget)) {
        report.best.push_back(*std::move(best));
      }
    }
  }
  return report;
}

}  // namespace flopwise::fitting
