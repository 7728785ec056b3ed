// `flopwise fit|optimal|plot --sweep ID`: the CLI binary against a coordinator
// on loopback. It prints the coordinator's report (the same document as the
// offline mode over an export of the same checkpoints) and errors as one line.
#include <sys/wait.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/server/fit_study.h"

#ifndef FLOPWISE_CLI_BIN
#error "FLOPWISE_CLI_BIN must name the flopwise binary"
#endif

namespace flopwise::server::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Result {
  int exit_code = -1;
  std::string out, err;
};

class FitCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    study_ = std::make_unique<FitStudy>(
        fs::temp_directory_path() /
        ("flopwise-fit-cli-test-" + std::to_string(::getpid()) + "-" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    ASSERT_TRUE(study_->ok());
    Law llama, tnl;
    tnl.e = 1.8;
    sweep_ = study_->Submit("cli", "llama, tnl", "cpu-1, cpu-2, cpu-3, cpu-4");
    ASSERT_EQ(study_->TrainAll({{"llama", llama}, {"tnl", tnl}}, 6, false), 8);
  }

  // Runs `flopwise ARGS` with the coordinator given by environment variables.
  Result Flopwise(const std::string& args) {
    const std::string err_path = (study_->dir() / "stderr.txt").string();
    const std::string command = "FLOPWISE_COORDINATOR=127.0.0.1:" + std::to_string(study_->port()) +
                                " FLOPWISE_TOKEN_FILE=" + study_->client_token_file() + " " +
                                FLOPWISE_CLI_BIN + " " + args + " 2>" + err_path;
    Result result;
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream err(err_path);
    std::stringstream text;
    text << err.rdbuf();
    result.err = text.str();
    return result;
  }

  std::string Sweep() const { return " --sweep " + std::to_string(sweep_); }

  std::unique_ptr<FitStudy> study_;
  int64_t sweep_ = 0;
};

TEST_F(FitCliTest, FitPrintsTheCoordinatorsCachedReport) {
  const Result cli = Flopwise("fit" + Sweep() + " --method approach3 --json");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  // The same request over the API is now answered from the cache the CLI filled.
  v1::FitScalingLawRequest request;
  request.set_sweep_id(sweep_);
  request.set_method("approach3");
  request.set_compute_unit(v1::COMPUTE_UNIT_FLOPS);
  request.set_interval_level(0.95);
  request.set_seed(1);
  request.set_flops_convention("formula");
  v1::FitScalingLawResponse response;
  const grpc::Status status =
      study_->users().FitScalingLaw(FitStudy::Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.cached());
  EXPECT_EQ(cli.out, response.report_json() + "\n");
  EXPECT_EQ(study_->FitRows(), 1);

  const Result text = Flopwise("fit" + Sweep() + " --method approach3");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out, response.report_text() + "\n");
  EXPECT_NE(text.out.find("== tnl: 4 runs, 24 checkpoints"), std::string::npos) << text.out;
}

TEST_F(FitCliTest, SameDocumentAsTheOfflineFitOfAnExport) {
  const std::string csv = (study_->dir() / "checkpoints.csv").string();
  const Result exported =
      Flopwise("export --what checkpoints --format csv" + Sweep() + " -o " + csv);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const Result remote = Flopwise("fit" + Sweep() + " --method all --unit pfdays --json");
  const Result offline = Flopwise("fit --input " + csv + " --method all --unit pfdays --json");
  ASSERT_EQ(remote.exit_code, 0) << remote.err;
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  const json a = json::parse(remote.out), b = json::parse(offline.out);
  ASSERT_EQ(a["archs"].size(), 2u);
  ASSERT_EQ(a["archs"].size(), b["archs"].size());
  EXPECT_EQ(a["unit"], b["unit"]);
  EXPECT_EQ(a["methods"], b["methods"]);
  for (size_t i = 0; i < a["archs"].size(); ++i) {
    const json& x = a["archs"][i];
    const json& y = b["archs"][i];
    EXPECT_EQ(x["arch"], y["arch"]);
    EXPECT_EQ(x["runs"], y["runs"]);
    EXPECT_EQ(x["points"], y["points"]);
    EXPECT_EQ(x["errors"], y["errors"]);
    int compared = 0;
    for (const char* key : {"L_coef", "L_exp", "nopt_exp", "dopt_exp", "E", "alpha", "beta"}) {
      ASSERT_EQ(x[key].is_number(), y[key].is_number()) << key;
      if (!x[key].is_number()) continue;
      // The export rounds flops and loss to 10 digits; the fits agree to far
      // better than anything printed.
      EXPECT_NEAR(x[key].get<double>(), y[key].get<double>(), 1e-5 * std::abs(y[key].get<double>()))
          << x["arch"] << " " << key;
      ++compared;
    }
    EXPECT_GE(compared, 5) << x.dump();
  }
}

TEST_F(FitCliTest, OptimalNamesTheBestArchitecture) {
  const Result text =
      Flopwise("optimal" + Sweep() + " --budget 1e18 --unit flops --method approach3");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("lowest loss (approach3): tnl"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("nearest shape"), std::string::npos) << text.out;
  const Result doc =
      Flopwise("optimal" + Sweep() + " --budget 1e18 --unit flops --method approach3 --json");
  ASSERT_EQ(doc.exit_code, 0) << doc.err;
  const json parsed = json::parse(doc.out);
  EXPECT_EQ(parsed["budget"]["best"][0]["arch"], "tnl");
  EXPECT_EQ(parsed["budget"]["unit"], "flops");
  EXPECT_GT(parsed["archs"][0]["recommendation"]["extrapolation_decades"].get<double>(), 1);
}

TEST_F(FitCliTest, OptimalAnswersFirstAsOffline) {
  const std::string csv = (study_->dir() / "checkpoints.csv").string();
  ASSERT_EQ(Flopwise("export --what checkpoints --format csv" + Sweep() + " -o " + csv).exit_code,
            0);
  const std::string options = " --budget 1e15 --unit flops --method paper";
  const Result remote = Flopwise("optimal" + Sweep() + options);
  const Result offline = Flopwise("optimal --input " + csv + options);
  ASSERT_EQ(remote.exit_code, 0) << remote.err;
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  const std::string answer = "compute-optimal at C = 1e+15 FLOPs (fitted on training loss)\n";
  EXPECT_EQ(remote.out.rfind(answer, 0), 0u) << remote.out;
  // The same lines up to the details (the numbers agree to what is printed).
  EXPECT_EQ(remote.out.substr(0, remote.out.find("details")),
            offline.out.substr(0, offline.out.find("details")));
}

// Each with its exit code (docs/operations.md "Exit codes").
TEST_F(FitCliTest, ErrorsAreOneLine) {
  for (const auto& [args, code] : std::vector<std::pair<std::string, int>>{
           {"optimal --sweep 999 --budget 1e18", 1},   // NOT_FOUND
           {"optimal" + Sweep() + " --budget -5", 2},  // INVALID_ARGUMENT
           {"fit" + Sweep() + " --coordinator 127.0.0.1:1 --timeout-ms 2000", 4}}) {
    const Result r = Flopwise(args);
    EXPECT_EQ(r.exit_code, code) << args;
    EXPECT_TRUE(r.out.empty()) << r.out;
    ASSERT_FALSE(r.err.empty()) << args;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
  EXPECT_NE(Flopwise("optimal --sweep 999 --budget 1e18").err.find("NOT_FOUND"), std::string::npos);
  const Result budget = Flopwise("optimal" + Sweep() + " --budget -5");
  EXPECT_NE(budget.err.find("INVALID_ARGUMENT: budget: must be positive"), std::string::npos)
      << budget.err;
}

TEST_F(FitCliTest, PlotDrawsTheSweepLocally) {
  const fs::path out = study_->dir() / "figures";
  const Result r = Flopwise("plot" + Sweep() + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"llama_figure1.svg", "tnl_figure1.svg", "overlay.svg"}) {
    EXPECT_TRUE(fs::exists(out / name)) << name;
    EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
  }
  std::ifstream svg(out / "tnl_figure1.svg");
  std::stringstream text;
  text << svg.rdbuf();
  EXPECT_NE(text.str().find("data-series=\"run-tnl-cpu-4-ctx64\""), std::string::npos);

  const Result missing = Flopwise("plot --sweep 999 --out " + out.string());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("NOT_FOUND"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace flopwise::server::testing
