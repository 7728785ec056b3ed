#include "base/logging.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

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

}  // namespace
}  // namespace flopwise
