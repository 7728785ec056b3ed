// FitScalingLaws: records -> per-architecture curves -> methods, holdout,
// bootstrap over runs.
#include "fitting/fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fitting/chinchilla.h"
#include "fitting/curves.h"
#include "fitting/envelope.h"
#include "fitting/isoflop.h"
#include "fitting/power_law.h"
#include "fitting/resample.h"
#include "fitting/stats.h"

namespace flopwise::fitting {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double FlopsPerUnit(ComputeUnit unit) { return unit == ComputeUnit::kFlops ? 1 : kFlopsPerPfDay; }

double FittedLoss(const CheckpointRecord& r, LossMetric metric) {
  return metric == LossMetric::kValidation ? r.validation_loss : r.loss;
}

absl::Status ValidateRecord(const CheckpointRecord& r, size_t i, LossMetric metric) {
  auto positive = [&](const char* field, double v) -> absl::Status {
    if (v > 0 && std::isfinite(v)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("records[", i, "].", field, ": must be positive and finite (got ", v, ")"));
  };
  if (r.arch.empty())
    return absl::InvalidArgumentError(absl::StrCat("records[", i, "].arch: empty"));
  if (r.run.empty()) return absl::InvalidArgumentError(absl::StrCat("records[", i, "].run: empty"));
  if (absl::Status s = positive("n_params", r.n_params); !s.ok()) return s;
  if (absl::Status s = positive("tokens", r.tokens); !s.ok()) return s;
  if (absl::Status s = positive("flops", r.flops); !s.ok()) return s;
  if (absl::Status s = metric == LossMetric::kValidation
                           ? positive("validation_loss", r.validation_loss)
                           : positive("loss", r.loss);
      !s.ok()) {
    return s;
  }
  if (!(r.n_params_total >= 0) || !std::isfinite(r.n_params_total)) {
    return absl::InvalidArgumentError(
        absl::StrCat("records[", i, "].n_params_total: must be 0 (unknown) or positive (got ",
                     r.n_params_total, ")"));
  }
  return absl::OkStatus();
}

struct ArchData {
  std::string arch;
  std::string group;
  std::vector<RunCurve> runs;
  double flops_per_param_token = 6;
  std::vector<std::string> warnings;
};

// Groups records by group, arch and run, applies the token filters, converts
// C to the unit, takes the metric's loss and sorts each run by compute.
absl::StatusOr<std::vector<ArchData>> BuildArchData(std::span<const CheckpointRecord> records,
                                                    const FitOptions& options, LossMetric metric) {
  using GroupArch = std::pair<std::string, std::string>;
  std::map<GroupArch, std::map<std::string, std::vector<const CheckpointRecord*>>> grouped;
  for (size_t i = 0; i < records.size(); ++i) {
    if (absl::Status s = ValidateRecord(records[i], i, metric); !s.ok()) return s;
    grouped[{records[i].group, records[i].arch}][records[i].run].push_back(&records[i]);
  }
  const double per_unit = FlopsPerUnit(options.unit);
  std::vector<ArchData> archs;
  for (auto& [group_arch, runs] : grouped) {
    const std::string& arch = group_arch.second;
    ArchData data;
    data.arch = arch;
    data.group = group_arch.first;
    std::vector<double> flops_per_param_token;
    int filtered = 0, duplicates = 0;
    for (auto& [run, points] : runs) {
      for (const CheckpointRecord* p : points) {
        if (p->n_params != points.front()->n_params) {
          return absl::InvalidArgumentError(
              absl::StrCat("arch ", arch, ", run ", run, ": n_params changes within the run (",
                           points.front()->n_params, " and ", p->n_params, ")"));
        }
      }
      std::sort(points.begin(), points.end(),
                [](const auto* a, const auto* b) { return a->tokens < b->tokens; });
      const double final_tokens = points.back()->tokens;
      RunCurve curve;
      curve.run = run;
      curve.n_params = points.front()->n_params;
      for (const CheckpointRecord* p : points) {
        if (p->tokens < options.min_tokens || p->tokens < options.skip_fraction * final_tokens) {
          ++filtered;
          continue;
        }
        const double flops =
            options.convention == FlopsConvention::k6ND ? 6 * p->n_params * p->tokens : p->flops;
        const double compute = flops / per_unit;
        // Same or lower compute at more tokens: the later checkpoint replaces the earlier.
        while (!curve.compute.empty() && compute <= curve.compute.back()) {
          ++duplicates;
          curve.compute.pop_back();
          curve.tokens.pop_back();
          curve.loss.pop_back();
        }
        curve.compute.push_back(compute);
        curve.tokens.push_back(p->tokens);
        curve.loss.push_back(FittedLoss(*p, metric));
        flops_per_param_token.push_back(flops / (p->n_params * p->tokens));
      }
      if (curve.compute.empty()) {
        data.warnings.push_back(absl::StrCat("run ", run, ": every checkpoint was filtered out"));
        continue;
      }
      data.runs.push_back(std::move(curve));
    }
    if (filtered > 0) {
      data.warnings.push_back(
          absl::StrCat(filtered, " checkpoints below --min-tokens/--skip-fraction dropped"));
    }
    if (duplicates > 0) {
      data.warnings.push_back(absl::StrCat(
          duplicates,
          " checkpoints with non-increasing compute within a run replaced by the later one"));
    }
    data.flops_per_param_token =
        options.convention == FlopsConvention::k6ND ? 6 : Median(flops_per_param_token);
    archs.push_back(std::move(data));
  }
  return archs;
}

std::vector<LogLossPoint> LogPoints(std::span<const RunCurve> runs) {
  std::vector<LogLossPoint> points;
  for (const RunCurve& r : runs) {
    for (size_t i = 0; i < r.compute.size(); ++i) {
      points.push_back({std::log(r.n_params), std::log(r.tokens[i]), std::log(r.loss[i])});
    }
  }
  return points;
}

struct MethodFits {
  bool has_paper = false, has_approach2 = false, has_approach3 = false;
  PaperFit paper;
  Approach2Fit approach2;
  Approach3Fit approach3;
  std::vector<Approach3Params> ranked_starts;
  std::vector<std::string> errors;
};

// Runs the requested methods. With `starts` set, approach 3 solves only from
// those (bootstrap and holdout refits); otherwise it ranks the full grid.
MethodFits FitMethods(std::span<const RunCurve> runs, const FitOptions& options, double k,
                      const std::vector<Approach3Params>* starts) {
  MethodFits m;
  if (options.methods & kPaper) {
    auto paper = FitPaperMethod(runs, options.envelope_grid_points, options.envelope);
    if (paper.ok()) {
      m.paper = std::move(*paper);
      m.has_paper = true;
    } else {
      m.errors.push_back(std::string(paper.status().message()));
    }
  }
  if (options.methods & kApproach2) {
    auto a2 = FitApproach2(runs, options.isoflop_levels);
    if (a2.ok()) {
      m.approach2 = std::move(*a2);
      m.has_approach2 = true;
    } else {
      m.errors.push_back(std::string(a2.status().message()));
    }
  }
  if (options.methods & kApproach3) {
    const std::vector<LogLossPoint> points = LogPoints(runs);
    absl::StatusOr<Approach3Fit> a3;
    if (starts != nullptr) {
      a3 = FitApproach3From(points, *starts, options.approach3.huber_delta);
    } else {
      auto full = FitApproach3(points, options.approach3);
      if (full.ok()) {
        m.ranked_starts = std::move(full->ranked_starts);
        a3 = full->fit;
      } else {
        a3 = full.status();
      }
    }
    if (a3.ok()) {
      m.approach3 = *a3;
      m.approach3.flops_per_param_token = k;
      m.has_approach3 = true;
    } else {
      m.errors.push_back(std::string(a3.status().message()));
    }
  }
  return m;
}

CoefVector ToCoefs(const MethodFits& m, double flops_per_unit) {
  CoefVector c;
  c.fill(kNaN);
  if (m.has_paper) {
    c[kLCoef] = m.paper.loss.coef;
    c[kLExp] = m.paper.loss.exponent;
    c[kNoptCoef] = m.paper.n_opt.coef;
    c[kNoptExp] = m.paper.n_opt.exponent;
    c[kDoptCoef] = m.paper.d_opt.coef;
    c[kDoptExp] = m.paper.d_opt.exponent;
  }
  if (m.has_approach2) {
    c[kA2LCoef] = m.approach2.loss.coef;
    c[kA2LExp] = m.approach2.loss.exponent;
    c[kA2NoptCoef] = m.approach2.n_opt.coef;
    c[kA2NoptExp] = m.approach2.n_opt.exponent;
    c[kA2DoptCoef] = m.approach2.d_opt.coef;
    c[kA2DoptExp] = m.approach2.d_opt.exponent;
  }
  if (m.has_approach3) {
    const Approach3Fit& f = m.approach3;
    c[kE] = f.e;
    c[kA] = f.a;
    c[kB] = f.b;
    c[kAlpha] = f.alpha;
    c[kBeta] = f.beta;
    c[kA3FlopsPerParamToken] = f.flops_per_param_token;
    if (f.alpha > 0 && f.beta > 0) {
      // N_opt = G (C_unit * flops_per_unit / k)^(beta/(alpha+beta)), likewise D_opt.
      double n_at_one = 0, d_at_one = 0;
      Approach3Optimum(f, flops_per_unit, &n_at_one, &d_at_one);
      c[kA3NoptCoef] = n_at_one;
      c[kA3NoptExp] = f.beta / (f.alpha + f.beta);
      c[kA3DoptCoef] = d_at_one;
      c[kA3DoptExp] = f.alpha / (f.alpha + f.beta);
    }
  }
  return c;
}

std::vector<Approach3Params> RefitStarts(const MethodFits& full, int solves) {
  std::vector<Approach3Params> starts;
  if (!full.has_approach3) return starts;
  const Approach3Fit& f = full.approach3;
  starts.push_back({std::log(f.a), std::log(f.b), std::log(f.e), f.alpha, f.beta});
  for (int i = 0; i < solves && i < static_cast<int>(full.ranked_starts.size()); ++i) {
    starts.push_back(full.ranked_starts[i]);
  }
  return starts;
}

void HoldoutLargest(std::span<const RunCurve> runs, const FitOptions& options, double k,
                    const std::vector<Approach3Params>& starts, ArchFit& out) {
  if (runs.size() < 3) {
    out.warnings.push_back("holdout: fewer than 3 runs, leave-largest-out skipped");
    return;
  }
  size_t largest = 0;
  for (size_t i = 1; i < runs.size(); ++i) {
    const RunCurve& r = runs[i];
    const RunCurve& best = runs[largest];
    if (r.compute.back() > best.compute.back() ||
        (r.compute.back() == best.compute.back() && r.n_params > best.n_params)) {
      largest = i;
    }
  }
  std::vector<RunCurve> rest;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (i != largest) rest.push_back(runs[i]);
  }
  const RunCurve& held = runs[largest];
  const MethodFits m = FitMethods(rest, options, k, &starts);
  auto add = [&](std::string_view method, double predicted) {
    if (!std::isfinite(predicted)) return;
    out.holdout.push_back({.method = std::string(method),
                           .run = held.run,
                           .compute = held.compute.back(),
                           .observed_loss = held.loss.back(),
                           .predicted_loss = predicted,
                           .relative_error = predicted / held.loss.back() - 1});
  };
  if (m.has_paper) add("paper", Evaluate(m.paper.loss, held.compute.back()));
  if (m.has_approach2) add("approach2", Evaluate(m.approach2.loss, held.compute.back()));
  if (m.has_approach3)
    add("approach3", Approach3Loss(m.approach3, held.n_params, held.tokens.back()));
  for (const std::string& e : m.errors) out.warnings.push_back(absl::StrCat("holdout: ", e));
}

void Bootstrap(std::span<const RunCurve> runs, const FitOptions& options, double k,
               const std::vector<Approach3Params>& starts, size_t arch_index, ArchFit& out) {
  const double per_unit = FlopsPerUnit(options.unit);
  std::vector<int> failures(3, 0);
  for (int b = 0; b < options.bootstrap_resamples; ++b) {
    std::vector<RunCurve> resample;
    resample.reserve(runs.size());
    for (size_t i : ResampleRuns(runs.size(), options.seed, arch_index, b)) {
      resample.push_back(runs[i]);
    }
    const MethodFits m = FitMethods(resample, options, k, &starts);
    failures[0] += out.has_paper && !m.has_paper;
    failures[1] += out.has_approach2 && !m.has_approach2;
    failures[2] += out.has_approach3 && !m.has_approach3;
    out.draws.push_back(ToCoefs(m, per_unit));
  }
  const char* names[3] = {"paper", "approach2", "approach3"};
  for (int i = 0; i < 3; ++i) {
    if (failures[i] > 0) {
      out.warnings.push_back(absl::StrCat("bootstrap: ", names[i], " failed in ", failures[i],
                                          " of ", options.bootstrap_resamples,
                                          " resamples; its intervals use the others"));
    }
  }
  const double tail = (1 - options.interval_level) / 2;
  for (int c = 0; c < kCoefCount; ++c) {
    std::vector<double> values;
    for (const CoefVector& d : out.draws) {
      if (std::isfinite(d[c])) values.push_back(d[c]);
    }
    Interval& interval = out.intervals[c];
    interval.valid =
        std::isfinite(out.coefs[c]) && values.size() >= 2 && 2 * values.size() >= out.draws.size();
    if (interval.valid) {
      interval.lo = Percentile(values, tail);
      interval.hi = Percentile(values, 1 - tail);
    }
  }
}

bool AllLossesEqual(std::span<const RunCurve> runs) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const RunCurve& r : runs) {
    for (double l : r.loss) {
      lo = std::min(lo, l);
      hi = std::max(hi, l);
    }
  }
  return hi - lo <= 1e-12 * hi;
}

// The arch's data summary (runs, points, compute range) with every
// coefficient NaN until a method fits.
ArchFit DescribeArch(ArchData& data) {
  ArchFit out;
  out.arch = data.arch;
  out.group = data.group;
  out.warnings = std::move(data.warnings);
  out.runs = static_cast<int>(data.runs.size());
  out.flops_per_param_token = data.flops_per_param_token;
  out.coefs.fill(kNaN);
  out.compute_min = std::numeric_limits<double>::infinity();
  for (const RunCurve& r : data.runs) {
    out.points += static_cast<int>(r.compute.size());
    out.compute_min = std::min(out.compute_min, r.compute.front());
    out.compute_max = std::max(out.compute_max, r.compute.back());
  }
  return out;
}

// Why no law can be fitted to the arch's runs at all; empty when one can.
std::string WhyUnfittable(const ArchData& data, int points) {
  if (data.runs.size() < 2) {
    return absl::StrCat("a single run (", data.runs.size() == 1 ? data.runs[0].run : "none",
                        "): scaling laws need runs of at least 2 model sizes");
  }
  const double n_params = data.runs[0].n_params;
  if (std::all_of(data.runs.begin(), data.runs.end(),
                  [&](const RunCurve& r) { return r.n_params == n_params; })) {
    return absl::StrCat("all ", data.runs.size(), " runs have the same size (N = ", n_params,
                        "): scaling laws need runs of at least 2 model sizes");
  }
  if (AllLossesEqual(data.runs)) {
    return absl::StrCat("loss: all ", points, " values are equal (", data.runs[0].loss[0],
                        "); no law can be fitted");
  }
  return "";
}

// The requested methods on the full data, then the holdout check and the
// bootstrap (whose streams depend on `arch_index`).
void FitArchMethods(const ArchData& data, const FitOptions& options, size_t arch_index,
                    ArchFit& out) {
  const MethodFits m = FitMethods(data.runs, options, data.flops_per_param_token, nullptr);
  out.has_paper = m.has_paper;
  out.has_approach2 = m.has_approach2;
  out.has_approach3 = m.has_approach3;
  out.paper = m.paper;
  out.approach2 = m.approach2;
  out.approach3 = m.approach3;
  out.errors = m.errors;
  out.coefs = ToCoefs(m, FlopsPerUnit(options.unit));
  if (m.has_approach3 && !(m.approach3.alpha > 0 && m.approach3.beta > 0)) {
    out.warnings.push_back(
        "approach3: alpha or beta is not positive; no compute-optimal allocation");
  }
  if (!(m.has_paper || m.has_approach2 || m.has_approach3)) return;
  const std::vector<Approach3Params> starts = RefitStarts(m, options.approach3.bootstrap_solves);
  HoldoutLargest(data.runs, options, data.flops_per_param_token, starts, out);
  Bootstrap(data.runs, options, data.flops_per_param_token, starts, arch_index, out);
}

ArchFit FitArch(ArchData& data, const FitOptions& options, size_t arch_index) {
  ArchFit out = DescribeArch(data);
  if (std::string why = WhyUnfittable(data, out.points); !why.empty()) {
    out.errors.push_back(std::move(why));
  } else {
    FitArchMethods(data, options, arch_index, out);
  }
  return out;
}

// InvalidArgument listing every arch's errors when no arch has any law.
absl::Status CheckAnyLaw(const FitReport& report) {
  const bool any = std::any_of(report.archs.begin(), report.archs.end(), [](const ArchFit& f) {
    return f.has_paper || f.has_approach2 || f.has_approach3;
  });
  if (any) return absl::OkStatus();
  std::vector<std::string> all_errors;
  for (const ArchFit& f : report.archs) {
    for (const std::string& e : f.errors) {
      all_errors.push_back(absl::StrCat(ArchFitName(f), ": ", e));
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no law could be fitted: ", absl::StrJoin(all_errors, "; ")));
}

absl::Status ValidateOptions(const FitOptions& options) {
  if (options.methods == 0 || options.methods > kAllMethods) {
    return absl::InvalidArgumentError(
        "methods: choose at least one of paper, approach2, approach3");
  }
  if (absl::Status s = CheckBootstrapResamples(options.bootstrap_resamples); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("bootstrap_resamples: ", s.message()));
  }
  if (!(options.interval_level > 0 && options.interval_level < 1)) {
    return absl::InvalidArgumentError("interval_level: must be in (0, 1)");
  }
  if (!(options.skip_fraction >= 0 && options.skip_fraction < 1)) {
    return absl::InvalidArgumentError("skip_fraction: must be in [0, 1)");
  }
  if (!(options.min_tokens >= 0)) return absl::InvalidArgumentError("min_tokens: must be >= 0");
  if (options.envelope_grid_points < 2 || options.isoflop_levels < 2) {
    return absl::InvalidArgumentError("envelope_grid_points, isoflop_levels: must be >= 2");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckBootstrapResamples(int resamples) {
  if (resamples >= 0 && resamples <= kMaxBootstrapResamples) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("must be in [0, ", kMaxBootstrapResamples, "] (got ", resamples, ")"));
}

absl::StatusOr<LossMetric> ResolveLossMetric(std::span<const CheckpointRecord> records,
                                             LossMetric requested) {
  if (requested == LossMetric::kTrain) return requested;
  size_t lacking = 0;
  const CheckpointRecord* first = nullptr;
  for (const CheckpointRecord& r : records) {
    if (std::isfinite(r.validation_loss)) continue;
    if (lacking++ == 0) first = &r;
  }
  if (requested == LossMetric::kAuto) {
    return lacking == 0 && !records.empty() ? LossMetric::kValidation : LossMetric::kTrain;
  }
  if (lacking == 0) return requested;
  return absl::InvalidArgumentError(absl::StrCat(
      "metric: validation asked for, but ", lacking, " of ", records.size(),
      " checkpoints have no validation loss (first: run ", first->run, " at ", first->tokens,
      " tokens); fit on training loss (metric train) or evaluate those checkpoints"));
}

absl::StatusOr<FitReport> FitScalingLaws(std::span<const CheckpointRecord> records,
                                         const FitOptions& options) {
  if (records.empty()) return absl::InvalidArgumentError("records: empty");
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  auto metric = ResolveLossMetric(records, options.metric);
  if (!metric.ok()) return metric.status();
  auto archs = BuildArchData(records, options, *metric);
  if (!archs.ok()) return archs.status();

  FitReport report;
  report.unit = options.unit;
  report.convention = options.convention;
  report.envelope = options.envelope;
  report.metric = *metric;
  report.methods = options.methods;
  report.bootstrap_resamples = options.bootstrap_resamples;
  report.interval_level = options.interval_level;
  for (size_t a = 0; a < archs->size(); ++a) {
    report.archs.push_back(FitArch((*archs)[a], options, a));
  }
  if (absl::Status s = CheckAnyLaw(report); !s.ok()) return s;
  return report;
}

}  // namespace flopwise::fitting
