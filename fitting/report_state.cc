#include "fitting/report_state.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace flopwise::fitting {
namespace {

using nlohmann::json;

// Bump when the document changes shape; older documents are then refused.
constexpr int kStateFormat = 1;

// The readers below throw (nlohmann's type errors, std::runtime_error for
// the checks of this file); FitReportFromState turns that into a status.

// JSON has no NaN or infinities: they travel as strings. nlohmann writes the
// shortest decimal that reads back to the same double, so finite values are exact.
json Real(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double Real(const json& j) {
  if (!j.is_string()) return j.get<double>();
  const std::string s = j.get<std::string>();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  throw std::runtime_error("not a number: '" + s + "'");
}

json Reals(const std::vector<double>& values) {
  json out = json::array();
  for (double v : values) out.push_back(Real(v));
  return out;
}

std::vector<double> Reals(const json& j) {
  std::vector<double> out;
  for (const json& v : j) out.push_back(Real(v));
  return out;
}

json Coefs(const CoefVector& coefs) {
  json out = json::array();
  for (double v : coefs) out.push_back(Real(v));
  return out;
}

CoefVector Coefs(const json& j) {
  if (!j.is_array() || j.size() != kCoefCount) {
    throw std::runtime_error(absl::StrCat("expected ", kCoefCount, " coefficients"));
  }
  CoefVector out;
  for (int c = 0; c < kCoefCount; ++c) out[c] = Real(j[c]);
  return out;
}

json ToJson(const PowerLawFit& f) {
  return {{"coef", Real(f.coef)},
          {"exponent", Real(f.exponent)},
          {"rms_log", Real(f.rms_log)},
          {"r2_log", Real(f.r2_log)},
          {"points", f.points}};
}

PowerLawFit PowerLawFrom(const json& j) {
  PowerLawFit f;
  f.coef = Real(j.at("coef"));
  f.exponent = Real(j.at("exponent"));
  f.rms_log = Real(j.at("rms_log"));
  f.r2_log = Real(j.at("r2_log"));
  f.points = j.at("points").get<int>();
  return f;
}

json ToJson(const PaperFit& f) {
  json envelope = json::array();
  for (const EnvelopePoint& p : f.envelope) {
    envelope.push_back({{"compute", Real(p.compute)},
                        {"loss", Real(p.loss)},
                        {"run", p.run},
                        {"n_params", Real(p.n_params)},
                        {"tokens", Real(p.tokens)}});
  }
  return {{"envelope", envelope},
          {"loss", ToJson(f.loss)},
          {"n_opt", ToJson(f.n_opt)},
          {"d_opt", ToJson(f.d_opt)}};
}

PaperFit PaperFrom(const json& j) {
  PaperFit f;
  for (const json& p : j.at("envelope")) {
    f.envelope.push_back({Real(p.at("compute")), Real(p.at("loss")), p.at("run").get<std::string>(),
                          Real(p.at("n_params")), Real(p.at("tokens"))});
  }
  f.loss = PowerLawFrom(j.at("loss"));
  f.n_opt = PowerLawFrom(j.at("n_opt"));
  f.d_opt = PowerLawFrom(j.at("d_opt"));
  return f;
}

json ToJson(const Approach2Fit& f) {
  json slices = json::array();
  for (const IsoFlopSlice& s : f.slices) {
    slices.push_back({{"compute", Real(s.compute)},
                      {"n_params", Reals(s.n_params)},
                      {"loss", Reals(s.loss)},
                      {"curvature", Real(s.curvature)},
                      {"n_opt", Real(s.n_opt)},
                      {"d_opt", Real(s.d_opt)},
                      {"loss_min", Real(s.loss_min)}});
  }
  return {{"slices", slices},
          {"levels_tried", f.levels_tried},
          {"n_opt", ToJson(f.n_opt)},
          {"d_opt", ToJson(f.d_opt)},
          {"loss", ToJson(f.loss)}};
}

Approach2Fit Approach2From(const json& j) {
  Approach2Fit f;
  for (const json& s : j.at("slices")) {
    IsoFlopSlice slice;
    slice.compute = Real(s.at("compute"));
    slice.n_params = Reals(s.at("n_params"));
    slice.loss = Reals(s.at("loss"));
    slice.curvature = Real(s.at("curvature"));
    slice.n_opt = Real(s.at("n_opt"));
    slice.d_opt = Real(s.at("d_opt"));
    slice.loss_min = Real(s.at("loss_min"));
    f.slices.push_back(std::move(slice));
  }
  f.levels_tried = j.at("levels_tried").get<int>();
  f.n_opt = PowerLawFrom(j.at("n_opt"));
  f.d_opt = PowerLawFrom(j.at("d_opt"));
  f.loss = PowerLawFrom(j.at("loss"));
  return f;
}

json ToJson(const Approach3Fit& f) {
  return {{"e", Real(f.e)},
          {"a", Real(f.a)},
          {"b", Real(f.b)},
          {"alpha", Real(f.alpha)},
          {"beta", Real(f.beta)},
          {"huber_objective", Real(f.huber_objective)},
          {"rms_log", Real(f.rms_log)},
          {"r2_log", Real(f.r2_log)},
          {"points", f.points},
          {"starts_solved", f.starts_solved},
          {"starts_converged", f.starts_converged},
          {"flops_per_param_token", Real(f.flops_per_param_token)}};
}

Approach3Fit Approach3From(const json& j) {
  Approach3Fit f;
  f.e = Real(j.at("e"));
  f.a = Real(j.at("a"));
  f.b = Real(j.at("b"));
  f.alpha = Real(j.at("alpha"));
  f.beta = Real(j.at("beta"));
  f.huber_objective = Real(j.at("huber_objective"));
  f.rms_log = Real(j.at("rms_log"));
  f.r2_log = Real(j.at("r2_log"));
  f.points = j.at("points").get<int>();
  f.starts_solved = j.at("starts_solved").get<int>();
  f.starts_converged = j.at("starts_converged").get<int>();
  f.flops_per_param_token = Real(j.at("flops_per_param_token"));
  return f;
}

json ToJson(const ArchFit& f) {
  json draws = json::array();
  for (const CoefVector& d : f.draws) draws.push_back(Coefs(d));
  json intervals = json::array();
  for (const Interval& i : f.intervals) {
    intervals.push_back({{"lo", Real(i.lo)}, {"hi", Real(i.hi)}, {"valid", i.valid}});
  }
  json holdout = json::array();
  for (const HoldoutCheck& h : f.holdout) {
    holdout.push_back({{"method", h.method},
                       {"run", h.run},
                       {"compute", Real(h.compute)},
                       {"observed_loss", Real(h.observed_loss)},
                       {"predicted_loss", Real(h.predicted_loss)},
                       {"relative_error", Real(h.relative_error)}});
  }
  return {{"arch", f.arch},
          {"group", f.group},
          {"runs", f.runs},
          {"points", f.points},
          {"compute_min", Real(f.compute_min)},
          {"compute_max", Real(f.compute_max)},
          {"flops_per_param_token", Real(f.flops_per_param_token)},
          {"has_paper", f.has_paper},
          {"has_approach2", f.has_approach2},
          {"has_approach3", f.has_approach3},
          {"paper", ToJson(f.paper)},
          {"approach2", ToJson(f.approach2)},
          {"approach3", ToJson(f.approach3)},
          {"coefs", Coefs(f.coefs)},
          {"draws", draws},
          {"intervals", intervals},
          {"holdout", holdout},
          {"errors", f.errors},
          {"warnings", f.warnings}};
}

ArchFit ArchFrom(const json& j) {
  ArchFit f;
  f.arch = j.at("arch").get<std::string>();
  f.group = j.value("group", std::string());  // states before grouping had one group
  f.runs = j.at("runs").get<int>();
  f.points = j.at("points").get<int>();
  f.compute_min = Real(j.at("compute_min"));
  f.compute_max = Real(j.at("compute_max"));
  f.flops_per_param_token = Real(j.at("flops_per_param_token"));
  f.has_paper = j.at("has_paper").get<bool>();
  f.has_approach2 = j.at("has_approach2").get<bool>();
  f.has_approach3 = j.at("has_approach3").get<bool>();
  f.paper = PaperFrom(j.at("paper"));
  f.approach2 = Approach2From(j.at("approach2"));
  f.approach3 = Approach3From(j.at("approach3"));
  f.coefs = Coefs(j.at("coefs"));
  for (const json& d : j.at("draws")) f.draws.push_back(Coefs(d));
  const json& intervals = j.at("intervals");
  if (!intervals.is_array() || intervals.size() != kCoefCount) {
    throw std::runtime_error(absl::StrCat("expected ", kCoefCount, " intervals"));
  }
  for (int c = 0; c < kCoefCount; ++c) {
    f.intervals[c] = {Real(intervals[c].at("lo")), Real(intervals[c].at("hi")),
                      intervals[c].at("valid").get<bool>()};
  }
  for (const json& h : j.at("holdout")) {
    f.holdout.push_back({h.at("method").get<std::string>(), h.at("run").get<std::string>(),
                         Real(h.at("compute")), Real(h.at("observed_loss")),
                         Real(h.at("predicted_loss")), Real(h.at("relative_error"))});
  }
  f.errors = j.at("errors").get<std::vector<std::string>>();
  f.warnings = j.at("warnings").get<std::vector<std::string>>();
  return f;
}

}  // namespace

std::string FitReportToState(const FitReport& fit) {
  json archs = json::array();
  for (const ArchFit& f : fit.archs) archs.push_back(ToJson(f));
  const json doc = {{"format", kStateFormat},
                    {"unit", ComputeUnitKey(fit.unit)},
                    {"flops_convention", FlopsConventionKey(fit.convention)},
                    {"envelope", EnvelopeKindKey(fit.envelope)},
                    {"metric", LossMetricKey(fit.metric)},
                    {"methods", fit.methods},
                    {"bootstrap_resamples", fit.bootstrap_resamples},
                    {"interval_level", Real(fit.interval_level)},
                    {"archs", archs}};
  return doc.dump();
}

absl::StatusOr<FitReport> FitReportFromState(std::string_view state) {
  const json doc = json::parse(state, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("fit state: not a JSON object");
  }
  try {
    const int format = doc.at("format").get<int>();
    if (format != kStateFormat) {
      return absl::InvalidArgumentError(
          absl::StrCat("fit state: format ", format, " (this flopwise reads ", kStateFormat, ")"));
    }
    FitReport fit;
    auto unit = ParseComputeUnit(doc.at("unit").get<std::string>());
    if (!unit.ok())
      return absl::InvalidArgumentError(absl::StrCat("fit state: ", unit.status().message()));
    auto convention = ParseFlopsConvention(doc.at("flops_convention").get<std::string>());
    if (!convention.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("fit state: ", convention.status().message()));
    }
    // States written before the envelope was recorded used the paper's.
    auto envelope = ParseEnvelopeKind(doc.value("envelope", std::string("paper")));
    if (!envelope.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("fit state: ", envelope.status().message()));
    }
    // States written before the metric was recorded were fitted on training loss.
    auto metric = ParseLossMetric(doc.value("metric", std::string("train")));
    if (!metric.ok() || *metric == LossMetric::kAuto) {
      return absl::InvalidArgumentError(
          absl::StrCat("fit state: metric: must be train or validation (got ",
                       doc.value("metric", std::string()), ")"));
    }
    fit.unit = *unit;
    fit.convention = *convention;
    fit.envelope = *envelope;
    fit.metric = *metric;
    fit.methods = doc.at("methods").get<unsigned>();
    fit.bootstrap_resamples = doc.at("bootstrap_resamples").get<int>();
    fit.interval_level = Real(doc.at("interval_level"));
    for (const json& a : doc.at("archs")) fit.archs.push_back(ArchFrom(a));
    return fit;
  } catch (const std::exception& e) {  // nlohmann's type errors and the checks above
    return absl::InvalidArgumentError(absl::StrCat("fit state: ", e.what()));
  }
}

}  // namespace flopwise::fitting
