#include "base/logging.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace flopwise {
namespace {

TEST(Logging, AcceptsKnownLevelsAndCanReinitialise) {
  ASSERT_TRUE(InitLogging("test", "debug").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  ASSERT_TRUE(InitLogging("test", "off").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::off);
}

TEST(Logging, RejectsUnknownLevelNamingTheField) {
  absl::Status s = InitLogging("test", "verbose");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("log-level"), std::string::npos);
  EXPECT_NE(s.message().find("verbose"), std::string::npos);
}

TEST(Logging, JsonFormatWritesOneEscapedObjectPerLine) {
  ASSERT_TRUE(InitLogging("test", "info", "json").ok());
  testing::internal::CaptureStderr();
  spdlog::info("a \"quoted\" path C:\\x\nsecond line\x01 and \xff");
  spdlog::warn("second");
  spdlog::default_logger()->flush();
  const std::string output = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(InitLogging("test", "info").ok());
  std::istringstream lines(output);
  std::string line;
  std::vector<nlohmann::json> records;
  while (std::getline(lines, line)) records.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(records.size(), 2u) << output;
  EXPECT_EQ(records[0]["message"], "a \"quoted\" path C:\\x\nsecond line\x01 and \xef\xbf\xbd");
  EXPECT_EQ(records[0]["level"], "info");
  EXPECT_EQ(records[0]["logger"], "test");
  EXPECT_EQ(records[0]["time"].get<std::string>().size(), 29u) << records[0]["time"];
  EXPECT_EQ(records[1]["level"], "warning");
}

TEST(Logging, RejectsUnknownFormatNamingTheField) {
  const absl::Status s = InitLogging("test", "info", "xml");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "log-format: unknown format 'xml' (expected text or json)");
}

}  // namespace
}  // namespace flopwise
