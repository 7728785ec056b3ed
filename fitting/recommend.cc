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

// How far `budget` lies outside the arch's compute range, with a warning
// when it does.
void NoteExtrapolation(const FitReport& fit, const ArchFit& f, double budget,
                       ArchRecommendation& rec) {
  if (budget > f.compute_max) {
    rec.extrapolation_decades = std::log10(budget / f.compute_max);
    rec.warnings.push_back(absl::StrFormat(
        "budget %s is %.2f decades above the largest compute in the data (%s): extrapolation",
        Compute(budget, fit.unit), rec.extrapolation_decades, Compute(f.compute_max, fit.unit)));
  } else if (budget < f.compute_min) {
    rec.extrapolation_decades = std::log10(f.compute_min / budget);
    rec.warnings.push_back(absl::StrFormat(
        "budget %s is %.2f decades below the smallest compute in the data (%s): extrapolation",
        Compute(budget, fit.unit), rec.extrapolation_decades, Compute(f.compute_min, fit.unit)));
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
  NoteExtrapolation(fit, f, budget, rec);
  for (int method = 0; method < 3; ++method) {
    if (HasMethod(f, method)) RecommendMethod(fit, f, method, budget, shapes, rec);
  }
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

}  // namespace

absl::StatusOr<BudgetReport> RecommendForBudget(const FitReport& fit, double budget,
                                                std::span<const ShapeOption> shapes) {
  if (!(budget > 0) || !std::isfinite(budget)) {
    return absl::InvalidArgumentError(
        absl::StrCat("budget: must be positive and finite (got ", budget, ")"));
  }
  BudgetReport report;
  report.budget = budget;
  std::vector<const ArchFit*> fitted;
  for (const ArchFit& f : fit.archs) {
    if (!(f.has_paper || f.has_approach2 || f.has_approach3)) continue;
    fitted.push_back(&f);
    report.archs.push_back(RecommendArch(fit, f, budget, shapes));
  }
  for (int method = 0; method < 3; ++method) {
    if (std::optional<BestArch> best = BestArchFor(fitted, method, budget)) {
      report.best.push_back(*std::move(best));
    }
  }
  return report;
}

}  // namespace flopwise::fitting
