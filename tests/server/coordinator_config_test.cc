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
  flags.client_token_file = Write("client", "  c-token \n");
  flags.worker_token_file = Write("worker", "w-token\nignored\n");
  flags.lease_seconds = 12;
  auto options = ToCoordinatorOptions(flags);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->client_token, "c-token");
  EXPECT_EQ(options->worker_token, "w-token");
  EXPECT_EQ(options->scheduler.lease_duration_ms, 12'000);
  EXPECT_EQ(options->scheduler.heartbeat_interval_ms, 2'000);
  EXPECT_TRUE(ValidateOptions(*options).ok());

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

}  // namespace
}  // namespace flopwise::server
