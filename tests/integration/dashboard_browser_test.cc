// The dashboard in headless Chromium (Debian's chromium, driven by
// playwright-core from .deps/npm through tests/integration/dashboard_browser.cjs):
// a coordinator with a finished sweep whose losses follow a known law (the
// fit tests' stand-in worker, so the scaling view has laws to draw) and a
// sweep that a real worker trains with the stand-in trainer while the pages
// are open. The script checks that a wrong token is refused, that the sweeps
// and the live sweep's runs render, that a run's curve gains points while it
// trains and that the scaling view draws its runs and answers a budget; it
// writes its screenshots to FLOPWISE_DASHBOARD_OUTPUT_DIR and prints their paths.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "tests/integration/test_paths.h"
#include "tests/server/fit_study.h"
#include "worker/daemon/child_process.h"

#ifndef FLOPWISE_SOURCE_DIR
#error "FLOPWISE_SOURCE_DIR must name the source tree"
#endif
#ifndef FLOPWISE_DASHBOARD_OUTPUT_DIR
#error "FLOPWISE_DASHBOARD_OUTPUT_DIR must name the folder of the screenshots"
#endif

namespace flopwise::testing {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::flopwise::v1;
using server::testing::FitStudy;

constexpr char kChromium[] = "/usr/bin/chromium";

std::string PlaywrightCore() {
  return std::string(FLOPWISE_SOURCE_DIR) + "/.deps/npm/node_modules/playwright-core";
}

// Why the test cannot run here, or "" when it can.
std::string MissingTool() {
  if (access(kChromium, X_OK) != 0) {
    return "no /usr/bin/chromium (apt-get install chromium; scripts/install-deps.sh)";
  }
  if (!fs::exists(PlaywrightCore() + "/package.json")) {
    return "no playwright-core in .deps/npm (scripts/install-deps.sh)";
  }
  if (access("/usr/bin/node", X_OK) != 0) return "no /usr/bin/node";
  if (!HaveProgram("flopwise-worker") || !HaveProgram("flopwise-fake-train")) {
    return "flopwise-worker or flopwise-fake-train is not built";
  }
  return "";
}

// Two llama runs of 1,200 steps of 256 tokens at ~100 ms a step with the stand-in
// trainer: still training when the test ends, however slow the machine.
constexpr char kLiveSpec[] =
    "name: live\nmax_attempts: 2\nseed: 1\nvocab: 256\n"
    "data:\n  path: /nonexistent/not-read-by-the-stand-in\n"
    "architectures: [llama]\nsizes: [cpu-1, cpu-2]\ncontexts: [64]\nbatch_tokens: 256\n"
    "tokens: 307200\ncheckpoint:\n  every_tokens: 76800\nlog_every_steps: 1\n"
    "optimizer:\n  lr: 1e-3\nresources:\n  cpu_cores: 1\n";

TEST(DashboardBrowserTest, PagesRenderARealSweepAndACurveGrows) {
  if (const std::string missing = MissingTool(); !missing.empty()) GTEST_SKIP() << missing;
  TempDir dir;
  FitStudy study(fs::path(dir.Sub("coordinator")), /*serve_http=*/true);
  ASSERT_TRUE(study.ok());
  // The finished sweep of the scaling view: two architectures, five sizes.
  const int64_t fitted = study.Submit("scaling", "llama, tnl", "cpu-1, cpu-2, cpu-3, cpu-4, cpu-5");
  server::testing::Law tnl;
  tnl.e = 1.8;
  ASSERT_EQ(study.TrainAll({{"llama", server::testing::Law()}, {"tnl", tnl}}, 4, false), 10);

  v1::SubmitSweepRequest submit;
  submit.set_spec_yaml(kLiveSpec);
  v1::SubmitSweepResponse live;
  const grpc::Status submitted =
      study.users().SubmitSweep(FitStudy::Context().get(), submit, &live);
  ASSERT_TRUE(submitted.ok()) << submitted.error_message();

  std::ofstream(dir.Sub("worker.token")) << server::testing::kWorkerToken << "\n";
  fs::permissions(dir.Sub("worker.token"), fs::perms::owner_read | fs::perms::owner_write);
  workerd::SpawnOptions worker;
  worker.argv = {BinPath("flopwise-worker"),
                 "--coordinator",
                 "127.0.0.1:" + std::to_string(study.port()),
                 "--token-file",
                 dir.Sub("worker.token"),
                 "--work-dir",
                 dir.Sub("worker"),
                 "--trainer",
                 BinPath("flopwise-fake-train"),
                 "--hostname",
                 "browser-test-worker",
                 "--max-runs",
                 "2",
                 "--threads-per-run",
                 "1",
                 "--cpu-cores",
                 "2"};
  worker.env = {{"FLOPWISE_FAKE_STEP_MS", "100"}};
  worker.capture_stdout = false;
  worker.parent_death_signal = SIGKILL;
  worker.stderr_path = dir.Sub("worker.log");
  auto worker_process = workerd::ChildProcess::Spawn(worker);
  ASSERT_TRUE(worker_process.ok()) << worker_process.status();

  const std::string output_dir = FLOPWISE_DASHBOARD_OUTPUT_DIR;
  fs::remove_all(output_dir);  // only this run's screenshots
  fs::create_directories(output_dir);
  workerd::SpawnOptions script;
  script.argv = {"/usr/bin/node",
                 std::string(FLOPWISE_SOURCE_DIR) + "/tests/integration/dashboard_browser.cjs"};
  script.env = {{"DASHBOARD_URL", "http://127.0.0.1:" + std::to_string(study.http_port())},
                {"CLIENT_TOKEN", server::testing::kClientToken},
                {"LIVE_SWEEP", std::to_string(live.sweep_id())},
                {"FITTED_SWEEP", std::to_string(fitted)},
                {"OUTPUT_DIR", output_dir},
                {"CHROMIUM", kChromium},
                {"PLAYWRIGHT_CORE", PlaywrightCore()}};
  script.parent_death_signal = SIGKILL;
  auto browser = workerd::ChildProcess::Spawn(script);
  ASSERT_TRUE(browser.ok()) << browser.status();
  while (std::optional<std::string> line = (*browser)->ReadLine()) {
    std::cout << "dashboard_browser.cjs: " << *line << std::endl;
  }
  const workerd::ExitStatus ended = (*browser)->Wait();
  EXPECT_EQ(ended.exit_code, 0) << "dashboard_browser.cjs: " << ended.Describe()
                                << " (its lines above say which check failed)";

  (*worker_process)->Signal(SIGTERM);
  (*worker_process)->Wait();
}

}  // namespace
}  // namespace flopwise::testing
