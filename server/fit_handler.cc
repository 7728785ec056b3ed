#include "server/fit_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "fitting/fit.h"
#include "fitting/grouping.h"
#include "fitting/preset_shapes.h"
#include "fitting/report.h"
#include "fitting/report_state.h"
#include "fitting/side_studies.h"
#include "runspec/architecture.h"
#include "server/fit_convert.h"
#include "server/fit_inputs.h"
#include "server/proto_convert.h"
#include "server/scheduler.h"

namespace flopwise::server {
namespace {

// What a request asks to fit.
struct FitQuery {
  int64_t sweep_id = 0;
  std::vector<std::string> archs;  // empty: every architecture
  std::string method;              // "paper", "approach2", "approach3" or "all"
  fitting::FitOptions options;
  fitting::Grouping grouping;
};

// A fit with what the responses say about its inputs.
struct Fitted {
  fitting::FitReport report;
  std::vector<std::string> input_warnings;
  std::string inputs_hash;
  std::string side_studies;  // markdown of the paper's Tables 5 and 6; "" when none
  int checkpoints = 0;
  bool cached = false;
  int64_t computed_ms = 0;
};

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

// "" and "envelope" (the proto's first name of the paper method) mean "paper".
absl::StatusOr<std::string> CanonicalMethod(const std::string& method) {
  if (method.empty() || method == "envelope") return std::string("paper");
  if (fitting::ParseMethods(method).ok()) return method;
  return Invalid(
      Cat("method: must be paper (or envelope), approach2, approach3 or all (got '", method, "')"));
}

absl::StatusOr<fitting::ComputeUnit> ParseUnit(v1::ComputeUnit unit,
                                               fitting::ComputeUnit unspecified,
                                               const char* field) {
  switch (unit) {
    case v1::COMPUTE_UNIT_UNSPECIFIED:
      return unspecified;
    case v1::COMPUTE_UNIT_FLOPS:
      return fitting::ComputeUnit::kFlops;
    case v1::COMPUTE_UNIT_PF_DAYS:
      return fitting::ComputeUnit::kPfDays;
    default:
      return Invalid(Cat(field, ": unknown unit (", static_cast<int>(unit),
                         "): COMPUTE_UNIT_FLOPS or COMPUTE_UNIT_PF_DAYS"));
  }
}

// The fields FitScalingLawRequest and QueryOptimalRequest share (same names
// in both messages). `unit` is the unit of C in the fit.
template <typename Request>
absl::StatusOr<FitQuery> ParseQuery(const Request& request, fitting::ComputeUnit unit) {
  FitQuery query;
  if (request.sweep_id() <= 0) return Invalid("sweep_id: required");
  query.sweep_id = request.sweep_id();
  for (int i = 0; i < request.architectures_size(); ++i) {
    const std::string arch = runspec::ArchName(request.architectures(i));
    if (arch.empty()) {
      return Invalid(Cat("architectures[", i, "]: unknown architecture (",
                         static_cast<int>(request.architectures(i)), ")"));
    }
    if (std::find(query.archs.begin(), query.archs.end(), arch) != query.archs.end()) {
      return Invalid(Cat("architectures[", i, "]: ", arch, " is listed twice"));
    }
    query.archs.push_back(arch);
  }
  ASSIGN_OR_RETURN(query.method, CanonicalMethod(request.method()));
  fitting::FitOptions& options = query.options;
  ASSIGN_OR_RETURN(options.methods, fitting::ParseMethods(query.method));
  options.unit = unit;
  if (!request.flops_convention().empty()) {
    auto convention = fitting::ParseFlopsConvention(request.flops_convention());
    if (!convention.ok()) {
      return Invalid(
          Cat("flops_convention: must be formula or 6nd (got '", request.flops_convention(), "')"));
    }
    options.convention = *convention;
  }
  if (absl::Status s = fitting::CheckBootstrapResamples(request.bootstrap_samples()); !s.ok()) {
    return Invalid(Cat("bootstrap_samples: ", s.message()));
  }
  options.bootstrap_resamples = request.bootstrap_samples();
  if (request.has_interval_level()) {
    const double level = request.interval_level();
    if (!(level > 0 && level < 1)) {
      return Invalid(Cat("interval_level: must be in (0, 1) (got ", level, ")"));
    }
    options.interval_level = level;
  }
  if (request.has_seed()) options.seed = request.seed();
  if (!(request.min_tokens() >= 0) || !std::isfinite(request.min_tokens())) {
    return Invalid(Cat("min_tokens: must be >= 0 and finite (got ", request.min_tokens(), ")"));
  }
  options.min_tokens = request.min_tokens();
  if (!(request.skip_fraction() >= 0 && request.skip_fraction() < 1)) {
    return Invalid(Cat("skip_fraction: must be in [0, 1) (got ", request.skip_fraction(), ")"));
  }
  options.skip_fraction = request.skip_fraction();
  if (!request.metric().empty()) {
    auto metric = fitting::ParseLossMetric(request.metric());
    if (!metric.ok()) {
      return Invalid(
          Cat("metric: must be train, validation or auto (got '", request.metric(), "')"));
    }
    options.metric = *metric;
  }
  if (!request.envelope().empty()) {
    auto envelope = fitting::ParseEnvelopeKind(request.envelope());
    if (!envelope.ok()) {
      return Invalid(Cat("envelope: must be pareto or paper (got '", request.envelope(), "')"));
    }
    options.envelope = *envelope;
  }
  if (!request.group_by().empty()) {
    auto by = fitting::ParseGroupBy(request.group_by());
    if (!by.ok()) return Invalid(Cat("group_by: ", by.status().message()));
    query.grouping.by = *by;
  }
  query.grouping.grid = request.grid();
  return query;
}

// Reads the query's records and answers from the fits cache when they were
// fitted before with the same options and method; otherwise fits and stores
// the result. An unreadable cache entry is fitted again; a fit that cannot be
// stored is still answered.
absl::StatusOr<Fitted> FitOrLoad(db::Store& store, const FitQuery& query) {
  ASSIGN_OR_RETURN(FitInputs inputs, ReadFitInputs(store, query.sweep_id, query.archs));
  ASSIGN_OR_RETURN(inputs.records, fitting::GroupRecords(inputs.records, query.grouping));
  Fitted fitted;
  fitted.input_warnings = std::move(inputs.warnings);
  fitted.checkpoints = static_cast<int>(inputs.records.size());
  fitted.inputs_hash = FitInputsHash(inputs.records, query.options, query.method);
  absl::StatusOr<fitting::SideStudies> side_studies =
      fitting::FindSideStudies(inputs.records, query.options.metric);
  if (!side_studies.ok()) {
    return absl::FailedPreconditionError(
        Cat("sweep ", query.sweep_id, ": ", side_studies.status().message()));
  }
  fitted.side_studies = fitting::SideStudiesMarkdown(*side_studies);

  absl::StatusOr<db::FitRecord> stored = store.GetFit(fitted.inputs_hash, query.method);
  if (stored.ok()) {
    absl::StatusOr<fitting::FitReport> report = fitting::FitReportFromState(stored->result_json);
    if (report.ok()) {
      fitted.report = *std::move(report);
      fitted.cached = true;
      fitted.computed_ms = stored->created_ms;
      return fitted;
    }
    spdlog::warn("fits: cached {} fit {} is unreadable ({}); fitting again", query.method,
                 fitted.inputs_hash, std::string(report.status().message()));
  } else if (!absl::IsNotFound(stored.status())) {
    return stored.status();
  }

  absl::StatusOr<fitting::FitReport> report =
      fitting::FitScalingLaws(inputs.records, query.options);
  if (!report.ok()) {
    // The request was checked and the records are valid: what is left is data
    // too thin to fit (one model size, equal losses, too few points).
    if (absl::IsInvalidArgument(report.status())) {
      return absl::FailedPreconditionError(
          Cat("sweep ", query.sweep_id, ": ", report.status().message()));
    }
    return report.status();
  }
  fitted.report = *std::move(report);
  fitted.computed_ms = SystemNowMs();
  db::FitRecord record;
  record.inputs_hash = fitted.inputs_hash;
  record.method = query.method;
  record.result_json = fitting::FitReportToState(fitted.report);
  record.created_ms = fitted.computed_ms;
  if (absl::Status put = store.PutFit(record); !put.ok()) {
    spdlog::warn("fits: cannot store the {} fit of sweep {}: {}", query.method, query.sweep_id,
                 std::string(put.message()));
  } else {
    spdlog::info("fits: sweep {}: {} fit of {} checkpoints ({} bootstrap resamples) stored as {}",
                 query.sweep_id, query.method, fitted.checkpoints,
                 query.options.bootstrap_resamples, fitted.inputs_hash);
  }
  return fitted;
}

// The text `flopwise fit` / `optimal` print: the offline commands' (the
// answer first with a budget), then the side studies.
std::string ReportText(const Fitted& fitted, const fitting::BudgetReport* budget) {
  std::string text = fitting::FitAnswerText(fitted.report, budget);
  if (!fitted.side_studies.empty()) text += Cat("\n", fitted.side_studies);
  return text;
}

}  // namespace

FitHandler::FitHandler(db::Store* store) : store_(store) {}

absl::Status FitHandler::FitScalingLaw(const v1::FitScalingLawRequest& request,
                                       v1::FitScalingLawResponse* response) {
  ASSIGN_OR_RETURN(
      const fitting::ComputeUnit unit,
      ParseUnit(request.compute_unit(), fitting::ComputeUnit::kPfDays, "compute_unit"));
  ASSIGN_OR_RETURN(const FitQuery query, ParseQuery(request, unit));
  ASSIGN_OR_RETURN(const Fitted fitted, FitOrLoad(*store_, query));
  for (const fitting::ArchFit& f : fitted.report.archs) {
    ArchFitToProto(f, fitted.report, response->add_fits());
  }
  response->set_method(query.method);
  response->set_cached(fitted.cached);
  response->set_report_json(fitting::FitReportJson(fitted.report, nullptr));
  response->set_report_text(ReportText(fitted, nullptr));
  response->set_metric(std::string(fitting::LossMetricKey(fitted.report.metric)));
  response->set_inputs_hash(fitted.inputs_hash);
  response->set_checkpoints(fitted.checkpoints);
  response->set_bootstrap_samples(fitted.report.bootstrap_resamples);
  response->set_interval_level(fitted.report.interval_level);
  for (const std::string& w : fitted.input_warnings) response->add_warnings(w);
  response->set_computed_ms(fitted.computed_ms);
  return absl::OkStatus();
}

absl::Status FitHandler::QueryOptimal(const v1::QueryOptimalRequest& request,
                                      v1::QueryOptimalResponse* response) {
  ASSIGN_OR_RETURN(const fitting::ComputeUnit unit,
                   ParseUnit(request.unit(), fitting::ComputeUnit::kFlops, "unit"));
  if (!(request.budget() > 0) || !std::isfinite(request.budget())) {
    return Invalid(Cat("budget: must be positive and finite (got ", request.budget(), ")"));
  }
  std::vector<fitting::ShapeOption> shapes;
  for (int i = 0; i < request.shapes_size(); ++i) {
    ASSIGN_OR_RETURN(fitting::ShapeOption shape,
                     ShapeFromProto(request.shapes(i), Cat("shapes[", i, "]")));
    shapes.push_back(std::move(shape));
  }
  ASSIGN_OR_RETURN(const FitQuery query, ParseQuery(request, unit));
  ASSIGN_OR_RETURN(const Fitted fitted, FitOrLoad(*store_, query));
  if (shapes.empty()) shapes = fitting::PresetShapes(fitted.report);
  ASSIGN_OR_RETURN(const fitting::BudgetReport budget,
                   fitting::RecommendForBudget(fitted.report, request.budget(), shapes));
  BudgetReportToProto(budget, response);
  if (response->recommendations_size() == 0) {
    std::string why;
    for (const fitting::ArchRecommendation& arch : budget.archs) {
      for (const std::string& w : arch.warnings)
        why += Cat(why.empty() ? "" : "; ", arch.arch, ": ", w);
    }
    return absl::FailedPreconditionError(
        Cat("sweep ", query.sweep_id,
            ": no architecture has a finite compute-optimal allocation at this budget",
            why.empty() ? "" : " (" + why + ")"));
  }
  response->set_budget_flops(request.budget() *
                             (unit == fitting::ComputeUnit::kFlops ? 1 : fitting::kFlopsPerPfDay));
  response->set_method(query.method);
  response->set_cached(fitted.cached);
  response->set_report_json(fitting::FitReportJson(fitted.report, &budget));
  response->set_report_text(ReportText(fitted, &budget));
  response->set_metric(std::string(fitting::LossMetricKey(fitted.report.metric)));
  response->set_inputs_hash(fitted.inputs_hash);
  response->set_checkpoints(fitted.checkpoints);
  response->set_bootstrap_samples(fitted.report.bootstrap_resamples);
  response->set_interval_level(fitted.report.interval_level);
  for (const std::string& w : fitted.input_warnings) response->add_warnings(w);
  response->set_computed_ms(fitted.computed_ms);
  return absl::OkStatus();
}

}  // namespace flopwise::server
