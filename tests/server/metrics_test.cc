// The coordinator's /metrics page (docs/operations.md, "Metrics"), scraped
// over HTTP from a real coordinator on loopback with a temporary SQLite file:
// its values against what the gRPC API says, its token check, its format
// (read back by prometheus_client's own parser when installed) and the alert
// rules in deploy/prometheus/ against the metrics it serves.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "flopwise/v1/user_service.grpc.pb.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "server/coordinator_server.h"

namespace flopwise::server {
namespace {

namespace fs = std::filesystem;

constexpr char kClientToken[] = "client-secret";
constexpr char kWorkerToken[] = "worker-secret";
// A GPU name with two of the three characters a label value escapes (Register
// replaces control characters such as a newline).
constexpr char kGpuName[] = "Test \"GPU\" \\ 80GB";
constexpr int64_t kGpuMemoryBytes = int64_t{80} << 30;
constexpr char kSpec[] =
    "name: metrics\nvocab: 256\ndata: {path: /data/tiny}\narchitectures: [llama]\n"
    "sizes: [cpu-1]\ncontexts: [64, 128]\ntokens: 32768\nbatch_tokens: 1024\n"
    "checkpoint: {every_tokens: 1024}\n";

// The samples of a page, by series ("name{labels as written}"); comments
// skipped. at() of a missing series fails the test, naming it and the page.
class Samples {
 public:
  explicit Samples(std::string page) : page_(std::move(page)) {
    std::istringstream lines(page_);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#') continue;
      const size_t space = line.rfind(' ');
      values_[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
  }
  double at(const std::string& series) const {
    auto it = values_.find(series);
    if (it != values_.end()) return it->second;
    ADD_FAILURE() << "no series " << series << " in\n" << page_;
    return -1;
  }
  int CountStartingWith(const std::string& prefix) const {
    int count = 0;
    for (const auto& [series, value] : values_) count += series.starts_with(prefix) ? 1 : 0;
    return count;
  }

 private:
  std::string page_;
  std::map<std::string, double> values_;
};

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    dir_ = fs::temp_directory_path() /
           ("flopwise-metrics-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.metrics_listen = "127.0.0.1:0";
    options.db_path = (dir_ / "coordinator.db").string();
    options.client_token = kClientToken;
    options.worker_token = kWorkerToken;
    options.reap_interval_ms = 3'600'000;
    auto server = CoordinatorServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_GT(server_->metrics_port(), 0);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                       grpc::InsecureChannelCredentials());
    user_ = v1::UserService::NewStub(channel);
    worker_ = v1::WorkerService::NewStub(channel);
  }
  void TearDown() override {
    user_.reset();
    worker_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return context;
  }

  // GET `path` with `authorization` as the header (none when empty).
  httplib::Result Get(const std::string& path, const std::string& authorization) {
    httplib::Client client("127.0.0.1", server_->metrics_port());
    client.set_read_timeout(20, 0);
    httplib::Headers headers;
    if (!authorization.empty()) headers.emplace("Authorization", authorization);
    return client.Get(path, headers);
  }

  std::string Scrape() {
    httplib::Result result = Get("/metrics", std::string("Bearer ") + kClientToken);
    EXPECT_TRUE(result) << httplib::to_string(result.error());
    if (!result) return "";
    EXPECT_EQ(result->status, 200) << result->body;
    EXPECT_EQ(result->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    return result->body;
  }

  // A sweep of two runs, a GPU worker holding one of them, three metric rows
  // and a heartbeat of it at 1234.5 tokens/s. Returns the worker's id.
  std::string RunOneOfTwo() {
    v1::SubmitSweepRequest submit;
    submit.set_spec_yaml(kSpec);
    v1::SubmitSweepResponse submitted;
    EXPECT_TRUE(user_->SubmitSweep(Ctx(kClientToken).get(), submit, &submitted).ok());
    EXPECT_EQ(submitted.runs_size(), 2);

    v1::RegisterRequest reg;
    reg.set_hostname("host");
    reg.set_cpu_cores(4);
    reg.set_memory_bytes(int64_t{16} << 30);
    v1::Gpu* gpu = reg.add_gpus();
    gpu->set_index(0);
    gpu->set_name(kGpuName);
    gpu->set_memory_bytes(kGpuMemoryBytes);
    v1::RegisterResponse registered;
    EXPECT_TRUE(worker_->Register(Ctx(kWorkerToken).get(), reg, &registered).ok());

    v1::AcquireRunRequest acquire;
    acquire.set_worker_id(registered.worker_id());
    acquire.set_free_cpu_cores(4);
    acquire.set_free_memory_bytes(int64_t{16} << 30);
    v1::AcquireRunResponse acquired;
    EXPECT_TRUE(worker_->AcquireRun(Ctx(kWorkerToken).get(), acquire, &acquired).ok());
    EXPECT_TRUE(acquired.has_lease());
    lease_ = acquired.lease();

    v1::ReportMetricsRequest report;
    report.set_lease_id(lease_.lease_id());
    report.set_attempt(lease_.attempt());
    for (int step = 1; step <= 3; ++step) {
      v1::MetricPoint* point = report.add_rows();
      point->set_seq(step);
      point->set_step(step);
      point->set_tokens(step * 1024);
      point->set_loss(5.0);
      point->set_tokens_per_s(1000);
    }
    v1::ReportMetricsResponse reported;
    EXPECT_TRUE(worker_->ReportMetrics(Ctx(kWorkerToken).get(), report, &reported).ok());
    // Sent again: the rows are stored once, and the counter counts them once.
    EXPECT_TRUE(worker_->ReportMetrics(Ctx(kWorkerToken).get(), report, &reported).ok());

    v1::HeartbeatRequest beat;
    beat.set_worker_id(registered.worker_id());
    v1::LeaseProgress* progress = beat.add_leases();
    progress->set_lease_id(lease_.lease_id());
    progress->set_attempt(lease_.attempt());
    progress->set_step(3);
    progress->set_tokens(3 * 1024);
    progress->set_tokens_per_s(1234.5);
    v1::HeartbeatResponse beaten;
    EXPECT_TRUE(worker_->Heartbeat(Ctx(kWorkerToken).get(), beat, &beaten).ok());
    return registered.worker_id();
  }

  fs::path dir_;
  std::unique_ptr<CoordinatorServer> server_;
  std::unique_ptr<v1::UserService::Stub> user_;
  std::unique_ptr<v1::WorkerService::Stub> worker_;
  v1::Lease lease_;
};

TEST_F(MetricsTest, ValuesMatchWhatStatusAndWorkersSay) {
  const std::string worker_id = RunOneOfTwo();
  v1::ListSweepsRequest list_sweeps;
  v1::ListSweepsResponse sweeps;
  ASSERT_TRUE(user_->ListSweeps(Ctx(kClientToken).get(), list_sweeps, &sweeps).ok());
  ASSERT_EQ(sweeps.sweeps_size(), 1);
  const auto& by_state = sweeps.sweeps(0).runs_by_state();
  v1::ListWorkersRequest list_workers;
  v1::ListWorkersResponse workers;
  ASSERT_TRUE(user_->ListWorkers(Ctx(kClientToken).get(), list_workers, &workers).ok());
  ASSERT_EQ(workers.workers_size(), 1);

  const Samples samples(Scrape());
  EXPECT_EQ(samples.at("flopwise_runs{state=\"pending\"}"), by_state.at("RUN_STATE_PENDING"));
  EXPECT_EQ(samples.at("flopwise_runs{state=\"running\"}"), by_state.at("RUN_STATE_RUNNING"));
  EXPECT_EQ(samples.at("flopwise_runs{state=\"succeeded\"}"), 0);
  EXPECT_EQ(samples.at("flopwise_sweeps{state=\"active\"}"), 1);
  EXPECT_EQ(samples.at("flopwise_queue_depth{queue=\"runs\"}"), by_state.at("RUN_STATE_PENDING"));
  EXPECT_EQ(samples.at("flopwise_queue_depth{queue=\"eval_jobs\"}"), 0);
  EXPECT_EQ(samples.at("flopwise_active_leases{kind=\"run\"}"),
            workers.workers(0).running_run_ids_size());
  EXPECT_EQ(samples.at("flopwise_workers{condition=\"alive\"}"),
            workers.workers(0).alive() ? 1 : 0);
  EXPECT_EQ(samples.at("flopwise_workers{condition=\"lost\"}"), workers.workers(0).alive() ? 0 : 1);
  EXPECT_EQ(samples.at("flopwise_workers{condition=\"draining\"}"), 0);
  EXPECT_EQ(samples.at("flopwise_metric_rows_ingested_total"), 3);
  EXPECT_EQ(samples.at("flopwise_metric_rows_stored"), 3);

  const std::string run_labels = "{run=\"" + std::to_string(lease_.run_id()) + "\",sweep=\"" +
                                 std::to_string(sweeps.sweeps(0).sweep_id()) + "\",worker=\"" +
                                 worker_id + "\"}";
  EXPECT_EQ(samples.at("flopwise_run_tokens_per_second" + run_labels), 1234.5);
  EXPECT_EQ(samples.at("flopwise_run_tokens" + run_labels), 3 * 1024);
  EXPECT_EQ(samples.at("flopwise_worker_tokens_per_second{worker=\"" + worker_id + "\"}"), 1234.5);
  EXPECT_EQ(samples.at("flopwise_worker_gpu_memory_bytes{worker=\"" + worker_id +
                       "\",gpu=\"0\",name=\"Test \\\"GPU\\\" \\\\ 80GB\"}"),
            static_cast<double>(kGpuMemoryBytes));
  // A background WAL checkpoint may move bytes between the two files.
  EXPECT_GT(samples.at("flopwise_database_size_bytes{file=\"main\"}"), 0);
  EXPECT_GE(samples.at("flopwise_database_size_bytes{file=\"wal\"}"), 0);
  EXPECT_GT(samples.at("flopwise_database_filesystem_free_bytes"), 0);

  // ReportMetrics was called twice: its histogram holds two calls, in
  // buckets that never decrease up to +Inf.
  const std::string method = "method=\"/flopwise.v1.WorkerService/ReportMetrics\"";
  EXPECT_EQ(samples.at("flopwise_rpc_duration_seconds_count{" + method + "}"), 2);
  // The sum is present; how long the calls took is no business of a test
  // (timings live in bench/).
  EXPECT_EQ(samples.CountStartingWith("flopwise_rpc_duration_seconds_sum{" + method + "}"), 1);
  // 14 bounds and +Inf, never decreasing, +Inf equal to the count.
  const std::string bucket = "flopwise_rpc_duration_seconds_bucket{" + method;
  EXPECT_EQ(samples.CountStartingWith(bucket), 15);
  double previous = 0;
  for (const char* le : {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                         "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    const double value = samples.at(bucket + ",le=\"" + le + "\"}");
    EXPECT_GE(value, previous) << le;
    previous = value;
  }
  EXPECT_EQ(previous, 2);
}

// A drained worker moves from alive to draining, as `flopwise workers` shows it.
TEST_F(MetricsTest, DrainedWorkerCountsAsDraining) {
  const std::string worker_id = RunOneOfTwo();
  v1::SetDrainingRequest drain;
  drain.set_worker_id(worker_id);
  drain.set_draining(true);
  v1::SetDrainingResponse drained;
  ASSERT_TRUE(user_->SetDraining(Ctx(kClientToken).get(), drain, &drained).ok());
  ASSERT_TRUE(drained.worker().draining());
  ASSERT_TRUE(drained.worker().alive());
  // The server records an RPC's duration once its reply is sent, which can be
  // after the client has it: scrape until SetDraining's call is counted.
  const std::string set_draining =
      "flopwise_rpc_duration_seconds_count{method=\"/flopwise.v1.UserService/SetDraining\"}";
  Samples samples(Scrape());
  for (int i = 0; i < 100 && samples.at(set_draining) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    samples = Samples(Scrape());
  }
  EXPECT_EQ(samples.at("flopwise_workers{condition=\"alive\"}"), 0);
  EXPECT_EQ(samples.at("flopwise_workers{condition=\"draining\"}"), 1);
  EXPECT_EQ(samples.at("flopwise_workers{condition=\"lost\"}"), 0);
  EXPECT_EQ(samples.at(set_draining), 1);
}

TEST_F(MetricsTest, RefusesRequestsWithoutTheClientToken) {
  httplib::Result none = Get("/metrics", "");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(none->body.find("flopwise_"), std::string::npos);
  httplib::Result wrong = Get("/metrics", "Bearer not-the-token");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  httplib::Result basic = Get("/metrics", std::string("Basic ") + kClientToken);
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status, 401);
  httplib::Result worker = Get("/metrics", std::string("Bearer ") + kWorkerToken);
  ASSERT_TRUE(worker);
  EXPECT_EQ(worker->status, 403);
  httplib::Result unknown = Get("/nothing", std::string("Bearer ") + kClientToken);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

TEST_F(MetricsTest, SecondCoordinatorOnTheSameMetricsPortFails) {
  CoordinatorOptions options;
  options.listen = "127.0.0.1:0";
  options.metrics_listen = "127.0.0.1:" + std::to_string(server_->metrics_port());
  options.db_path = (dir_ / "second.db").string();
  options.client_token = kClientToken;
  options.worker_token = kWorkerToken;
  auto second = CoordinatorServer::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(), "metrics-listen: cannot listen on " +
                                           options.metrics_listen +
                                           " (address in use or not permitted)");
}

// With --tls-cert/--tls-key the metrics port speaks HTTPS with the same
// certificate, so the token never crosses the network in clear.
TEST_F(MetricsTest, ServesHttpsWithTheCoordinatorsCertificate) {
  if (std::system("openssl version > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "the openssl command is not installed";
  }
  const std::string command =
      "cd '" + dir_.string() +
      "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -keyout server.key -out server.crt -days 2 -subj /CN=127.0.0.1"
      " -addext subjectAltName=IP:127.0.0.1 > openssl.log 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "openssl failed in " << dir_;
  CoordinatorOptions options;
  options.listen = "127.0.0.1:0";
  options.metrics_listen = "127.0.0.1:0";
  options.db_path = (dir_ / "tls.db").string();
  options.client_token = kClientToken;
  options.worker_token = kWorkerToken;
  options.tls_cert_path = (dir_ / "server.crt").string();
  options.tls_key_path = (dir_ / "server.key").string();
  auto server = CoordinatorServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->metrics_port();

  httplib::SSLClient tls("127.0.0.1", port);
  tls.set_ca_cert_path(options.tls_cert_path.c_str());
  tls.enable_server_certificate_verification(true);
  httplib::Result scraped = tls.Get(
      "/metrics", httplib::Headers{{"Authorization", std::string("Bearer ") + kClientToken}});
  ASSERT_TRUE(scraped) << httplib::to_string(scraped.error());
  EXPECT_EQ(scraped->status, 200);
  EXPECT_NE(scraped->body.find("# TYPE flopwise_runs gauge"), std::string::npos);

  httplib::Client plain("127.0.0.1", port);
  plain.set_read_timeout(20, 0);
  httplib::Result refused = plain.Get(
      "/metrics", httplib::Headers{{"Authorization", std::string("Bearer ") + kClientToken}});
  EXPECT_TRUE(!refused || refused->status != 200);
}

// prometheus_client's parser (Debian's python3-prometheus-client) reads the
// page: every family, the escaped GPU name back as registered, and each
// histogram's +Inf bucket equal to its count.
TEST_F(MetricsTest, PrometheusClientParsesThePage) {
  if (std::system("/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null") != 0) {
    GTEST_SKIP() << "python3-prometheus-client is not installed (scripts/install-deps.sh)";
  }
  RunOneOfTwo();
  const fs::path page = dir_ / "metrics.txt";
  std::ofstream(page) << Scrape();
  const fs::path script = dir_ / "parse.py";
  std::ofstream(script) << R"py(
import sys
from prometheus_client.parser import text_string_to_metric_families
families = {}
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    families[family.name] = family
for family in families.values():
    if family.type != "histogram":
        continue
    for sample in family.samples:
        if sample.name.endswith("_count"):
            count = sample.value
            labels = dict(sample.labels)
            inf = [s.value for s in family.samples if s.name.endswith("_bucket")
                   and s.labels.get("le") == "+Inf"
                   and {k: v for k, v in s.labels.items() if k != "le"} == labels]
            assert inf == [count], (labels, inf, count)
gpu = families["flopwise_worker_gpu_memory_bytes"].samples[0].labels["name"]
print(len(families))
print(repr(gpu))
)py";
  const fs::path out = dir_ / "parsed.txt";
  const std::string command =
      "/usr/bin/python3 " + script.string() + " " + page.string() + " > " + out.string() + " 2>&1";
  const int rc = std::system(command.c_str());
  std::ifstream parsed_file(out);
  const std::string parsed((std::istreambuf_iterator<char>(parsed_file)),
                           std::istreambuf_iterator<char>());
  ASSERT_EQ(rc, 0) << parsed;
  // 14 families; Python writes the name back with its own escapes.
  EXPECT_EQ(parsed, "14\n'Test \"GPU\" \\\\ 80GB'\n");
}

// Every flopwise_ metric the shipped alert rules use is on the page, and the
// rules file and scrape config parse as YAML with the keys Prometheus reads.
TEST_F(MetricsTest, AlertRulesUseMetricsThePageServes) {
  const std::string page = Scrape();
  std::set<std::string> families;
  std::istringstream lines(page);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("# TYPE ")) families.insert(line.substr(7, line.find(' ', 7) - 7));
  }
  const fs::path folder = fs::path(FLOPWISE_SOURCE_DIR) / "deploy" / "prometheus";
  const YAML::Node rules = YAML::LoadFile((folder / "flopwise-rules.yml").string());
  int alerts = 0;
  const std::regex metric("flopwise_[a-z_]+");
  for (const YAML::Node& group : rules["groups"]) {
    ASSERT_TRUE(group["name"].IsScalar());
    for (const YAML::Node& rule : group["rules"]) {
      ++alerts;
      const std::string name = rule["alert"].as<std::string>();
      const std::string expr = rule["expr"].as<std::string>();
      EXPECT_TRUE(rule["annotations"]["summary"].IsScalar()) << name;
      for (auto it = std::sregex_iterator(expr.begin(), expr.end(), metric);
           it != std::sregex_iterator(); ++it) {
        std::string used = it->str();
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
          if (used.ends_with(suffix) && !families.contains(used)) {
            used.resize(used.size() - std::string(suffix).size());
          }
        }
        EXPECT_TRUE(families.contains(used)) << name << " uses " << it->str();
      }
    }
  }
  EXPECT_GE(alerts, 3);
  const YAML::Node scrape = YAML::LoadFile((folder / "prometheus.yml").string());
  const YAML::Node job = scrape["scrape_configs"][0];
  EXPECT_EQ(job["metrics_path"].as<std::string>(), "/metrics");
  EXPECT_TRUE(job["authorization"]["credentials_file"].IsScalar());
  EXPECT_EQ(scrape["rule_files"][0].as<std::string>(), "flopwise-rules.yml");
}

}  // namespace
}  // namespace flopwise::server
