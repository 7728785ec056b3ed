// Names and parsers of the enums in fit.h.
#include <array>

#include "absl/strings/str_cat.h"
#include "base/str_cat.h"
#include "fitting/fit.h"

namespace flopwise::fitting {

std::string_view ComputeUnitName(ComputeUnit unit) {
  return unit == ComputeUnit::kFlops ? "FLOPs" : "PF-days";
}

std::string_view ComputeUnitKey(ComputeUnit unit) {
  return unit == ComputeUnit::kFlops ? "flops" : "pfdays";
}

absl::StatusOr<ComputeUnit> ParseComputeUnit(std::string_view key) {
  if (key == "flops") return ComputeUnit::kFlops;
  if (key == "pfdays") return ComputeUnit::kPfDays;
  return absl::InvalidArgumentError(
      absl::StrCat("unit: must be flops or pfdays (got '", std::string(key), "')"));
}

std::string_view FlopsConventionKey(FlopsConvention convention) {
  return convention == FlopsConvention::kFormula ? "formula" : "6nd";
}

absl::StatusOr<FlopsConvention> ParseFlopsConvention(std::string_view key) {
  if (key == "formula") return FlopsConvention::kFormula;
  if (key == "6nd") return FlopsConvention::k6ND;
  return absl::InvalidArgumentError(
      absl::StrCat("flops-convention: must be formula or 6nd (got '", std::string(key), "')"));
}

std::string_view EnvelopeKindKey(EnvelopeKind kind) {
  return kind == EnvelopeKind::kPareto ? "pareto" : "paper";
}

absl::StatusOr<EnvelopeKind> ParseEnvelopeKind(std::string_view key) {
  if (key == "pareto") return EnvelopeKind::kPareto;
  if (key == "paper") return EnvelopeKind::kPaper;
  return absl::InvalidArgumentError(
      absl::StrCat("envelope: must be pareto or paper (got '", std::string(key), "')"));
}

std::string_view LossMetricKey(LossMetric metric) {
  switch (metric) {
    case LossMetric::kTrain:
      return "train";
    case LossMetric::kValidation:
      return "validation";
    case LossMetric::kAuto:
      break;
  }
  return "auto";
}

absl::StatusOr<LossMetric> ParseLossMetric(std::string_view key) {
  if (key == "train") return LossMetric::kTrain;
  if (key == "validation") return LossMetric::kValidation;
  if (key == "auto") return LossMetric::kAuto;
  return absl::InvalidArgumentError(
      absl::StrCat("metric: must be train, validation or auto (got '", std::string(key), "')"));
}

std::string GroupedArchName(std::string_view arch, std::string_view group) {
  return group.empty() ? std::string(arch) : Cat(arch, " [", group, "]");
}

absl::StatusOr<unsigned> ParseMethods(std::string_view key) {
  if (key == "paper") return kPaper;
  if (key == "approach2") return kApproach2;
  if (key == "approach3") return kApproach3;
  if (key == "all") return kAllMethods;
  return absl::InvalidArgumentError(absl::StrCat(
      "method: must be paper, approach2, approach3 or all (got '", std::string(key), "')"));
}

std::string_view CoefName(Coef c) {
  static constexpr std::array<std::string_view, kCoefCount> kNames = {"L_coef",
                                                                      "L_exp",
                                                                      "nopt_coef",
                                                                      "nopt_exp",
                                                                      "dopt_coef",
                                                                      "dopt_exp",
                                                                      "a2_L_coef",
                                                                      "a2_L_exp",
                                                                      "a2_nopt_coef",
                                                                      "a2_nopt_exp",
                                                                      "a2_dopt_coef",
                                                                      "a2_dopt_exp",
                                                                      "E",
                                                                      "A",
                                                                      "B",
                                                                      "alpha",
                                                                      "beta",
                                                                      "a3_nopt_coef",
                                                                      "a3_nopt_exp",
                                                                      "a3_dopt_coef",
                                                                      "a3_dopt_exp",
                                                                      "a3_flops_per_param_token"};
  return kNames[c];
}

}  // namespace flopwise::fitting
