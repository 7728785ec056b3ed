// The dashboard's JSON API and pages on a real coordinator's HTTP port
// (metrics_listen; gRPC on an ephemeral port, a temporary SQLite file) whose
// one run a worker stub has leased and reported steps 1..5 of.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "flopwise/v1/user_service.grpc.pb.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "server/coordinator_server.h"

namespace flopwise::server {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kClientToken[] = "client-secret";
constexpr char kWorkerToken[] = "worker-secret";

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return context;
}

class DashboardHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    dir_ = fs::temp_directory_path() /
           ("flopwise-dashboard-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = (dir_ / "coordinator.db").string();
    options.client_token = kClientToken;
    options.worker_token = kWorkerToken;
    options.metrics_listen = "127.0.0.1:0";
    auto coordinator = CoordinatorServer::Start(options);
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    coordinator_ = std::move(*coordinator);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(coordinator_->port()),
                                       grpc::InsecureChannelCredentials());
    user_ = v1::UserService::NewStub(channel);
    worker_ = v1::WorkerService::NewStub(channel);

    http_port_ = coordinator_->metrics_port();
    ASSERT_GT(http_port_, 0);
  }

  void TearDown() override {
    coordinator_.reset();
    fs::remove_all(dir_);
  }

  // Submits a one-run sweep, leases its run to a worker and reports steps 1..5.
  void TrainFiveSteps() {
    v1::SubmitSweepRequest submit;
    submit.set_spec_yaml(
        "name: dash\nvocab: 256\ndata: {path: /data/tiny}\narchitectures: [llama]\n"
        "sizes: [cpu-1]\ncontexts: [64]\ntokens: 32768\nbatch_tokens: 1024\n"
        "checkpoint: {every_tokens: 1024}\n");
    v1::SubmitSweepResponse submitted;
    ASSERT_TRUE(user_->SubmitSweep(Ctx(kClientToken).get(), submit, &submitted).ok());
    sweep_id_ = submitted.sweep_id();
    run_id_ = submitted.runs(0).run_id();
    v1::RegisterRequest registration;
    registration.set_hostname("w");
    registration.set_cpu_cores(4);
    registration.set_memory_bytes(int64_t{16} << 30);
    v1::RegisterResponse registered;
    ASSERT_TRUE(worker_->Register(Ctx(kWorkerToken).get(), registration, &registered).ok());
    worker_id_ = registered.worker_id();
    v1::AcquireRunRequest acquire;
    acquire.set_worker_id(worker_id_);
    acquire.set_free_cpu_cores(4);
    acquire.set_free_memory_bytes(int64_t{16} << 30);
    v1::AcquireRunResponse acquired;
    ASSERT_TRUE(worker_->AcquireRun(Ctx(kWorkerToken).get(), acquire, &acquired).ok());
    ASSERT_TRUE(acquired.has_lease());
    v1::ReportMetricsRequest report;
    report.set_lease_id(acquired.lease().lease_id());
    report.set_attempt(acquired.lease().attempt());
    for (int step = 1; step <= 5; ++step) {
      v1::MetricPoint* point = report.add_rows();
      point->set_seq(step - 1);
      point->set_step(step);
      point->set_tokens(step * 1024);
      point->set_flops(step * 1e9);
      point->set_loss(5.0 - 0.1 * step);
    }
    v1::ReportMetricsResponse reported;
    ASSERT_TRUE(worker_->ReportMetrics(Ctx(kWorkerToken).get(), report, &reported).ok());
  }

  httplib::Result Get(const std::string& path, const std::string& token = kClientToken) {
    httplib::Client client("127.0.0.1", http_port_);
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return client.Get(path.c_str(), headers);
  }

  // GET `path` with the client token, expecting `status` and a JSON body.
  Json GetJson(const std::string& path, int status = 200) {
    httplib::Result result = Get(path);
    EXPECT_TRUE(result) << path;
    if (!result) return Json();
    EXPECT_EQ(result->status, status) << path << ": " << result->body;
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json") << path;
    return Json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  }

  fs::path dir_;
  std::unique_ptr<CoordinatorServer> coordinator_;
  std::unique_ptr<v1::UserService::Stub> user_;
  std::unique_ptr<v1::WorkerService::Stub> worker_;
  int http_port_ = 0;
  int64_t sweep_id_ = 0;
  int64_t run_id_ = 0;
  std::string worker_id_;
};

TEST_F(DashboardHttpTest, TheApiRefusesAMissingOrWrongToken) {
  for (const std::string token : {"", "not-the-token"}) {
    httplib::Result result = Get("/api/sweeps", token);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 401) << "token '" << token << "'";
    EXPECT_EQ(result->get_header_value("WWW-Authenticate"), "Bearer");
    const Json body = Json::parse(result->body);
    EXPECT_EQ(body["code"], "UNAUTHENTICATED");
    EXPECT_NE(body["message"].get<std::string>().find("client token"), std::string::npos);
  }
  httplib::Result worker = Get("/api/sweeps", kWorkerToken);
  ASSERT_TRUE(worker);
  EXPECT_EQ(worker->status, 403);
  EXPECT_EQ(Json::parse(worker->body)["code"], "PERMISSION_DENIED");
}

TEST_F(DashboardHttpTest, SweepsAndRunsAreTheRpcResponsesAsJson) {
  TrainFiveSteps();
  const Json sweeps = GetJson("/api/sweeps");
  ASSERT_EQ(sweeps["sweeps"].size(), 1u);
  EXPECT_EQ(sweeps["sweeps"][0]["name"], "dash");
  EXPECT_EQ(sweeps["sweeps"][0]["sweep_id"], std::to_string(sweep_id_));  // int64 as a string
  EXPECT_EQ(sweeps["sweeps"][0]["runs_total"], 1);
  EXPECT_EQ(GetJson("/api/sweeps/" + std::to_string(sweep_id_))["sweep"]["name"], "dash");

  const Json runs = GetJson("/api/sweeps/" + std::to_string(sweep_id_) + "/runs");
  ASSERT_EQ(runs["runs"].size(), 1u);
  const Json& run = runs["runs"][0];
  EXPECT_EQ(run["state"], "RUN_STATE_RUNNING");
  EXPECT_EQ(run["worker_id"], worker_id_);
  EXPECT_EQ(run["step"], "5");
  EXPECT_DOUBLE_EQ(run["loss"].get<double>(), 4.5);
  EXPECT_DOUBLE_EQ(run["progress_fraction"].get<double>(), 5.0 * 1024 / 32768);
  EXPECT_EQ(run["config"]["total_tokens"], "32768");
  EXPECT_FALSE(runs.contains("next_page_token") &&
               !runs["next_page_token"].get<std::string>().empty());

  const Json got = GetJson("/api/runs/" + std::to_string(run_id_));
  EXPECT_EQ(got["run"]["attempt_history"].size(), 1u);
}

TEST_F(DashboardHttpTest, MetricsAfterAStepAreTheLaterStepsOnly) {
  TrainFiveSteps();
  const std::string metrics = "/api/runs/" + std::to_string(run_id_) + "/metrics";
  const Json all = GetJson(metrics);
  ASSERT_EQ(all["rows"].size(), 5u);
  EXPECT_EQ(all["rows"][0]["point"]["step"], "1");
  const Json later = GetJson(metrics + "?after_step=3");
  ASSERT_EQ(later["rows"].size(), 2u);
  EXPECT_EQ(later["rows"][0]["point"]["step"], "4");
  EXPECT_EQ(later["rows"][1]["point"]["step"], "5");
  EXPECT_DOUBLE_EQ(later["rows"][1]["point"]["loss"].get<double>(), 4.5);
  EXPECT_EQ(GetJson(metrics + "?after_step=5")["rows"].size(), 0u);

  const Json bad = GetJson(metrics + "?after_step=three", 400);
  EXPECT_EQ(bad["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(bad["message"], "after_step: not a step (got 'three')");
}

TEST_F(DashboardHttpTest, ErrorsAreHttpStatusesWithTheRpcMessage) {
  TrainFiveSteps();
  const Json missing = GetJson("/api/sweeps/99", 404);
  EXPECT_EQ(missing["code"], "NOT_FOUND");
  EXPECT_NE(missing["message"].get<std::string>().find("99"), std::string::npos);
  EXPECT_EQ(GetJson("/api/runs/99/evals", 404)["code"], "NOT_FOUND");
  EXPECT_EQ(GetJson("/api/sweeps/x", 400)["message"], "sweep id: not a positive integer (got 'x')");
  EXPECT_EQ(GetJson("/api/nothing", 404)["code"], "NOT_FOUND");
  EXPECT_EQ(GetJson("/api/sweeps/1/nothing", 404)["code"], "NOT_FOUND");

  const std::string sweep = "/api/sweeps/" + std::to_string(sweep_id_);
  EXPECT_EQ(GetJson(sweep + "/optimal", 400)["message"],
            "budget: required (a number of FLOPs, e.g. 1e18)");
  EXPECT_EQ(GetJson(sweep + "/optimal?budget=1e18&unit=joules", 400)["message"],
            "unit: must be flops or pf-days (got 'joules')");
  EXPECT_EQ(GetJson(sweep + "/optimal?budget=-1", 400)["code"], "INVALID_ARGUMENT");
  // No checkpoint yet: nothing to fit.
  const Json fit = GetJson(sweep + "/fit", 409);
  EXPECT_EQ(fit["code"], "FAILED_PRECONDITION");
  EXPECT_NE(fit["message"].get<std::string>().find("no checkpoints"), std::string::npos);
  const Json checkpoints = GetJson(sweep + "/checkpoints");
  ASSERT_TRUE(checkpoints["checkpoints"].is_array());
  EXPECT_EQ(checkpoints["checkpoints"].size(), 0u);
}

TEST_F(DashboardHttpTest, ThePagesAreServedWithoutTheToken) {
  httplib::Result index = Get("/dashboard/", "");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("<script src=\"app.js\">"), std::string::npos);
  for (const std::string page : {"app.js", "charts.js", "style.css"}) {
    httplib::Result asset = Get("/dashboard/" + page, "");
    ASSERT_TRUE(asset);
    EXPECT_EQ(asset->status, 200) << page;
    EXPECT_GT(asset->body.size(), 100u) << page;
  }
  httplib::Result unknown = Get("/dashboard/secrets.txt", "");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

TEST_F(DashboardHttpTest, OnlyTheDashboardsPathsSkipThePortsTokenCheck) {
  for (const std::string path : {"/metrics", "/"}) {
    httplib::Result result = Get(path, "");
    ASSERT_TRUE(result) << path;
    EXPECT_EQ(result->status, 401) << path << ": " << result->body;
  }
  // Paths that start like the dashboard's and lead elsewhere: the API's own
  // check refuses, or nothing serves them.
  for (const std::string path : {"/api/../metrics", "/dashboard/../metrics"}) {
    httplib::Result result = Get(path, "");
    ASSERT_TRUE(result) << path;
    EXPECT_TRUE(result->status == 401 || result->status == 404) << path << ": " << result->status;
    EXPECT_EQ(result->body.find("flopwise_"), std::string::npos) << path << ": " << result->body;
  }
  httplib::Result metrics = Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
}

}  // namespace
}  // namespace flopwise::server
