#include "base/token_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace flopwise {
namespace {

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("flopwise-token-file-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(TokenFileTest, ReadsTheFirstLineTrimmed) {
  auto token = ReadTokenFile(Write("t", "  0123456789abcdef \nsecond line\n"), "--token-file");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "0123456789abcdef");
}

TEST_F(TokenFileTest, RefusesAShortTokenNamingTheFile) {
  const std::string path = Write("short", "x\n");
  auto token = ReadTokenFile(path, "--token-file");
  ASSERT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(token.status().message().find(path), std::string::npos) << token.status();
  EXPECT_NE(token.status().message().find("at least 16"), std::string::npos) << token.status();
  EXPECT_FALSE(ReadTokenFile(Write("fifteen", "0123456789abcde"), "--token-file").ok());
}

TEST_F(TokenFileTest, RefusesEmptyAndMissingFiles) {
  EXPECT_NE(ReadTokenFile(Write("empty", "\n"), "x").status().message().find("holds no token"),
            std::string::npos);
  const auto missing = ReadTokenFile((dir_ / "absent").string(), "--worker-token-file");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("--worker-token-file: cannot read"), std::string::npos)
      << missing.status();
  EXPECT_EQ(ReadTokenFile("", "--token-file").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flopwise
