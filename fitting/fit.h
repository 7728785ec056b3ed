// Scaling-law fits over checkpoint records: the paper's envelope method
// (L(C), N_opt(C), D_opt(C) as power laws), Chinchilla approach 2 (IsoFLOP
// parabolas) and approach 3 (L(N,D) = E + A/N^alpha + B/D^beta, Huber on
// log-loss), bootstrap over runs, and compute-optimal recommendations.
//
// Every law is y = coef * C^exp with C in FitReport::unit (FLOPs or PF-days);
// the unit travels with every result. No I/O here: records come from the
// caller (fitting/records.h reads CSV/JSONL files). Thread-compatible: the
// functions keep no state between calls.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace flopwise::fitting {

// A checkpoint without the trainer's validation.
inline constexpr double kNoValidationLoss = std::numeric_limits<double>::quiet_NaN();
// The settings of a run besides its architecture and size, for grouping
// runs (fitting/grouping.h) and the side studies (fitting/side_studies.h).
// Zero or empty: unknown.
struct RunSettings {
  int context = 0;  // sequence length in tokens
  int layers = 0;
  int d_model = 0;
  int vocab = 0;      // unpadded vocabulary size (the tokenizer)
  std::string flags;  // the model flags that differ from their defaults, "k=v,..."
  std::vector<std::string>
      grids;  // the spec grids that asked for the run, first the one that made it
};

// One checkpoint of one training run.
struct CheckpointRecord {
  std::string arch;           // llama, tnl, hgrn2, cos2 (any non-empty name is accepted)
  std::string run;            // run id, unique within arch
  double n_params = 0;        // non-embedding parameters (the paper's N)
  double n_params_total = 0;  // with embeddings; 0 when unknown (informational)
  double tokens = 0;          // tokens seen so far (D)
  double flops = 0;           // training FLOPs so far (C), always in FLOPs
  double loss = 0;            // training loss, nats per token
  // The trainer's validation loss at this checkpoint (nats per token); NaN
  // when none ran.
  double validation_loss = kNoValidationLoss;
  RunSettings settings = {};
  // The group the run is fitted in (fitting/grouping.h's label, such as
  // "context=2048"); runs are fitted per (group, arch). Empty: one group.
  std::string group = {};
};

inline constexpr double kFlopsPerPfDay = 8.64e19;  // 1e15 FLOP/s for one day

enum class ComputeUnit { kFlops, kPfDays };
std::string_view ComputeUnitName(ComputeUnit unit);  // "FLOPs" or "PF-days"
std::string_view ComputeUnitKey(ComputeUnit unit);   // "flops" or "pfdays"
absl::StatusOr<ComputeUnit> ParseComputeUnit(std::string_view key);

// Where C comes from. kFormula: the record's `flops` (the architecture's FLOP
// formula, as the trainer reports it). k6ND: C = 6 * n_params * tokens.
enum class FlopsConvention { kFormula, k6ND };
std::string_view FlopsConventionKey(FlopsConvention convention);  // "formula" or "6nd"
absl::StatusOr<FlopsConvention> ParseFlopsConvention(std::string_view key);

// The loss envelope of the paper's method. kPareto (the default): the
// non-increasing frontier, only grid points no point of lower compute beats
// (the lowest loss reached by any run at compute <= C). kPaper: the paper's
// per-C minimum over the runs covering C, which jumps back up where a small
// run ends (a sawtooth).
enum class EnvelopeKind { kPareto, kPaper };
std::string_view EnvelopeKindKey(EnvelopeKind kind);  // "pareto" or "paper"
absl::StatusOr<EnvelopeKind> ParseEnvelopeKind(std::string_view key);

// The loss the laws are fitted to. kAuto: validation loss when every record
// has one, training loss otherwise (FitReport::metric says which was used).
enum class LossMetric { kAuto, kTrain, kValidation };
std::string_view LossMetricKey(LossMetric metric);  // "auto", "train" or "validation"
absl::StatusOr<LossMetric> ParseLossMetric(std::string_view key);

// The metric kAuto resolves to for `records` (`requested` itself otherwise).
// InvalidArgument for kValidation when a record has no validation loss,
// saying how many of how many lack it.
absl::StatusOr<LossMetric> ResolveLossMetric(std::span<const CheckpointRecord> records,
                                             LossMetric requested);

// Bit set of methods.
enum Method : unsigned { kPaper = 1, kApproach2 = 2, kApproach3 = 4, kAllMethods = 7 };
absl::StatusOr<unsigned> ParseMethods(std::string_view key);  // paper|approach2|approach3|all

// Approach 3's starting grid (log A, log B, log E, alpha, beta). The default is
// Hoffmann et al.'s 4,500-point grid; every point's Huber objective is
// evaluated and the `solves` best points are optimised with Ceres.
struct Approach3Grid {
  std::vector<double> log_a = {0, 5, 10, 15, 20, 25};
  std::vector<double> log_b = {0, 5, 10, 15, 20, 25};
  std::vector<double> log_e = {-1, -0.5, 0, 0.5, 1};
  std::vector<double> alpha = {0, 0.5, 1, 1.5, 2};
  std::vector<double> beta = {0, 0.5, 1, 1.5, 2};
  int solves = 32;            // full-data fit
  int bootstrap_solves = 2;   // per resample, plus a start at the full-data optimum
  double huber_delta = 1e-3;  // on log-loss residuals
};

// The most bootstrap resamples a fit accepts, wherever it is asked for (the
// CLI, the coordinator): each resample refits every method, so 10,000 already
// takes hours on a large sweep.
inline constexpr int kMaxBootstrapResamples = 10'000;

// OK for 0 (no bootstrap) to kMaxBootstrapResamples; otherwise InvalidArgument
// "must be in [0, 10000] (got N)" (the caller prefixes its field's name).
absl::Status CheckBootstrapResamples(int resamples);

struct FitOptions {
  ComputeUnit unit = ComputeUnit::kFlops;
  FlopsConvention convention = FlopsConvention::kFormula;
  unsigned methods = kAllMethods;
  int bootstrap_resamples = 0;   // 0: no intervals; at most kMaxBootstrapResamples
  double interval_level = 0.95;  // percentile interval
  uint64_t seed = 1;
  double min_tokens = 0;     // drop checkpoints with fewer tokens
  double skip_fraction = 0;  // drop checkpoints before this fraction of the run's final tokens
  int envelope_grid_points = 100;  // log-spaced compute grid of the envelope
  EnvelopeKind envelope = EnvelopeKind::kPareto;
  LossMetric metric = LossMetric::kAuto;
  int isoflop_levels = 24;  // log-spaced compute levels tried as iso-FLOP slices
  Approach3Grid approach3;
};

// y = coef * x^exponent, fitted as log y = log coef + exponent * log x.
struct PowerLawFit {
  double coef = 0;
  double exponent = 0;
  double rms_log = 0;  // residual RMS of log y
  double r2_log = 0;   // R^2 of log y
  int points = 0;
};

struct EnvelopePoint {
  double compute = 0;  // C in FitReport::unit (grid value)
  double loss = 0;     // min over runs at C (see EnvelopeKind)
  std::string run;     // the run attaining it
  double n_params = 0;
  double tokens = 0;  // that run's tokens at C (interpolated in log C)
};

struct PaperFit {
  std::vector<EnvelopePoint> envelope;
  PowerLawFit loss, n_opt, d_opt;
};

struct IsoFlopSlice {
  double compute = 0;  // C in FitReport::unit
  std::vector<double> n_params, loss;
  double curvature = 0;  // loss = c0 + c1 u + c2 u^2, u = ln N - mean ln N; this is c2
  double n_opt = 0, d_opt = 0, loss_min = 0;
};

struct Approach2Fit {
  std::vector<IsoFlopSlice> slices;  // the slices used
  int levels_tried = 0;
  PowerLawFit n_opt, d_opt, loss;  // over the slices' minima
};

struct Approach3Fit {
  double e = 0, a = 0, b = 0, alpha = 0, beta = 0;
  double huber_objective = 0;  // sum over points
  double rms_log = 0, r2_log = 0;
  int points = 0, starts_solved = 0, starts_converged = 0;
  // k of C = k * N * D used by the closed-form optimum: 6 under k6ND, the
  // median of flops / (n_params * tokens) over the records under kFormula.
  double flops_per_param_token = 6;
};

// Named coefficients, one slot each, for bootstrap draws and intervals.
enum Coef : int {
  kLCoef,
  kLExp,
  kNoptCoef,
  kNoptExp,
  kDoptCoef,
  kDoptExp,
  kA2LCoef,
  kA2LExp,
  kA2NoptCoef,
  kA2NoptExp,
  kA2DoptCoef,
  kA2DoptExp,
  kE,
  kA,
  kB,
  kAlpha,
  kBeta,
  kA3NoptCoef,
  kA3NoptExp,
  kA3DoptCoef,
  kA3DoptExp,
  kA3FlopsPerParamToken,
  kCoefCount
};
std::string_view CoefName(Coef c);                  // JSON key, e.g. "L_coef", "a3_nopt_exp", "E"
using CoefVector = std::array<double, kCoefCount>;  // NaN where a method did not fit

struct Interval {
  double lo = 0, hi = 0;
  bool valid = false;  // false when too few resamples succeeded
};

// Leave-largest-out: the run with the largest final compute is removed, the
// method refitted, and that run's final loss predicted.
struct HoldoutCheck {
  std::string method;  // paper, approach2, approach3
  std::string run;
  double compute = 0;  // its final C, in FitReport::unit
  double observed_loss = 0, predicted_loss = 0;
  double relative_error = 0;  // predicted / observed - 1
};

struct ArchFit {
  std::string arch;
  std::string group;  // the records' group ("" when the fit has one group)
  int runs = 0, points = 0;
  double compute_min = 0, compute_max = 0;  // data range, in FitReport::unit
  double flops_per_param_token = 6;         // k of C = k N D (see Approach3Fit)
  bool has_paper = false, has_approach2 = false, has_approach3 = false;
  PaperFit paper;
  Approach2Fit approach2;
  Approach3Fit approach3;
  CoefVector coefs;               // full-data estimates
  std::vector<CoefVector> draws;  // one per bootstrap resample (aligned across archs)
  std::array<Interval, kCoefCount> intervals;
  std::vector<HoldoutCheck> holdout;
  std::vector<std::string> errors;    // a requested method that could not be fitted, and why
  std::vector<std::string> warnings;  // e.g. runs dropped, resamples that failed
};

struct FitReport {
  ComputeUnit unit = ComputeUnit::kFlops;
  FlopsConvention convention = FlopsConvention::kFormula;
  EnvelopeKind envelope = EnvelopeKind::kPareto;  // the one the paper method used
  LossMetric metric = LossMetric::kTrain;         // the loss fitted: kTrain or kValidation
  unsigned methods = kAllMethods;
  int bootstrap_resamples = 0;
  double interval_level = 0.95;
  std::vector<ArchFit> archs;  // sorted by group, then by arch
};

// "llama", or "llama [context=2048]" for an architecture fitted in a group.
std::string GroupedArchName(std::string_view arch, std::string_view group);
inline std::string ArchFitName(const ArchFit& fit) { return GroupedArchName(fit.arch, fit.group); }

// Fits every (group, architecture) in `records` to options.metric's loss.
// Returns InvalidArgument naming the record and field for bad values
// (non-positive, non-finite, empty names), as ResolveLossMetric does, or
// when no requested method could be fitted for any architecture; per-method
// failures of one architecture are reported in ArchFit::errors.
absl::StatusOr<FitReport> FitScalingLaws(std::span<const CheckpointRecord> records,
                                         const FitOptions& options);

// A model shape the recommendation may round to (presets or a user table).
struct ShapeOption {
  std::string arch;
  std::string name;
  int layers = 0, d_model = 0, heads = 0;
  double n_params = 0;         // non-embedding
  double flops_per_token = 0;  // training FLOPs per token; 0: use k * n_params
};

struct Estimate {
  double value = 0, lo = 0, hi = 0;
  bool has_interval = false;
};

struct MethodRecommendation {
  std::string method;  // paper, approach2, approach3
  Estimate n_opt, d_opt, loss;
  bool has_shape = false;
  ShapeOption shape;        // nearest in log N to n_opt
  double shape_tokens = 0;  // tokens that spend the budget with that shape
};

// Methods whose N_opt at a budget differ by more than this factor are said to
// disagree (ArchRecommendation::n_opt_spread).
inline constexpr double kMethodDisagreementFactor = 2;

struct ArchRecommendation {
  std::string arch;
  std::string group;  // its ArchFit's group
  std::vector<MethodRecommendation> methods;
  double extrapolation_decades = 0;  // 0 inside the data's compute range
  double n_opt_spread = 1;           // largest N_opt over smallest, across methods
  std::vector<std::string> warnings;
};

// A winner that is lowest in fewer bootstrap resamples than this is no clear
// winner.
inline constexpr double kClearWinnerFraction = 0.6;

// Compared within a group only: runs of other settings are another study.
struct BestArch {
  std::string method;
  std::string group = {};  // "" with one group
  std::string arch;
  double win_fraction = 0;  // share of bootstrap resamples where it has the lowest loss
  int resamples = 0;        // resamples compared (0: no bootstrap)
};

// True when `best` was bootstrapped and won at least kClearWinnerFraction of
// the resamples.
inline bool IsClearWinner(const BestArch& best) {
  return best.resamples > 0 && best.win_fraction >= kClearWinnerFraction;
}

struct BudgetReport {
  double budget = 0;  // C in FitReport::unit
  std::vector<ArchRecommendation> archs;
  std::vector<BestArch> best;  // by group, one per method fitted for at least one arch
};

// How far `budget` may lie outside every fitted architecture's compute range
// before CheckBudgetInRange refuses it.
inline constexpr double kMaxExtrapolationDecades = 2;

// How many decades `budget` (positive, finite, in fit.unit) lies outside the
// widest compute range of the fitted architectures; 0 inside it.
double ExtrapolationDecades(const FitReport& fit, double budget);

// InvalidArgument for a non-positive or non-finite budget, and OutOfRange
// naming the data's range when the budget lies more than
// kMaxExtrapolationDecades outside it.
absl::Status CheckBudgetInRange(const FitReport& fit, double budget);

// Recommends N and D for `budget` (in fit.unit) per architecture and method,
// with bootstrap intervals when the fit has draws. Shapes of the same arch
// are candidates for rounding. Returns InvalidArgument for a non-positive or
// non-finite budget. A budget outside the data's range is answered with a
// warning saying by how many decades (any distance: CheckBudgetInRange is the
// caller's guard), and methods whose N_opt differ by more than
// kMethodDisagreementFactor with a warning naming both.
absl::StatusOr<BudgetReport> RecommendForBudget(const FitReport& fit, double budget,
                                                std::span<const ShapeOption> shapes);

}  // namespace flopwise::fitting
