// flopwise-coordinator's settings: config file, flag precedence, token files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "server/coordinator_config.h"

namespace flopwise::server {
namespace {

namespace fs = std::filesystem;

class CoordinatorConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("flopwise-config-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // Parses `args` (without the program name) into `flags`; the message of
  // CLI11's error, empty on success.
  static std::string Parse(std::vector<std::string> args, CoordinatorFlags* flags) {
    CLI::App app;
    AddCoordinatorFlags(app, flags);
    try {
      app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
    } catch (const CLI::ParseError& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(CoordinatorConfigTest, FileSetsValuesAndFlagsOverrideThem) {
  const std::string path = Write("c.yaml", "listen: 0.0.0.0:9000\nlease_seconds: 30\ndb: a.db\n");
  CoordinatorFlags flags;
  ASSERT_EQ(Parse({"--config", path, "--db", "from-flag.db"}, &flags), "");
  EXPECT_EQ(flags.listen, "0.0.0.0:9000");
  EXPECT_DOUBLE_EQ(flags.lease_seconds, 30);
  EXPECT_EQ(flags.db, "from-flag.db");
}

TEST_F(CoordinatorConfigTest, UnknownKeyAndBadValueAreNamed) {
  CoordinatorFlags flags;
  const std::string unknown = Parse({"--config", Write("u.yaml", "lease: 3\n")}, &flags);
  EXPECT_NE(unknown.find("lease"), std::string::npos) << unknown;
  const std::string bad = Parse({"--config", Write("b.yaml", "lease_seconds: soon\n")}, &flags);
  EXPECT_NE(bad.find("lease-seconds"), std::string::npos) << bad;
  EXPECT_NE(bad.find("soon"), std::string::npos) << bad;
  const std::string missing = Parse({"--config", (dir_ / "missing.yaml").string()}, &flags);
  EXPECT_NE(missing.find("missing.yaml"), std::string::npos) << missing;
}

TEST_F(CoordinatorConfigTest, TokenFilesAreReadAndChecked) {
  CoordinatorFlags flags;
  flags.db = "x.db";
  flags.client_token_file = Write("client", "  client-token-0123 \n");
  flags.worker_token_file = Write("worker", "worker-token-0123\nignored\n");
  flags.lease_seconds = 12;
  auto options = ToCoordinatorOptions(flags);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->client_token, "client-token-0123");
  EXPECT_EQ(options->worker_token, "worker-token-0123");
  EXPECT_EQ(options->scheduler.lease_duration_ms, 12'000);
  EXPECT_EQ(options->scheduler.heartbeat_interval_ms, 2'000);
  EXPECT_TRUE(ValidateOptions(*options).ok());

  flags.worker_token_file = Write("short", "w-token\n");
  EXPECT_NE(ToCoordinatorOptions(flags).status().message().find("at least 16"),
            absl::string_view::npos);
  flags.worker_token_file = Write("empty", "\n");
  EXPECT_NE(ToCoordinatorOptions(flags).status().message().find("holds no token"),
            absl::string_view::npos);
  flags.worker_token_file = (dir_ / "absent").string();
  EXPECT_NE(ToCoordinatorOptions(flags).status().message().find("worker-token-file: cannot read"),
            absl::string_view::npos);
  flags.worker_token_file = flags.client_token_file;
  auto same = ToCoordinatorOptions(flags);
  ASSERT_TRUE(same.ok());
  EXPECT_NE(ValidateOptions(*same).message().find("must differ"), absl::string_view::npos);
}

TEST_F(CoordinatorConfigTest, LimitsComeFromTheFlagsAndAreChecked) {
  CoordinatorFlags defaults;
  ASSERT_EQ(Parse({}, &defaults), "");
  EXPECT_EQ(defaults.max_submits_per_minute, kDefaultMaxSubmitsPerMinute);
  CoordinatorFlags flags;
  ASSERT_EQ(Parse({"--max-submits-per-minute", "5", "--max-runs-per-sweep", "100",
                   "--max-pending-runs", "0"},
                  &flags),
            "");
  flags.db = "x.db";
  flags.client_token_file = Write("client", "client-token-0123\n");
  flags.worker_token_file = Write("worker", "worker-token-0123\n");
  auto options = ToCoordinatorOptions(flags);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->submit_limits.max_submits_per_minute, 5);
  EXPECT_EQ(options->submit_limits.max_runs_per_sweep, 100u);
  EXPECT_EQ(options->scheduler.max_pending_runs, 0u);
  EXPECT_TRUE(ValidateOptions(*options).ok());

  flags.max_runs_per_sweep = 20'000;
  EXPECT_EQ(ValidateOptions(*ToCoordinatorOptions(flags)).message(),
            "max-runs-per-sweep: must be in [1, 10000]");
  flags.max_runs_per_sweep = 0;
  EXPECT_EQ(ValidateOptions(*ToCoordinatorOptions(flags)).message(),
            "max-runs-per-sweep: must be in [1, 10000]");
  flags.max_runs_per_sweep = 100;
  flags.max_submits_per_minute = -1;
  EXPECT_EQ(ValidateOptions(*ToCoordinatorOptions(flags)).message(),
            "max-submits-per-minute: must be >= 0 (0: no limit)");
  flags.max_submits_per_minute = 0;
  flags.max_pending_runs = -1;
  EXPECT_EQ(ToCoordinatorOptions(flags).status().message(),
            "max-pending-runs: must be >= 0 (0: no limit)");
}

TEST_F(CoordinatorConfigTest, MetricsListenIsOffByDefaultAndChecked) {
  CoordinatorFlags defaults;
  ASSERT_EQ(Parse({}, &defaults), "");
  EXPECT_EQ(defaults.metrics_listen, "");
  CoordinatorFlags flags;
  ASSERT_EQ(Parse({"--config", Write("m.yaml", "metrics_listen: 127.0.0.1:9450\n")}, &flags), "");
  EXPECT_EQ(flags.metrics_listen, "127.0.0.1:9450");
  flags.db = "x.db";
  flags.client_token_file = Write("client", "client-token-0123\n");
  flags.worker_token_file = Write("worker", "worker-token-0123\n");
  auto options = ToCoordinatorOptions(flags);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->metrics_listen, "127.0.0.1:9450");
  EXPECT_TRUE(ValidateOptions(*options).ok());

  options->metrics_listen = "127.0.0.1:99999";
  EXPECT_EQ(ValidateOptions(*options).message(),
            "metrics-listen: port \"99999\" in \"127.0.0.1:99999\" is not 0..65535 (0 picks a "
            "free port)");
  options->metrics_listen = "9450";
  EXPECT_EQ(ValidateOptions(*options).message(),
            "metrics-listen: \"9450\" is not HOST:PORT (an IPv6 host goes in brackets)");
  options->metrics_listen = "unix:/tmp/metrics.sock";
  EXPECT_EQ(ValidateOptions(*options).message(),
            "metrics-listen: must be HOST:PORT (no unix socket)");
}

}  // namespace
}  // namespace flopwise::server
