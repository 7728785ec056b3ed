// FitScalingLaw and QueryOptimal over real gRPC on loopback: checkpoints come
// in through the worker API with losses from a known law, the coordinator fits
// them, caches the fit in its SQLite file and answers errors by field.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "runspec/architecture.h"
#include "tests/server/fit_study.h"

namespace flopwise::server::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kFiveSizes[] = "cpu-1, cpu-2, cpu-3, cpu-4, cpu-5";
constexpr int kCheckpoints = 8;

// TNL reaches a lower loss than LLaMA everywhere: same law, lower E.
std::map<std::string, Law> Laws() {
  Law llama;
  Law tnl;
  tnl.e = 1.8;
  return {{"llama", llama}, {"tnl", tnl}};
}

const v1::FittedLaw* FindLaw(const v1::ArchitectureFit& fit, const std::string& method,
                             const std::string& law) {
  for (const v1::FittedLaw& l : fit.laws()) {
    if (l.method() == method && l.law() == law) return &l;
  }
  return nullptr;
}

double Coefficient(const v1::FittedLaw& law, const std::string& name) {
  for (const v1::Coefficient& c : law.coefficients()) {
    if (c.name() == name) return c.value();
  }
  ADD_FAILURE() << "no coefficient " << name << " in " << law.law();
  return std::numeric_limits<double>::quiet_NaN();
}

bool PrintsNan(const std::string& text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("nan") != std::string::npos;
}

class FitServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    study_ = std::make_unique<FitStudy>(
        fs::temp_directory_path() /
        ("flopwise-fit-test-" + std::to_string(::getpid()) + "-" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    ASSERT_TRUE(study_->ok());
  }

  // A sweep of llama and tnl at five sizes, every checkpoint reported except
  // the last run's final one (held back for ReportHeldBack()).
  int64_t TrainedSweep() {
    const int64_t sweep = study_->Submit("fit", "llama, tnl", kFiveSizes);
    EXPECT_EQ(study_->TrainAll(Laws(), kCheckpoints, /*hold_back_last=*/true), 10);
    return sweep;
  }

  grpc::Status Fit(const v1::FitScalingLawRequest& request, v1::FitScalingLawResponse* response) {
    return study_->users().FitScalingLaw(FitStudy::Context().get(), request, response);
  }
  grpc::Status Optimal(const v1::QueryOptimalRequest& request, v1::QueryOptimalResponse* response) {
    return study_->users().QueryOptimal(FitStudy::Context().get(), request, response);
  }

  std::unique_ptr<FitStudy> study_;
};

TEST_F(FitServiceTest, Approach3RecoversTheLawAndRepeatsComeFromTheCache) {
  const int64_t sweep = TrainedSweep();
  v1::FitScalingLawRequest request;
  request.set_sweep_id(sweep);
  request.set_method("approach3");
  request.set_compute_unit(v1::COMPUTE_UNIT_FLOPS);
  v1::FitScalingLawResponse first;
  grpc::Status status = Fit(request, &first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(first.cached());
  EXPECT_EQ(first.method(), "approach3");
  EXPECT_EQ(first.checkpoints(), 10 * kCheckpoints - 1);
  ASSERT_EQ(first.fits_size(), 2);
  for (const v1::ArchitectureFit& fit : first.fits()) {
    const Law truth = Laws().at(fit.arch() == v1::ARCHITECTURE_TNL ? "tnl" : "llama");
    EXPECT_EQ(fit.runs(), 5);
    EXPECT_EQ(fit.compute_unit(), v1::COMPUTE_UNIT_FLOPS);
    const v1::FittedLaw* law = FindLaw(fit, "approach3", "loss_vs_n_d");
    ASSERT_NE(law, nullptr) << v1::Architecture_Name(fit.arch());
    // Noise-free losses: the law comes back to solver precision.
    EXPECT_NEAR(Coefficient(*law, "E") / truth.e, 1, 1e-4);
    EXPECT_NEAR(Coefficient(*law, "alpha"), truth.alpha, 1e-4);
    EXPECT_NEAR(Coefficient(*law, "beta"), truth.beta, 1e-4);
    EXPECT_NEAR(Coefficient(*law, "A") / truth.a, 1, 1e-3);
    EXPECT_NEAR(Coefficient(*law, "B") / truth.b, 1, 1e-3);
    EXPECT_GT(law->r_squared(), 0.999);
    const v1::FittedLaw* nopt = FindLaw(fit, "approach3", "nopt_vs_compute");
    ASSERT_NE(nopt, nullptr);
    EXPECT_TRUE(nopt->derived());
    EXPECT_NE(nopt->formula().find("(C in FLOPs)"), std::string::npos) << nopt->formula();
  }
  const nlohmann::json doc = nlohmann::json::parse(first.report_json(), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << first.report_json();
  EXPECT_EQ(doc["unit"], "flops");
  EXPECT_EQ(doc["archs"].size(), 2u);
  EXPECT_FALSE(PrintsNan(first.report_json()));
  EXPECT_FALSE(PrintsNan(first.report_text()));
  EXPECT_EQ(study_->FitRows(), 1);

  v1::FitScalingLawResponse again;
  status = Fit(request, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.cached());
  EXPECT_EQ(again.inputs_hash(), first.inputs_hash());
  EXPECT_EQ(again.report_json(), first.report_json());
  EXPECT_EQ(again.computed_ms(), first.computed_ms());
  EXPECT_EQ(study_->FitRows(), 1);

  // QueryOptimal with the same fit options reuses the same cached fit.
  v1::QueryOptimalRequest optimal;
  optimal.set_sweep_id(sweep);
  optimal.set_method("approach3");
  optimal.set_budget(1e16);
  optimal.set_unit(v1::COMPUTE_UNIT_FLOPS);
  v1::QueryOptimalResponse answer;
  status = Optimal(optimal, &answer);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(answer.cached());
  EXPECT_EQ(answer.inputs_hash(), first.inputs_hash());
  EXPECT_EQ(study_->FitRows(), 1);

  // One more checkpoint: new inputs, a new fit.
  study_->ReportHeldBack();
  v1::FitScalingLawResponse after;
  status = Fit(request, &after);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(after.cached());
  EXPECT_NE(after.inputs_hash(), first.inputs_hash());
  EXPECT_EQ(after.checkpoints(), 10 * kCheckpoints);
  EXPECT_EQ(study_->FitRows(), 2);
}

TEST_F(FitServiceTest, DefaultIsThePaperEnvelopeInPfDaysWithIntervals) {
  const int64_t sweep = TrainedSweep();
  v1::FitScalingLawRequest request;
  request.set_sweep_id(sweep);
  request.add_architectures(v1::ARCHITECTURE_TNL);
  request.set_bootstrap_samples(10);
  v1::FitScalingLawResponse response;
  const grpc::Status status = Fit(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.method(), "paper");
  EXPECT_EQ(response.bootstrap_samples(), 10);
  EXPECT_DOUBLE_EQ(response.interval_level(), 0.95);
  ASSERT_EQ(response.fits_size(), 1);
  const v1::ArchitectureFit& fit = response.fits(0);
  EXPECT_EQ(fit.arch(), v1::ARCHITECTURE_TNL);
  EXPECT_EQ(fit.compute_unit(), v1::COMPUTE_UNIT_PF_DAYS);
  EXPECT_GT(fit.compute_max(), fit.compute_min());
  EXPECT_LT(fit.compute_max(), 1);  // tiny models: far below a PF-day
  const v1::FittedLaw* loss = FindLaw(fit, "paper", "loss_vs_compute");
  ASSERT_NE(loss, nullptr);
  EXPECT_LT(Coefficient(*loss, "alpha"), 0);  // loss falls with compute
  EXPECT_GT(loss->r_squared(), 0.9);
  EXPECT_NE(loss->formula().find("(C in PF-days)"), std::string::npos) << loss->formula();
  for (const v1::Coefficient& c : loss->coefficients()) {
    EXPECT_TRUE(c.has_interval()) << c.name();
    EXPECT_LE(c.lower(), c.upper()) << c.name();
    EXPECT_DOUBLE_EQ(c.confidence(), 0.95);
  }
  EXPECT_NE(FindLaw(fit, "paper", "nopt_vs_compute"), nullptr);
  EXPECT_NE(FindLaw(fit, "paper", "dopt_vs_compute"), nullptr);
  EXPECT_FALSE(PrintsNan(response.report_json()));
}

TEST_F(FitServiceTest, QueryOptimalRanksArchitecturesAndNamesTheBest) {
  const int64_t sweep = TrainedSweep();
  v1::QueryOptimalRequest request;
  request.set_sweep_id(sweep);
  request.set_method("approach3");
  request.set_bootstrap_samples(10);
  request.set_budget(1e18);
  request.set_unit(v1::COMPUTE_UNIT_FLOPS);
  v1::QueryOptimalResponse response;
  grpc::Status status = Optimal(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.best_arch(), v1::ARCHITECTURE_TNL);
  EXPECT_DOUBLE_EQ(response.budget_flops(), 1e18);
  ASSERT_EQ(response.winners_size(), 1);
  EXPECT_EQ(response.winners(0).method(), "approach3");
  EXPECT_EQ(response.winners(0).arch(), v1::ARCHITECTURE_TNL);
  EXPECT_EQ(response.winners(0).resamples(), 10);
  EXPECT_GT(response.winners(0).win_fraction(), 0.5);
  ASSERT_EQ(response.recommendations_size(), 2);
  EXPECT_EQ(response.recommendations(0).arch(), v1::ARCHITECTURE_TNL);
  EXPECT_LT(response.recommendations(0).predicted_loss(),
            response.recommendations(1).predicted_loss());
  for (const v1::Recommendation& rec : response.recommendations()) {
    EXPECT_EQ(rec.method(), "approach3");
    EXPECT_GT(rec.n_opt_params(), 0);
    EXPECT_GT(rec.d_opt_tokens(), 0);
    EXPECT_TRUE(rec.n_opt_has_interval());
    EXPECT_LE(rec.n_opt_lower(), rec.n_opt_upper());
    ASSERT_TRUE(rec.has_nearest_shape());
    EXPECT_EQ(rec.nearest_shape().arch(), rec.arch());
    EXPECT_FALSE(rec.nearest_shape().name().empty());
    EXPECT_GT(rec.nearest_shape_tokens(), 0);
    // 1e18 FLOPs is far above what these runs spent: an extrapolation, said so.
    EXPECT_GT(rec.extrapolation_decades(), 1);
    ASSERT_GT(rec.warnings_size(), 0);
    EXPECT_NE(rec.warnings(0).find("decades above"), std::string::npos) << rec.warnings(0);
  }
  const nlohmann::json doc = nlohmann::json::parse(response.report_json(), nullptr, false);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["budget"]["best"][0]["arch"], "tnl");
  EXPECT_NE(response.report_text().find("lowest loss (approach3): tnl"), std::string::npos)
      << response.report_text();

  // A budget inside the fitted range (in PF-days) is no extrapolation.
  v1::FitScalingLawRequest fit_request;
  fit_request.set_sweep_id(sweep);
  fit_request.set_method("approach3");
  v1::FitScalingLawResponse fit;
  status = Fit(fit_request, &fit);
  ASSERT_TRUE(status.ok()) << status.error_message();
  double lo = 0, hi = std::numeric_limits<double>::infinity();
  for (const v1::ArchitectureFit& f : fit.fits()) {
    lo = std::max(lo, f.compute_min());
    hi = std::min(hi, f.compute_max());
  }
  ASSERT_LT(lo, hi);
  request.set_budget(std::sqrt(lo * hi));
  request.set_unit(v1::COMPUTE_UNIT_PF_DAYS);
  response.Clear();
  status = Optimal(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_DOUBLE_EQ(response.budget_flops(), std::sqrt(lo * hi) * 8.64e19);
  for (const v1::Recommendation& rec : response.recommendations()) {
    EXPECT_EQ(rec.extrapolation_decades(), 0);
    EXPECT_EQ(rec.warnings_size(), 0);
  }
}

TEST_F(FitServiceTest, BadRequestsNameTheField) {
  const int64_t sweep = study_->Submit("small", "llama", "cpu-1, cpu-2, cpu-3");
  study_->TrainAll(Laws(), 4, /*hold_back_last=*/false);
  auto fit_error = [&](const v1::FitScalingLawRequest& request) {
    v1::FitScalingLawResponse response;
    return Fit(request, &response);
  };
  auto optimal_error = [&](const v1::QueryOptimalRequest& request) {
    v1::QueryOptimalResponse response;
    return Optimal(request, &response);
  };
  auto expect = [](const grpc::Status& status, grpc::StatusCode code, const std::string& text) {
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_NE(status.error_message().find(text), std::string::npos) << status.error_message();
  };

  v1::QueryOptimalRequest good;
  good.set_sweep_id(sweep);
  good.set_budget(1e15);
  ASSERT_TRUE(optimal_error(good).ok()) << optimal_error(good).error_message();
  for (double budget : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity()}) {
    v1::QueryOptimalRequest request = good;
    request.set_budget(budget);
    expect(optimal_error(request), grpc::StatusCode::INVALID_ARGUMENT, "budget:");
  }
  v1::QueryOptimalRequest bad_unit = good;
  bad_unit.set_unit(static_cast<v1::ComputeUnit>(9));
  expect(optimal_error(bad_unit), grpc::StatusCode::INVALID_ARGUMENT, "unit:");
  v1::QueryOptimalRequest bad_method = good;
  bad_method.set_method("newton");
  expect(optimal_error(bad_method), grpc::StatusCode::INVALID_ARGUMENT, "method:");
  v1::QueryOptimalRequest unknown_sweep = good;
  unknown_sweep.set_sweep_id(sweep + 100);
  expect(optimal_error(unknown_sweep), grpc::StatusCode::NOT_FOUND, "sweep");

  v1::FitScalingLawRequest fit;
  fit.set_sweep_id(sweep);
  ASSERT_TRUE(fit_error(fit).ok()) << fit_error(fit).error_message();
  v1::FitScalingLawRequest request = fit;
  request.set_sweep_id(sweep + 100);
  expect(fit_error(request), grpc::StatusCode::NOT_FOUND, "sweep");
  request = fit;
  request.set_sweep_id(0);
  expect(fit_error(request), grpc::StatusCode::INVALID_ARGUMENT, "sweep_id:");
  request = fit;
  request.set_method("Approach3");
  expect(fit_error(request), grpc::StatusCode::INVALID_ARGUMENT, "method:");
  request = fit;
  request.set_compute_unit(static_cast<v1::ComputeUnit>(9));
  expect(fit_error(request), grpc::StatusCode::INVALID_ARGUMENT, "compute_unit:");
  request = fit;
  request.set_bootstrap_samples(-1);
  expect(fit_error(request), grpc::StatusCode::INVALID_ARGUMENT, "bootstrap_samples:");
  request = fit;
  request.set_interval_level(1.5);
  expect(fit_error(request), grpc::StatusCode::INVALID_ARGUMENT, "interval_level:");
  request = fit;
  request.set_flops_convention("7nd");
  expect(fit_error(request), grpc::StatusCode::INVALID_ARGUMENT, "flops_convention:");
  request = fit;
  request.add_architectures(static_cast<v1::Architecture>(42));
  expect(fit_error(request), grpc::StatusCode::INVALID_ARGUMENT, "architectures[0]:");
  request = fit;
  request.add_architectures(v1::ARCHITECTURE_HGRN2);
  expect(fit_error(request), grpc::StatusCode::FAILED_PRECONDITION, "hgrn2");

  v1::FitScalingLawResponse response;
  EXPECT_EQ(study_->users()
                .FitScalingLaw(FitStudy::Context(kWorkerToken).get(), fit, &response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(FitServiceTest, TooFewCheckpointsIsAFailedPreconditionSayingWhy) {
  const int64_t untrained = study_->Submit("untrained", "llama", "cpu-1, cpu-2");
  v1::FitScalingLawRequest request;
  request.set_sweep_id(untrained);
  v1::FitScalingLawResponse response;
  grpc::Status status = Fit(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("has no checkpoints"), std::string::npos)
      << status.error_message();
  study_->TrainAll(Laws(), 4, /*hold_back_last=*/false);  // trains the untrained sweep

  const int64_t one_size = study_->Submit("one-size", "llama", "cpu-3");
  study_->TrainAll(Laws(), 4, /*hold_back_last=*/false);
  request.set_sweep_id(one_size);
  status = Fit(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("at least 2 model sizes"), std::string::npos)
      << status.error_message();
  v1::QueryOptimalRequest optimal;
  optimal.set_sweep_id(one_size);
  optimal.set_budget(1e15);
  v1::QueryOptimalResponse answer;
  status = Optimal(optimal, &answer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(study_->FitRows(), 0);
}

TEST_F(FitServiceTest, NonFiniteCheckpointsAreLeftOutWithAWarning) {
  const int64_t sweep = TrainedSweep();
  study_->ReportNanCheckpointOnHeldLease();
  v1::FitScalingLawRequest request;
  request.set_sweep_id(sweep);
  v1::FitScalingLawResponse response;
  const grpc::Status status = Fit(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.checkpoints(), 10 * kCheckpoints - 1);
  ASSERT_EQ(response.warnings_size(), 1);
  EXPECT_NE(response.warnings(0).find("1 of 80 checkpoints left out"), std::string::npos)
      << response.warnings(0);
  EXPECT_FALSE(PrintsNan(response.report_json()));
  EXPECT_FALSE(PrintsNan(response.report_text()));
}

// A main ladder at context 64 and the cpu-3 size at contexts 32 and 128, as
// the paper's grid holds its 1B context study beside the main runs.
constexpr char kContextGrids[] =
    "grids:\n"
    "  - {name: main, architectures: [llama, tnl], sizes: [cpu-1, cpu-2, cpu-3, cpu-4, cpu-5]}\n"
    "  - {name: context, architectures: [llama, tnl], sizes: [cpu-3], contexts: [32, 128]}\n";

TEST_F(FitServiceTest, RunsOfOtherContextsAreFittedApartAndReportedAsASideStudy) {
  const int64_t sweep = study_->SubmitGrids("grouped", kContextGrids);
  ASSERT_EQ(study_->TrainAll(Laws(), kCheckpoints, /*hold_back_last=*/false), 14);
  v1::FitScalingLawRequest request;
  request.set_sweep_id(sweep);
  v1::FitScalingLawResponse response;
  grpc::Status status = Fit(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.metric(), "train");  // no checkpoint has a validation loss
  std::map<std::string, int> runs;        // by "arch [group]"
  for (const v1::ArchitectureFit& fit : response.fits()) {
    runs[runspec::ArchName(fit.arch()) + " [" + fit.group() + "]"] = fit.runs();
  }
  EXPECT_EQ(runs, (std::map<std::string, int>{{"llama [grid=context, context=128]", 1},
                                              {"llama [grid=context, context=32]", 1},
                                              {"llama [grid=main, context=64]", 5},
                                              {"tnl [grid=context, context=128]", 1},
                                              {"tnl [grid=context, context=32]", 1},
                                              {"tnl [grid=main, context=64]", 5}}));
  const std::string& text = response.report_text();
  EXPECT_EQ(text.rfind("fitted on training loss, ", 0), 0u) << text;
  EXPECT_NE(text.find("== llama [grid=main, context=64]: 5 runs"), std::string::npos) << text;
  EXPECT_NE(text.find("## Loss against context length"), std::string::npos) << text;
  EXPECT_NE(text.find("| context 32 | context 64 | context 128 |"), std::string::npos) << text;

  // Asked to, the coordinator mixes them as it used to.
  request.set_group_by("arch");
  status = Fit(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.fits_size(), 2);
  EXPECT_EQ(response.fits(0).group(), "");
  EXPECT_EQ(response.fits(0).runs(), 7);

  // Or fit one grid.
  request.set_group_by("");
  request.set_grid("main");
  status = Fit(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.fits_size(), 2);
  EXPECT_EQ(response.fits(0).runs(), 5);
  request.set_grid("aspect");
  status = Fit(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "grid: no run of grid 'aspect' (the runs' grids: context, main)");
}

TEST_F(FitServiceTest, MetricAndEnvelopeAreAskedForAndKeyTheCache) {
  const int64_t sweep = TrainedSweep();
  v1::FitScalingLawRequest request;
  request.set_sweep_id(sweep);
  v1::FitScalingLawResponse pareto, paper, train;
  ASSERT_TRUE(Fit(request, &pareto).ok());
  request.set_envelope("paper");
  ASSERT_TRUE(Fit(request, &paper).ok());
  EXPECT_NE(paper.inputs_hash(), pareto.inputs_hash());
  EXPECT_FALSE(paper.cached());
  EXPECT_NE(paper.report_text().find("paper envelope"), std::string::npos) << paper.report_text();
  request.set_envelope("");
  request.set_metric("train");
  ASSERT_TRUE(Fit(request, &train).ok());
  EXPECT_NE(train.inputs_hash(), pareto.inputs_hash());
  EXPECT_EQ(train.metric(), "train");

  request.set_metric("validation");
  v1::FitScalingLawResponse response;
  grpc::Status status = Fit(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("79 of 79 checkpoints have no validation loss"),
            std::string::npos)
      << status.error_message();
  for (auto [field, value] : {std::pair{"metric", "loss"}, std::pair{"envelope", "lower"},
                              std::pair{"group_by", "context"}}) {
    v1::FitScalingLawRequest bad;
    bad.set_sweep_id(sweep);
    if (std::string(field) == "metric") bad.set_metric(value);
    if (std::string(field) == "envelope") bad.set_envelope(value);
    if (std::string(field) == "group_by") bad.set_group_by(value);
    status = Fit(bad, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(status.error_message().rfind(std::string(field) + ": ", 0), 0u)
        << status.error_message();
  }
}

TEST_F(FitServiceTest, OptimalTextGivesTheAnswerFirstAsOffline) {
  const int64_t sweep = TrainedSweep();
  v1::QueryOptimalRequest request;
  request.set_sweep_id(sweep);
  request.set_budget(1e15);
  v1::QueryOptimalResponse response;
  const grpc::Status status = Optimal(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string& text = response.report_text();
  EXPECT_EQ(text.rfind("compute-optimal at C = 1e+15 FLOPs (fitted on training loss)\n", 0), 0u)
      << text;
  EXPECT_NE(text.find("\ndetails\nfitted on training loss, "), std::string::npos) << text;
  EXPECT_EQ(response.metric(), "train");
}

}  // namespace
}  // namespace flopwise::server::testing
