// flopwise-coordinator's settings: config file, flag precedence, token files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

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

  fs::path dir_;
};

TEST_F(CoordinatorConfigTest, FileSetsValuesAndFlagsOverrideThem) {
  const std::string path = Write("c.yaml", "listen: 0.0.0.0:9000\nlease_seconds: 30\ndb: a.db\n");
  CoordinatorFlags flags;
  flags.db = "from-flag.db";
  ASSERT_TRUE(ApplyConfigFile(path, {"db"}, &flags).ok());
  EXPECT_EQ(flags.listen, "0.0.0.0:9000");
  EXPECT_DOUBLE_EQ(flags.lease_seconds, 30);
  EXPECT_EQ(flags.db, "from-flag.db");
}

TEST_F(CoordinatorConfigTest, UnknownKeyAndBadValueAreNamed) {
  CoordinatorFlags flags;
  absl::Status unknown = ApplyConfigFile(Write("u.yaml", "lease: 3\n"), {}, &flags);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("lease: unknown key"), absl::string_view::npos);
  absl::Status bad = ApplyConfigFile(Write("b.yaml", "lease_seconds: soon\n"), {}, &flags);
  EXPECT_NE(bad.message().find("lease_seconds: bad value"), absl::string_view::npos);
  EXPECT_EQ(ApplyConfigFile((dir_ / "missing.yaml").string(), {}, &flags).code(),
            absl::StatusCode::kNotFound);
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
